import { useEffect, useState } from 'preact/hooks'
import { LIMITS } from '../../shared/limits.ts'
import type { Room } from '../../shared/schemas.ts'
import { getDb } from '../db/page.ts'
import { reloadDrafts } from '../state/feed.ts'
import { createNamedRoom } from '../state/membership.ts'
import { navigate } from '../state/navigation.ts'
import { levelOf } from '../state/room-levels.ts'
import { type RoomRow, roomRows } from '../state/room-list.ts'
import { drafts, outbox, rooms, route, user } from '../state/store.ts'
import { mentionedUnread, unreadNumber } from '../state/unread.ts'
import { now } from '../time/clock.ts'
import { relativeTime } from '../time/format.ts'
import { avatarColour, initials } from './avatar.ts'
import { NoRooms } from './EmptyStates.tsx'
import { MutedIcon, mutedLabel } from './RoomNotifyLevel.tsx'
import { SearchButton } from './Search.tsx'
import { Unsendable } from './Unsendable.tsx'

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

/**
 * What a screen reader says for a room link: the row's visible text in the order it shows (name,
 * kind, when, the last message, unread), with pauses between ("Depot. 5 min. Ann: see you. 3 unread").
 * Same words, same order as on screen (WCAG 2.5.3 "label in name"), so a voice-control user who
 * says what they see ("click Depot 5 min") reaches the link.
 */
function linkLabel(row: RoomRow, shortId: string | null, time: string | null): string {
  const { room } = row
  const id = shortId ? ` #${shortId}` : ''
  const kind = room.visibility === 'private' ? ', private' : ''
  const muted = mutedLabel(levelOf(room.id))
  const unread = room.unreadCount > 0 ? unreadLabel(room.unreadCount) : ''
  // After the count, as on screen (label in name: a name that put words between the preview and
  // the count would not hold the visible text in order, axe's label-content-name-mismatch).
  const mention = mentionedUnread(room) ? MENTION_LABEL : ''
  // Muted goes last: its mark is an icon, and words between the visible ones would break label in name.
  return [`${room.name}${id}${kind}`, time, row.preview, unread, mention, muted].filter(Boolean).join('. ')
}

/**
 * The badge shows at most "999+" (as the divider does); the link's name says the visible "999+
 * unread" first (label in name) and then the exact count, for the screen-reader user who wants it.
 */
function unreadLabel(count: number): string {
  const shown = unreadNumber(count)
  return shown === String(count) ? `${count} unread` : `${shown} unread (${count})`
}

const MENTION_LABEL = '@ mentioned you'

/** Relative times ("5 min") move on by themselves: the list re-renders on this coarse tick. */
const TICK_MS = 30_000

function useClockTick(): number {
  const [at, setAt] = useState(now)
  useEffect(() => {
    const timer = setInterval(() => setAt(now()), TICK_MS)
    return () => clearInterval(timer)
  }, [])
  // A re-render for another reason reads the clock afresh too.
  return Math.max(at, now())
}

/**
 * The initials are drawn by CSS (`data-initials`, see .avatar::before), not text in the DOM: they
 * are a picture, and as text they would be part of the link's visible label ("AC Alpha Crew …"),
 * which then no longer matches its accessible name (WCAG 2.5.3, axe label-content-name-mismatch).
 */
export function RoomAvatar({ id, name }: { id: string; name: string }) {
  return (
    <span class="avatar" aria-hidden="true" data-initials={initials(name)} style={{ background: avatarColour(id) }} />
  )
}

export function RoomList() {
  const meId = user.value?.id
  const current = route.value
  const activeId = current.name === 'room' ? current.roomId : null
  const clock = useClockTick()
  useEffect(() => {
    // Drafts come with every room-list reload; this covers the first paint (offline it is the only one).
    getDb()
      .then((db) => reloadDrafts(db))
      .catch((error: unknown) => console.warn('[ferry] reading the drafts failed', error))
  }, [])
  const rows = roomRows(rooms.value, outbox.value, drafts.value, meId, activeId)
  const shared = sharedNames(rows.map((row) => row.room))
  return (
    <section class="room-list">
      <div class="room-list__head">
        <h2>Rooms</h2>
        <div class="row">
          <SearchButton current={current.name === 'search'} />
          <button
            type="button"
            class="secondary"
            aria-current={current.name === 'discover' ? 'page' : undefined}
            onClick={() => navigate({ name: 'discover' })}
          >
            Discover
          </button>
          <CreateRoom />
        </div>
      </div>
      {rows.length === 0 && <NoRooms />}
      <ul>
        {rows.map((row) => {
          const { room } = row
          const shortId = shared.has(room.name.toLocaleLowerCase()) ? room.id.slice(0, 4) : null
          const time = row.lastAt ? relativeTime(row.lastAt, clock) : null
          return (
            <li key={room.id} class={room.id === activeId ? 'room room--active' : 'room'}>
              <a
                href={`/rooms/${room.id}`}
                class="room__link"
                aria-current={room.id === activeId ? 'page' : undefined}
                aria-label={linkLabel(row, shortId, time)}
                onClick={(event) => {
                  event.preventDefault()
                  navigate({ name: 'room', roomId: room.id })
                }}
              >
                <RoomAvatar id={room.id} name={room.name} />{' '}
                <span class="room__body">
                  <span class="room__top">
                    <span class="room__name">
                      <span dir="auto">{room.name}</span>
                      {shortId && (
                        <>
                          {' '}
                          <span class="room__id">#{shortId}</span>
                        </>
                      )}
                      {room.visibility === 'private' && (
                        <>
                          {' '}
                          <span class="tag">private</span>
                        </>
                      )}
                      {levelOf(room.id) !== 'all' && (
                        <>
                          {' '}
                          <MutedIcon />
                        </>
                      )}
                    </span>{' '}
                    {time && <span class="room__time">{time}</span>}
                  </span>{' '}
                  <span class="room__bottom">
                    <span class="room__preview" dir="auto">
                      {row.draft ? (
                        <>
                          <span class="room__draft">Draft:</span>
                          {row.preview.slice('Draft:'.length)}
                        </>
                      ) : (
                        row.preview
                      )}
                    </span>{' '}
                    {room.unreadCount > 0 && (
                      <span class="badge" role="img" aria-label={`${room.unreadCount} unread`}>
                        {unreadNumber(room.unreadCount)}
                      </span>
                    )}
                    {mentionedUnread(room) && (
                      // Until the person reads past the message that mentions them, on any device.
                      <>
                        {' '}
                        <span class="badge badge--mention" role="img" aria-label={MENTION_LABEL}>
                          @
                        </span>
                      </>
                    )}
                  </span>
                </span>
              </a>
            </li>
          )
        })}
      </ul>
      <Unsendable />
    </section>
  )
}
