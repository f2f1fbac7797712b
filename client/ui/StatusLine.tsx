import { outboxCounts, statusLine } from '../state/reducers.ts'
import { outbox, status } from '../state/store.ts'

/**
 * Always the truth: link state plus what is queued or failed, on a line of its
 * own under the app bar, wrapping rather than cut (on a 320 px phone too). When
 * all is well ("Up to date", nothing queued) it takes no space on screen, but
 * stays in the page, so screen readers still hear the change, politely.
 */
export function StatusLine() {
  const { text, tone } = statusLine(status.value, outbox.value)
  const { waiting, failed } = outboxCounts(outbox.value)
  const calm = tone === 'ok' && waiting === 0 && failed === 0
  return (
    <p
      class={`status status--${tone}${calm ? ' visually-hidden' : ''}`}
      role="status"
      aria-live="polite"
      data-testid="status"
    >
      {text}
    </p>
  )
}
