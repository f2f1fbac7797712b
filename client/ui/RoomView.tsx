import { useComputed } from '@preact/signals'
import { useEffect, useRef, useState } from 'preact/hooks'
import type { Room } from '../../shared/schemas.ts'
import { foldTimeline } from '../log/timeline.ts'
import { isSend } from '../outbox/operations.ts'
import { loadMembers, moderates } from '../state/members.ts'
import { checkRoomExists, joinRoom } from '../state/membership.ts'
import { navigate } from '../state/navigation.ts'
import { markReadThrough } from '../state/reading.ts'
import { readerNames, seenLines } from '../state/receipts.ts'
import { activeTypists, pendingFor, typingText } from '../state/reducers.ts'
import { jumpToNewest, loadNewer, loadOlder, setFollowing } from '../state/room-view.ts'
import {
  jumpTarget,
  members,
  missingRooms,
  outbox,
  presence,
  receipts,
  roomLoading,
  rooms,
  route,
  status,
  timeline,
  typists,
  user,
  visiting,
} from '../state/store.ts'
import { Composer } from './Composer.tsx'
import { LeaveRoom } from './LeaveRoom.tsx'
import { MembersSheet } from './MembersSheet.tsx'
import { MessageList } from './MessageList.tsx'
import { Popover } from './Popover.tsx'
import { QueueBar } from './QueueBar.tsx'
import { RoomNotifyChoice } from './RoomNotifyLevel.tsx'
import { useBackToListWhenGone } from './room-gone.ts'
import { onlineCount, subtitleParts } from './room-subtitle.ts'
import { SearchButton } from './Search.tsx'

function TypingIndicator({ roomId }: { roomId: string }) {
  const [now, setNow] = useState(Date.now())
  const list = activeTypists(typists.value[roomId] ?? [], now, user.value?.id)
  useEffect(() => {
    if (list.length === 0) return
    const t = setInterval(() => setNow(Date.now()), 1000)
    return () => clearInterval(t)
  }, [list.length])
  return (
    <p class="typing" aria-live="polite">
      {typingText(list)}
    </p>
  )
}

const backToRooms = (event: MouseEvent) => {
  event.preventDefault()
  navigate({ name: 'rooms' })
}

/** A link to a room that does not exist (or is private to others): said plainly, with a way back. */
function RoomNotFound() {
  return (
    <section class="room-view" aria-labelledby="room-missing">
      <div class="empty-state">
        <h2 id="room-missing">Room not found</h2>
        <p>This link points to a room that does not exist, or to a private room you are not in.</p>
        <a href="/" class="primary button-link" onClick={backToRooms}>
          Back to rooms
        </a>
      </div>
    </section>
  )
}

/** The room header's menu: leaving, after a yes (ui/LeaveRoom.tsx). */
function RoomMenu({ room }: { room: Room }) {
  return (
    <Popover
      id="room-menu"
      label={
        <>
          <span aria-hidden="true">⋮</span>
          <span class="visually-hidden">Room options</span>
        </>
      }
    >
      <RoomNotifyChoice roomId={room.id} />
      <LeaveRoom room={room} />
    </Popover>
  )
}

/** "Public · 12 members · 3 online": each part kept whole, so a narrow phone wraps between parts. */
function Subtitle({ parts }: { parts: string[] }) {
  return (
    <p class="room-view__subtitle">
      {parts.map((part, i) => (
        <span key={part}>
          {i > 0 && ' · '}
          <span class="room-view__part">{part}</span>
        </span>
      ))}
    </p>
  )
}

/** Two heads and shoulders: the Members button's icon (its name stays "Members", visible from 420 px). */
function PeopleIcon() {
  return (
    <svg class="people-icon" viewBox="0 0 24 24" width="20" height="20" aria-hidden="true" focusable="false">
      <circle cx="9" cy="8" r="3.5" fill="none" stroke="currentColor" stroke-width="2" />
      <path d="M2.5 20c0-3.6 2.9-6 6.5-6s6.5 2.4 6.5 6" fill="none" stroke="currentColor" stroke-width="2" />
      <circle cx="17" cy="9" r="2.5" fill="none" stroke="currentColor" stroke-width="2" />
      <path d="M17 14c2.8 0 4.5 2 4.5 5" fill="none" stroke="currentColor" stroke-width="2" />
    </svg>
  )
}

/** Below the messages: write, join, or why neither (the room is not known here yet). */
function Footer({ room, roomId }: { room: Room | undefined; roomId: string }) {
  if (!room) {
    return (
      <p class="join-bar muted">
        {status.value.offline ? 'This room is not on this device yet. Connect to open it.' : 'Opening the room…'}
      </p>
    )
  }
  if (room.role === null) {
    return (
      <div class="join-bar">
        <button type="button" class="primary" onClick={() => void joinRoom(roomId)}>
          Join this room
        </button>
      </div>
    )
  }
  return <Composer roomId={roomId} disabled={false} />
}

export function RoomView({ roomId }: { roomId: string }) {
  const [showMembers, setShowMembers] = useState(false)
  const membersButton = useRef<HTMLButtonElement>(null)
  // The log's state with the person's waiting operations folded over it (shown at once, marked waiting).
  const shown = useComputed(() => {
    const entries = timeline.value?.roomId === roomId ? timeline.value.entries : []
    return foldTimeline(entries, user.value?.id, pendingFor(roomId, outbox.value, entries))
  })
  // "Seen by …": each other member's receipt under the newest shown message they have read.
  const seen = useComputed(() => {
    const meId = user.value?.id
    const readers = receipts.value[roomId]
    if (!meId || !readers) return undefined
    const listed = rooms.value.find((r) => r.id === roomId) ?? visiting.value
    return seenLines(
      shown.value,
      readers,
      meId,
      readerNames(members.value[roomId], presence.value[roomId], shown.value),
      listed?.memberCount ?? 0,
    )
  })
  // A reader the member list does not name (joined since it was loaded): load it again, once per reader.
  const askedAbout = useRef(new Set<string>())
  const roomReaders = receipts.value[roomId]
  const roomMembers = members.value[roomId]
  useEffect(() => {
    if (!roomReaders || !roomMembers) return
    const known = new Set(roomMembers.map((m) => m.userId))
    const unknown = Object.keys(roomReaders).filter((id) => !known.has(id) && !askedAbout.current.has(id))
    if (unknown.length === 0) return
    for (const id of unknown) askedAbout.current.add(id)
    void loadMembers(roomId) // never rejects
  }, [roomId, roomReaders, roomMembers])
  // The list's row when it has one (it is kept up to date); else a public room opened from a link.
  const room = rooms.value.find((r) => r.id === roomId) ?? (visiting.value?.id === roomId ? visiting.value : undefined)
  const missing = !room && missingRooms.value.has(roomId)
  useBackToListWhenGone(room)
  useEffect(() => {
    // Not in the list: ask whether it exists at all, so a made-up link is not shown as an empty room.
    if (!room) void checkRoomExists(roomId) // never rejects
  }, [roomId, room === undefined])
  const current = timeline.value?.roomId === roomId ? timeline.value : null
  const me = user.value
  if (!me) return null
  if (missing) return <RoomNotFound />
  const queued = pendingFor(roomId, outbox.value, current?.entries ?? [])
  // Messages show as their own rows; operations show on the message they change.
  const pending = queued.filter(isSend)
  // Known to hold no history: offer no older messages (there are none), and with nothing queued say so.
  const noHistory = shown.value.length === 0 && room?.lastSeq === 0
  const empty = noHistory && pending.length === 0
  // Nothing here yet and the latest page is on its way: say so, rather than a bare "Load older".
  const loading = roomLoading.value === roomId && shown.value.length === 0 && pending.length === 0
  const online = onlineCount(presence.value[roomId], status.value)
  // Joined from Discover: Back returns there, where the person was looking.
  const opened = route.value
  const fromDiscover = opened.name === 'room' && opened.from === 'discover'
  return (
    <section class="room-view" aria-label={room?.name ?? 'Room'}>
      <header class="room-view__head">
        <button
          type="button"
          class="icon back"
          aria-label={fromDiscover ? 'Back to Discover' : 'Back to rooms'}
          onClick={() => navigate(fromDiscover ? { name: 'discover' } : { name: 'rooms' })}
        >
          ‹
        </button>
        <div class="room-view__titles">
          <h2 class="room-view__title" dir="auto">
            {room?.name ?? 'Room'}
          </h2>
          {room && <Subtitle parts={subtitleParts(room, online)} />}
        </div>
        {room && <SearchButton roomId={roomId} />}
        <button
          ref={membersButton}
          type="button"
          class="secondary members-button"
          aria-haspopup="dialog"
          aria-expanded={showMembers}
          aria-controls={showMembers ? 'members-panel' : undefined}
          onClick={() => setShowMembers(true)}
        >
          <PeopleIcon />
          <span class="members-button__text">Members</span>
        </button>
        {room && room.role !== null && <RoomMenu room={room} />}
      </header>
      {showMembers && room && (
        <MembersSheet room={room} online={online} opener={membersButton} onClose={() => setShowMembers(false)} />
      )}
      <MessageList
        entries={shown.value}
        pending={pending}
        meId={me.id}
        roomId={roomId}
        moderator={moderates(room?.role)}
        empty={empty && !loading}
        canWrite={room !== undefined && room.role !== null}
        loading={loading}
        hasOlder={!noHistory && !loading && (current?.hasOlder ?? false)}
        loadingOlder={current?.loadingOlder ?? false}
        onNearTop={() => void loadOlder() /* never rejects */}
        hasNewer={current?.hasNewer ?? false}
        onNearBottom={() => void loadNewer()}
        onFollowing={setFollowing}
        divider={current?.divider ?? null}
        arrivals={current && !current.following ? (current.arrivals ?? null) : null}
        onRead={(seq) => markReadThrough(roomId, seq)}
        onJumpToNewest={() => void jumpToNewest()}
        seen={seen.value}
        target={jumpTarget.value?.roomId === roomId ? jumpTarget.value : null}
      />
      <TypingIndicator roomId={roomId} />
      <QueueBar roomId={roomId} pending={queued} />
      <Footer room={room} roomId={roomId} />
    </section>
  )
}
