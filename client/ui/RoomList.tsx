import { useState } from 'preact/hooks'
import { LIMITS } from '../../shared/limits.ts'
import type { Room } from '../../shared/schemas.ts'
import { joinRoom, navigate } from '../state/actions.ts'
import { createNamedRoom } from '../state/membership.ts'
import { outbox, rooms, route, user } from '../state/store.ts'

function preview(room: Room, meId: string | undefined): string {
  const pending = outbox.value.filter((i) => i.roomId === room.id).at(-1)
  if (pending) return `You: ${pending.body}`
  const last = room.lastMessage
  if (!last) return room.role === null ? 'Public room · tap Join to take part' : 'No messages yet'
  return `${last.authorId === meId ? 'You' : last.authorName}: ${last.body}`
}

function CreateRoom() {
  const [open, setOpen] = useState(false)
  const [error, setError] = useState<string | null>(null)
  if (!open) {
    return (
      <button type="button" class="secondary new-room" onClick={() => setOpen(true)}>
        New room
      </button>
    )
  }
  const submit = async (event: SubmitEvent) => {
    event.preventDefault()
    const form = new FormData(event.currentTarget as HTMLFormElement)
    const visibility = form.get('visibility') === 'private' ? 'private' : 'public'
    const problem = await createNamedRoom(String(form.get('name')), visibility)
    setError(problem)
    if (!problem) setOpen(false)
  }
  return (
    <form class="card create-room" onSubmit={submit}>
      <label class="field">
        <span>Room name</span>
        <input name="name" required maxLength={LIMITS.roomNameMax} />
      </label>
      <label class="field">
        <span>Who can join</span>
        <select name="visibility">
          <option value="public">Anyone (public)</option>
          <option value="private">Invited people (private)</option>
        </select>
      </label>
      {error && (
        <p class="form-error" role="alert">
          {error}
        </p>
      )}
      <div class="row">
        <button type="submit" class="primary">
          Create
        </button>
        <button type="button" class="secondary" onClick={() => setOpen(false)}>
          Cancel
        </button>
      </div>
    </form>
  )
}

/** Names used by more than one listed room: those rooms show a short id, so they can be told apart. */
function sharedNames(list: readonly Room[]): Set<string> {
  const seen = new Set<string>()
  const shared = new Set<string>()
  for (const room of list) {
    const name = room.name.toLocaleLowerCase()
    if (seen.has(name)) shared.add(name)
    seen.add(name)
  }
  return shared
}

/** What a screen reader says for a room link: name, kind, then the last message, with pauses between. */
function linkLabel(room: Room, shortId: string | null, lastLine: string): string {
  const id = shortId ? ` #${shortId}` : ''
  const kind = room.visibility === 'private' ? ', private room' : ''
  return `${room.name}${id}${kind}. ${lastLine}`
}

export function RoomList() {
  const meId = user.value?.id
  const current = route.value
  const activeId = current.name === 'room' ? current.roomId : null
  const shared = sharedNames(rooms.value)
  return (
    <section class="room-list">
      <div class="room-list__head">
        <h2>Rooms</h2>
        <CreateRoom />
      </div>
      {rooms.value.length === 0 && <p class="muted pad">No rooms yet. Create one to begin.</p>}
      <ul>
        {rooms.value.map((room) => {
          const shortId = shared.has(room.name.toLocaleLowerCase()) ? room.id.slice(0, 4) : null
          const lastLine = preview(room, meId)
          return (
            <li key={room.id} class={room.id === activeId ? 'room room--active' : 'room'}>
              <a
                href={`/rooms/${room.id}`}
                class="room__link"
                aria-current={room.id === activeId ? 'page' : undefined}
                aria-label={linkLabel(room, shortId, lastLine)}
                onClick={(event) => {
                  event.preventDefault()
                  navigate({ name: 'room', roomId: room.id })
                }}
              >
                <span class="room__name">
                  <span dir="auto">{room.name}</span>
                  {shortId && <span class="room__id">#{shortId}</span>}
                  {room.visibility === 'private' && <span class="tag">private</span>}
                </span>
                <span class="room__preview" dir="auto">
                  {lastLine}
                </span>
              </a>
              {room.unreadCount > 0 && (
                <span class="badge" role="img" aria-label={`${room.unreadCount} unread`}>
                  {room.unreadCount}
                </span>
              )}
              {room.role === null && (
                <button type="button" class="secondary" onClick={() => void joinRoom(room.id)}>
                  Join
                </button>
              )}
            </li>
          )
        })}
      </ul>
    </section>
  )
}
