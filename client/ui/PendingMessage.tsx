import { useState } from 'preact/hooks'
import type { OutboxItem } from '../db/schema.ts'
import { bodyProblem, discardMessage, editMessage, retryMessage } from '../state/compose.ts'
import { MessageText } from './MessageText.tsx'

/** A local echo: shown at once, marked waiting or failed, and still editable. */
export function PendingMessage({ item }: { item: OutboxItem }) {
  const [editing, setEditing] = useState(false)
  const [draft, setDraft] = useState(item.body)
  const failed = item.state === 'failed'
  return (
    <li class={`msg msg--own msg--${item.state}`} data-state={item.state} data-client-id={item.clientId}>
      {editing ? (
        <form
          class="msg__edit"
          onSubmit={(event) => {
            event.preventDefault()
            if (bodyProblem(draft)) return
            void editMessage(item.clientId, draft).then(() => setEditing(false))
          }}
        >
          <textarea
            aria-label="Edit message"
            value={draft}
            onInput={(e) => setDraft((e.currentTarget as HTMLTextAreaElement).value)}
          />
          <div class="row">
            <button type="submit" class="primary">
              Save
            </button>
            <button type="button" class="secondary" onClick={() => setEditing(false)}>
              Cancel
            </button>
          </div>
        </form>
      ) : (
        <div class="msg__bubble">
          <p class="msg__body">
            <MessageText text={item.body} />
          </p>
          <p class="msg__meta">
            {failed ? `Failed: ${item.error?.message ?? 'refused by the server'}` : 'Waiting to send'}
          </p>
        </div>
      )}
      {!editing && (
        <div class="msg__actions">
          {failed && (
            <button type="button" class="small" onClick={() => void retryMessage(item.clientId)}>
              Retry
            </button>
          )}
          <button
            type="button"
            class="small"
            onClick={() => {
              setDraft(item.body)
              setEditing(true)
            }}
          >
            Edit
          </button>
          <button type="button" class="small" onClick={() => void discardMessage(item.clientId)}>
            Discard
          </button>
        </div>
      )}
    </li>
  )
}
