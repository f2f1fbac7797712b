import { useState } from 'preact/hooks'
import { discardMessage } from '../state/compose.ts'
import { failureText } from '../state/operations.ts'
import { notice, outbox, rooms } from '../state/store.ts'
import { unsendable } from '../state/unsendable.ts'

/**
 * "Not sent" under the room list: messages whose room is gone from this device (state/unsendable.ts),
 * each with its text and why, to copy elsewhere or discard. Nothing is dropped silently.
 */
export function Unsendable() {
  const items = unsendable(outbox.value, rooms.value)
  const [problem, setProblem] = useState<string | null>(null)
  if (items.length === 0) return null
  const copy = async (text: string) => {
    try {
      await navigator.clipboard.writeText(text)
      notice.value = 'Copied.'
    } catch {
      notice.value = 'Could not copy: select the text and copy it instead.'
    }
  }
  const drop = async (clientId: string) => setProblem(await discardMessage(clientId))
  return (
    <section class="card unsendable" aria-labelledby="unsendable-title">
      <h3 id="unsendable-title">Not sent</h3>
      <p class="muted">
        {items.length === 1 ? 'This message was' : 'These messages were'} not sent: their room is no longer yours.
      </p>
      <ul>
        {items.map((item) => (
          <li key={item.clientId} class="unsendable__item">
            <p class="unsendable__text" dir="auto">
              {item.body}
            </p>
            <p class="unsendable__why">{whyNotSent(item.error)}</p>
            <div class="row">
              <button type="button" class="secondary" onClick={() => void copy(item.body)}>
                Copy text
              </button>
              <button type="button" class="secondary" onClick={() => void drop(item.clientId)}>
                Discard
              </button>
            </div>
          </li>
        ))}
      </ul>
      {problem && <p role="alert">{problem}</p>}
    </section>
  )
}

/** The reason in words for the person ("Not sent: you are no longer a member of this room"). */
function whyNotSent(error: { code: string; message: string } | null): string {
  if (!error) return 'Not sent.'
  return `Not sent: ${failureText(error.code, error.message)}.`
}
