import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks'
import type { OutboxItem } from '../db/schema.ts'
import { isInFlight } from '../outbox/store.ts'
import { type BulkResult, discardAllMessages, retryAllMessages } from '../state/compose.ts'
import { status } from '../state/store.ts'

interface Props {
  roomId: string
  /** The room's outbox items still on screen (pendingFor). */
  pending: readonly OutboxItem[]
}

/**
 * A slim bar above the composer while the room has failed messages, or
 * messages stuck waiting because there is no link (not while one is merely on
 * its way: that would flash on every send). "Retry all" puts the room's failed
 * messages back in line in one step, in their order; "Discard all" asks first,
 * then removes what is not already being sent and says what it could not.
 * Only this room's: the person acts on what they see.
 */
export function QueueBar({ roomId, pending }: Props) {
  const [confirming, setConfirming] = useState(false)
  const [busy, setBusy] = useState(false)
  const [result, setResult] = useState<BulkResult | null>(null)
  const cancelRef = useRef<HTMLButtonElement>(null)
  const resultRef = useRef<HTMLParagraphElement>(null)
  const failed = pending.filter((item) => item.state === 'failed').length
  const waiting = pending.length - failed
  const discardable = pending.filter((item) => !isInFlight(item)).length
  const linkDown = status.value.offline || status.value.socket !== 'open'
  const shown = failed > 0 || (waiting > 0 && linkDown)

  // Nothing left to confirm (sent or discarded elsewhere meanwhile): the question goes.
  const asking = confirming && discardable > 0
  // Before paint, so a key pressed as soon as the question shows goes to Cancel, not to the page.
  useLayoutEffect(() => {
    if (asking) cancelRef.current?.focus()
  }, [asking])
  useEffect(() => {
    setConfirming(false)
    setResult(null)
  }, [roomId])

  const run = async (action: () => Promise<BulkResult>) => {
    setBusy(true)
    setResult(null)
    setConfirming(false)
    const outcome = await action() // never rejects
    setBusy(false)
    setResult(outcome)
    // The buttons may be gone now: the outcome takes the focus, so it is not lost to the page.
    requestAnimationFrame(() => resultRef.current?.focus())
  }

  if (!shown && !result) return null
  const counts = [failed > 0 && `${failed} failed`, waiting > 0 && `${waiting} waiting to send`].filter(Boolean)
  return (
    <section class={`queue-bar${failed > 0 ? ' queue-bar--failed' : ''}`} aria-label="Unsent messages">
      {shown && <p class="queue-bar__text">{counts.join(' · ')}</p>}
      {shown && !asking && (
        <>
          {failed > 0 && (
            <button
              type="button"
              class="small"
              disabled={busy}
              onClick={() => void run(() => retryAllMessages(roomId))}
            >
              Retry all
            </button>
          )}
          {discardable > 0 && (
            <button
              type="button"
              class="small"
              disabled={busy}
              onClick={() => {
                setResult(null)
                setConfirming(true)
              }}
            >
              Discard all
            </button>
          )}
        </>
      )}
      {shown && asking && (
        <div class="queue-bar__confirm">
          <p class="queue-bar__text">
            Discard {discardable} unsent message{discardable === 1 ? '' : 's'}?
          </p>
          <button
            type="button"
            class="small queue-bar__danger"
            onClick={() => void run(() => discardAllMessages(roomId))}
          >
            Discard
          </button>
          <button ref={cancelRef} type="button" class="small" onClick={() => setConfirming(false)}>
            Cancel
          </button>
        </div>
      )}
      {result && (
        <p
          ref={resultRef}
          tabIndex={-1}
          class={result.ok ? 'queue-bar__result' : 'queue-bar__result form-error'}
          role={result.ok ? 'status' : 'alert'}
        >
          {result.ok ? result.text : result.problem}
        </p>
      )}
    </section>
  )
}
