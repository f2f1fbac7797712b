import { useLayoutEffect, useRef, useState } from 'preact/hooks'
import type { Room } from '../../shared/schemas.ts'
import { type LeavePlan, planLeaving } from '../state/members.ts'
import { leaveRoom } from '../state/membership.ts'
import { user } from '../state/store.ts'

type Step = { kind: 'idle' } | { kind: 'asking' } | LeavePlan

/**
 * Leaving, always after a yes: a member is told what they lose; the owner is told to hand the
 * room over first, or, as its last member, that leaving deletes the room. Once left, the room is
 * gone from the list on this device (and, through the room-list stream, on the person's others)
 * and the screen goes back to the list.
 */
export function LeaveRoom({ room }: { room: Room }) {
  const [step, setStep] = useState<Step>({ kind: 'idle' })
  const [problem, setProblem] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  const cancel = useRef<HTMLButtonElement>(null)
  // The answer takes the focus (on its safe button), so the keyboard never lands nowhere.
  const answered = step.kind === 'confirm' || step.kind === 'confirm-delete' || step.kind === 'refused'
  useLayoutEffect(() => {
    if (answered) cancel.current?.focus()
  }, [answered])

  if (step.kind === 'idle' || step.kind === 'asking') {
    return (
      <div class="leave">
        <button
          type="button"
          class="secondary"
          disabled={step.kind === 'asking'}
          onClick={async () => {
            setProblem(null)
            setStep({ kind: 'asking' })
            setStep(await planLeaving(room, user.value?.id ?? ''))
          }}
        >
          Leave room
        </button>
        {problem && (
          <p class="form-error" role="alert">
            {problem}
          </p>
        )}
      </div>
    )
  }
  if (step.kind === 'refused') {
    return (
      <div class="leave">
        <p class="form-error" role="alert">
          {step.reason}
        </p>
        <button ref={cancel} type="button" class="secondary" onClick={() => setStep({ kind: 'idle' })}>
          OK
        </button>
      </div>
    )
  }
  const deleting = step.kind === 'confirm-delete'
  const what = deleting
    ? `You are the last member of ${room.name}: leaving deletes the room and all its messages, for good.`
    : room.visibility === 'private'
      ? `Leave ${room.name}? It goes from your rooms on all your devices; only an owner or admin can add you again.`
      : `Leave ${room.name}? It goes from your rooms on all your devices; you can join again later.`
  return (
    <fieldset class="leave" aria-labelledby="leave-question">
      <p id="leave-question" class="leave__question">
        {what}
      </p>
      <div class="row">
        <button
          type="button"
          class="danger"
          disabled={busy}
          onClick={async () => {
            setBusy(true)
            const why = await leaveRoom(room, deleting)
            setBusy(false)
            // Left: leaveRoom has gone back to the list, and this menu with it.
            if (why) {
              setProblem(why)
              setStep({ kind: 'idle' })
            }
          }}
        >
          {deleting ? 'Leave and delete the room' : 'Leave'}
        </button>
        <button ref={cancel} type="button" class="secondary" onClick={() => setStep({ kind: 'idle' })}>
          Cancel
        </button>
      </div>
    </fieldset>
  )
}
