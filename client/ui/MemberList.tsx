import { useEffect, useState } from 'preact/hooks'
import type { Room } from '../../shared/schemas.ts'
import { addMember, loadMembers, removeMember } from '../state/actions.ts'
import { members, presence } from '../state/store.ts'

export function MemberList({ room }: { room: Room }) {
  const [error, setError] = useState<string | null>(null)
  // The member whose removal waits for a second tap: removing cuts them off at once.
  const [confirming, setConfirming] = useState<string | null>(null)
  const canRemove = room.role === 'owner' && room.visibility === 'private'
  const list = members.value[room.id] ?? []
  const online = new Set((presence.value[room.id] ?? []).map((u) => u.userId))
  const sorted = [...list].sort((a, b) => Number(online.has(b.userId)) - Number(online.has(a.userId)))
  // Someone here who is not on the list joined after it was loaded: load it again.
  const unlisted = [...online].filter((id) => !list.some((m) => m.userId === id)).join()
  useEffect(() => {
    if (unlisted) void loadMembers(room.id) // never rejects: offline is quiet, the rest logged
  }, [room.id, unlisted])
  return (
    // Its title and counts are the sheet's (MembersSheet.tsx), which labels it.
    <div class="members">
      {list.length === 0 && <p class="muted">Connect to see who is here.</p>}
      <ul>
        {sorted.map((m) => (
          <li key={m.userId}>
            <span
              class={online.has(m.userId) ? 'dot dot--on' : 'dot'}
              role="img"
              aria-label={online.has(m.userId) ? 'online' : 'offline'}
            />
            {m.username}
            {m.role === 'owner' && <span class="tag">owner</span>}
            {canRemove && m.role !== 'owner' && confirming !== m.userId && (
              <button
                type="button"
                class="link-button member__remove"
                aria-label={`Remove ${m.username}`}
                onClick={() => {
                  setError(null)
                  setConfirming(m.userId)
                }}
              >
                Remove
              </button>
            )}
            {canRemove && confirming === m.userId && (
              <span class="member__confirm">
                <button
                  type="button"
                  class="secondary"
                  onClick={async () => {
                    const problem = await removeMember(room.id, m.userId)
                    setConfirming(null)
                    setError(problem)
                  }}
                >
                  Remove {m.username} from the room
                </button>
                <button type="button" class="link-button" onClick={() => setConfirming(null)}>
                  Cancel
                </button>
              </span>
            )}
          </li>
        ))}
      </ul>
      {canRemove && (
        <form
          class="row"
          onSubmit={async (event) => {
            event.preventDefault()
            const form = event.currentTarget as HTMLFormElement
            const username = String(new FormData(form).get('username')).trim()
            const problem = await addMember(room.id, username)
            setError(problem)
            if (!problem) form.reset()
          }}
        >
          <label class="field grow">
            <span>Add member</span>
            <input name="username" required autocapitalize="none" />
          </label>
          <button type="submit" class="secondary">
            Add
          </button>
        </form>
      )}
      {error && (
        <p class="form-error" role="alert">
          {error}
        </p>
      )}
    </div>
  )
}
