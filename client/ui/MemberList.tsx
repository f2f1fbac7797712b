import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks'
import type { Member, Role, Room } from '../../shared/schemas.ts'
import { loadMembers, type MemberAction, memberActions, removeFromRoom, setMemberRole } from '../state/members.ts'
import { members, presence, user } from '../state/store.ts'

const RANK: Record<Role, number> = { owner: 0, admin: 1, member: 2 }

/** Each action's button: the visible word, and a name that says whom it is for (label in name). */
const BUTTON: Record<MemberAction, { text: string; name: (who: string) => string }> = {
  'make-admin': { text: 'Make admin', name: (who) => `Make admin: ${who}` },
  'make-member': { text: 'Make member', name: (who) => `Make member: ${who}` },
  'make-owner': { text: 'Make owner', name: (who) => `Make owner: ${who}` },
  remove: { text: 'Remove', name: (who) => `Remove ${who}` },
}

/** The two actions that cannot be undone by the one who takes them ask first. */
type Confirming = { userId: string; action: 'remove' | 'make-owner' }

function question(action: Confirming['action'], who: string, room: Room): string {
  if (action === 'make-owner')
    return `Make ${who} the owner of ${room.name}? You become an admin, and only ${who} can then change roles.`
  return room.visibility === 'private'
    ? `Remove ${who}? They lose this room and its history at once; only an owner or admin can add them again.`
    : `Remove ${who}? They stop being a member at once (they can join again: the room is public).`
}

const confirmText = (action: Confirming['action'], who: string) =>
  action === 'make-owner' ? `Make ${who} the owner` : `Remove ${who} from the room`

/**
 * Who is in the room, owner and admins first, with what the viewer may do to each (state/members.ts,
 * memberActions): the owner sets roles and hands the room over, the owner and admins remove. The
 * viewer's role is the room row's, so a member promoted elsewhere sees their buttons appear at once.
 */
export function MemberList({ room }: { room: Room }) {
  const [error, setError] = useState<string | null>(null)
  const [done, setDone] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  const [confirming, setConfirming] = useState<Confirming | null>(null)
  const cancelButton = useRef<HTMLButtonElement>(null)
  const me = user.value?.id ?? ''
  const list = members.value[room.id] ?? []
  const online = new Set((presence.value[room.id] ?? []).map((u) => u.userId))
  const sorted = [...list].sort(
    (a, b) => RANK[a.role] - RANK[b.role] || Number(online.has(b.userId)) - Number(online.has(a.userId)),
  )
  // Someone here who is not on the list joined after it was loaded: load it again.
  const unlisted = [...online].filter((id) => !list.some((m) => m.userId === id)).join()
  useEffect(() => {
    if (unlisted) void loadMembers(room.id) // never rejects: offline is quiet, the rest logged
  }, [room.id, unlisted])
  // A question that appears takes the focus, on its safe answer; the keyboard never lands nowhere.
  useLayoutEffect(() => {
    if (confirming) cancelButton.current?.focus()
  }, [confirming])

  const run = async (member: Member, action: MemberAction) => {
    setBusy(true)
    setError(null)
    setDone(null)
    const problem =
      action === 'remove'
        ? await removeFromRoom(room.id, member)
        : await setMemberRole(
            room.id,
            member,
            action === 'make-admin' ? 'admin' : action === 'make-owner' ? 'owner' : 'member',
          )
    setBusy(false)
    setConfirming(null)
    setError(problem)
    if (!problem) setDone(doneText(action, member.username))
  }

  return (
    // Its title and counts are the sheet's (MembersSheet.tsx), which labels it.
    <div class="members">
      {list.length === 0 && <p class="muted">Connect to see who is here.</p>}
      <ul>
        {sorted.map((m) => {
          const actions = memberActions(room.role, m, me)
          const asking = confirming?.userId === m.userId ? confirming : null
          return (
            <li key={m.userId} class="member">
              <span class="member__who">
                <span
                  class={online.has(m.userId) ? 'dot dot--on' : 'dot'}
                  role="img"
                  aria-label={online.has(m.userId) ? 'online' : 'offline'}
                />
                <span class="member__name" dir="auto">
                  {m.username}
                </span>
                {m.userId === me && <span class="muted"> (you)</span>}
                {m.role !== 'member' && <span class="tag">{m.role}</span>}
              </span>
              {actions.length > 0 && !asking && (
                <div class="member__actions">
                  {actions.map((action) => (
                    <button
                      key={action}
                      type="button"
                      class="small"
                      disabled={busy}
                      aria-label={BUTTON[action].name(m.username)}
                      onClick={() => {
                        setError(null)
                        setDone(null)
                        if (action === 'remove' || action === 'make-owner') setConfirming({ userId: m.userId, action })
                        else void run(m, action)
                      }}
                    >
                      {BUTTON[action].text}
                    </button>
                  ))}
                </div>
              )}
              {asking && (
                <div class="member__confirm">
                  <p class="member__question">{question(asking.action, m.username, room)}</p>
                  <button type="button" class="danger" disabled={busy} onClick={() => void run(m, asking.action)}>
                    {confirmText(asking.action, m.username)}
                  </button>
                  <button ref={cancelButton} type="button" class="secondary" onClick={() => setConfirming(null)}>
                    Cancel
                  </button>
                </div>
              )}
            </li>
          )
        })}
      </ul>
      {error && (
        <p class="form-error" role="alert">
          {error}
        </p>
      )}
      <p class="visually-hidden" role="status">
        {done}
      </p>
    </div>
  )
}

function doneText(action: MemberAction, who: string): string {
  if (action === 'remove') return `${who} was removed from the room.`
  if (action === 'make-owner') return `${who} is now the owner; you are an admin.`
  return action === 'make-admin' ? `${who} is now an admin.` : `${who} is now a member.`
}
