import { useState } from 'preact/hooks'
import type { Room } from '../../shared/schemas.ts'
import { inviteMember } from '../state/members.ts'

/**
 * The owner and admins add someone by username (the only way into a private room). The answer is
 * said under the field: added, no such person, already a member, not allowed, offline.
 */
export function InviteMember({ room }: { room: Room }) {
  const [problem, setProblem] = useState<string | null>(null)
  const [done, setDone] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  return (
    <form
      class="invite"
      onSubmit={async (event) => {
        event.preventDefault()
        const form = event.currentTarget as HTMLFormElement
        const username = String(new FormData(form).get('username') ?? '')
        setBusy(true)
        setDone(null)
        setProblem(null)
        const why = await inviteMember(room.id, username)
        setBusy(false)
        setProblem(why)
        if (!why) {
          setDone(`${username.trim().replace(/^@/, '')} was added to ${room.name}.`)
          form.reset()
        }
      }}
    >
      <div class="row">
        <label class="field grow">
          <span>Invite by username</span>
          <input
            name="username"
            required
            autocapitalize="none"
            autocomplete="off"
            spellcheck={false}
            aria-invalid={problem ? 'true' : undefined}
            aria-describedby={problem ? 'invite-problem' : undefined}
          />
        </label>
        <button type="submit" class="secondary invite__submit" disabled={busy}>
          Invite
        </button>
      </div>
      {problem && (
        <p id="invite-problem" class="form-error" role="alert">
          {problem}
        </p>
      )}
      <p class="muted invite__done" role="status">
        {done}
      </p>
    </form>
  )
}
