import { useLayoutEffect, useRef, useState } from 'preact/hooks'
import type { Room } from '../../shared/schemas.ts'
import { moderates, renameRoom } from '../state/members.ts'

/**
 * The room's name and topic at the top of the Members sheet; the owner and admins change them
 * (a `room.renamed` line in the log, and every member's list follows).
 */
export function RoomAbout({ room }: { room: Room }) {
  const [editing, setEditing] = useState(false)
  const [problem, setProblem] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  const nameInput = useRef<HTMLInputElement>(null)
  const editButton = useRef<HTMLButtonElement>(null)
  const opened = useRef(false)
  // The form replaces the button and back: focus follows, to the name, then back to the button.
  useLayoutEffect(() => {
    if (editing) nameInput.current?.focus()
    else if (opened.current) editButton.current?.focus()
    opened.current ||= editing
  }, [editing])
  const topic = room.topic ?? ''
  if (!editing) {
    return (
      <section class="about" aria-labelledby="about-name">
        <h3 id="about-name" class="about__name" dir="auto">
          {room.name}
        </h3>
        {topic ? (
          <p class="about__topic" dir="auto">
            {topic}
          </p>
        ) : (
          <p class="about__topic muted">No topic</p>
        )}
        {moderates(room.role) && (
          <button ref={editButton} type="button" class="small" onClick={() => setEditing(true)}>
            Edit name and topic
          </button>
        )}
      </section>
    )
  }
  return (
    <form
      class="about"
      aria-label="Edit name and topic"
      onSubmit={async (event) => {
        event.preventDefault()
        const data = new FormData(event.currentTarget as HTMLFormElement)
        setBusy(true)
        const why = await renameRoom(room, String(data.get('name') ?? ''), String(data.get('topic') ?? ''))
        setBusy(false)
        setProblem(why)
        if (!why) setEditing(false)
      }}
    >
      <label class="field">
        <span>Room name</span>
        <input ref={nameInput} name="name" required defaultValue={room.name} dir="auto" />
      </label>
      <label class="field">
        <span>Topic (optional)</span>
        <input name="topic" defaultValue={topic} dir="auto" />
      </label>
      {problem && (
        <p class="form-error" role="alert">
          {problem}
        </p>
      )}
      <div class="row">
        <button type="submit" class="primary" disabled={busy}>
          Save
        </button>
        <button
          type="button"
          class="secondary"
          onClick={() => {
            setProblem(null)
            setEditing(false)
          }}
        >
          Cancel
        </button>
      </div>
    </form>
  )
}
