import { useState } from 'preact/hooks'
import type { Room } from '../../shared/schemas.ts'
import { createRoom, joinRoom, navigate } from '../state/actions.ts'
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
    const problem = await createRoom(String(form.get('name')).trim(), visibility)
    setError(problem)
    if (!problem) setOpen(false)
  }
  return (
    <form class="card create-room" onSubmit={submit}>
      <label class="field">
        <span>Room name</span>
        <input name="name" required maxLength={80} />
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

export function RoomList() {
  const meId = user.value?.id
  const current = route.value
  const activeId = current.name === 'room' ? current.roomId : null
  return (
    <section class="room-list">
      <div class="room-list__head">
        <h2>Rooms</h2>
        <CreateRoom />
      </div>
      {rooms.value.length === 0 && <p class="muted pad">No rooms yet. Create one to begin.</p>}
      <ul>
        {rooms.value.map((room) => (
          <li key={room.id} class={room.id === activeId ? 'room room--active' : 'room'}>
            <a
              href={`/rooms/${room.id}`}
              class="room__link"
              aria-current={room.id === activeId ? 'page' : undefined}
              onClick={(event) => {
                event.preventDefault()
                navigate({ name: 'room', roomId: room.id })
              }}
            >
              <span class="room__name">
                {room.name}
                {room.visibility === 'private' && <span class="tag">private</span>}
              </span>
              <span class="room__preview">{preview(room, meId)}</span>
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
        ))}
      </ul>
    </section>
  )
}
