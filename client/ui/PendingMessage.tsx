import { useEffect, useRef, useState } from 'preact/hooks'
import type { OutboxItem } from '../db/schema.ts'
import { bodyProblem, discardMessage, editMessage, retryMessage } from '../state/compose.ts'
import { charactersLeft, LengthCounter } from './LengthCounter.tsx'
import { MessageText } from './MessageText.tsx'

const IN_FLIGHT = 'Already being sent: it can no longer be changed.'

/**
 * A local echo: shown at once, marked waiting, being sent or failed. Editable
 * and discardable only while no sender has handed it to the network: once it
 * is in flight the server may already hold it, so the actions go away and the
 * reason shows.
 */
export function PendingMessage({ item }: { item: OutboxItem }) {
  const [editing, setEditing] = useState(false)
  const [draft, setDraft] = useState(item.body)
  const [notice, setNotice] = useState<string | null>(null)
  const failed = item.state === 'failed'
  const inFlight = !failed && item.sentAt !== undefined
  const shownNotice = notice ?? (editing && inFlight ? IN_FLIGHT : null)
  const noticeRef = useRef<HTMLParagraphElement>(null)
  // A refusal under a message at the bottom of the list may fall below its visible edge: bring it
  // into view, or a Save that did nothing would look like a silent failure.
  useEffect(() => {
    if (shownNotice) noticeRef.current?.scrollIntoView?.({ block: 'nearest' })
  }, [shownNotice])

  /** Runs an action; a refusal (or failure) shows its reason instead of vanishing. */
  const act = (action: () => Promise<string | null>, onDone: () => void = () => undefined) => {
    setNotice(null)
    action()
      .then((refusal) => {
        if (refusal) setNotice(refusal)
        else onDone()
      })
      .catch((error: unknown) => {
        console.error('[ferry] outbox action failed', item.clientId, error)
        setNotice('Something went wrong. Try again.')
      })
  }

  const meta = failed
    ? `Failed: ${item.error?.message ?? 'refused by the server'}`
    : inFlight
      ? 'Already being sent'
      : 'Waiting to send'

  return (
    <li
      class={`msg msg--own msg--${item.state}${inFlight ? ' msg--sending' : ''}`}
      data-state={item.state}
      data-in-flight={inFlight ? 'true' : undefined}
      data-client-id={item.clientId}
    >
      {editing ? (
        <form
          class="msg__edit"
          onSubmit={(event) => {
            event.preventDefault()
            const problem = bodyProblem(draft)
            if (problem) return setNotice(problem)
            act(
              () => editMessage(item.clientId, draft),
              () => setEditing(false),
            )
          }}
        >
          <textarea
            aria-label="Edit message"
            dir="auto"
            value={draft}
            aria-describedby={charactersLeft(draft) ? `edit-count-${item.clientId}` : undefined}
            onInput={(e) => {
              setDraft((e.currentTarget as HTMLTextAreaElement).value)
              setNotice(null)
            }}
          />
          <LengthCounter id={`edit-count-${item.clientId}`} text={draft} />
          <div class="row">
            <button type="submit" class="primary" disabled={inFlight}>
              Save
            </button>
            <button type="button" class="secondary" onClick={() => setEditing(false)}>
              Cancel
            </button>
          </div>
        </form>
      ) : (
        <div class="msg__bubble">
          <span class="visually-hidden">You: </span>
          <p class="msg__body" dir="auto">
            <MessageText text={item.body} />
          </p>
          <p class="msg__meta">{meta}</p>
        </div>
      )}
      {shownNotice && (
        <p ref={noticeRef} class="msg__notice" role="alert">
          {shownNotice}
        </p>
      )}
      {!editing && !inFlight && (
        <div class="msg__actions">
          {failed && (
            <button type="button" class="small" onClick={() => act(() => retryMessage(item.clientId))}>
              Retry
            </button>
          )}
          <button
            type="button"
            class="small"
            onClick={() => {
              setNotice(null)
              setDraft(item.body)
              setEditing(true)
            }}
          >
            Edit
          </button>
          <button type="button" class="small" onClick={() => act(() => discardMessage(item.clientId))}>
            Discard
          </button>
        </div>
      )}
    </li>
  )
}
