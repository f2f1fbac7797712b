import { statusLine } from '../state/reducers.ts'
import { outbox, status } from '../state/store.ts'

/** Always the truth: link state plus what is queued or failed. */
export function StatusLine() {
  const { text, tone } = statusLine(status.value, outbox.value)
  return (
    <p class={`status status--${tone}`} role="status" aria-live="polite" data-testid="status">
      {text}
    </p>
  )
}
