import { useComputed } from '@preact/signals'
import { useEffect, useState } from 'preact/hooks'
import { joinRoom, loadNewer, loadOlder, navigate, setFollowing } from '../state/actions.ts'
import { activeTypists, foldTimeline, pendingFor, typingText } from '../state/reducers.ts'
import { outbox, rooms, timeline, typists, user } from '../state/store.ts'
import { Composer } from './Composer.tsx'
import { MemberList } from './MemberList.tsx'
import { MessageList } from './MessageList.tsx'

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

export function RoomView({ roomId }: { roomId: string }) {
  const [showMembers, setShowMembers] = useState(false)
  const shown = useComputed(() => foldTimeline(timeline.value?.roomId === roomId ? timeline.value.entries : []))
  const room = rooms.value.find((r) => r.id === roomId)
  const current = timeline.value?.roomId === roomId ? timeline.value : null
  const me = user.value
  if (!me) return null
  const pending = pendingFor(roomId, outbox.value, current?.entries ?? [])
  return (
    <section class="room-view" aria-label={room?.name ?? 'Room'}>
      <header class="room-view__head">
        <button type="button" class="icon back" aria-label="Back to rooms" onClick={() => navigate({ name: 'rooms' })}>
          ‹
        </button>
        <h2 class="room-view__title">{room?.name ?? 'Room'}</h2>
        <button
          type="button"
          class="secondary"
          aria-expanded={showMembers}
          aria-controls="members-panel"
          onClick={() => setShowMembers(!showMembers)}
        >
          Members
        </button>
      </header>
      {showMembers && room && (
        <div id="members-panel">
          <MemberList room={room} />
        </div>
      )}
      <MessageList
        entries={shown.value}
        pending={pending}
        meId={me.id}
        hasOlder={current?.hasOlder ?? false}
        loadingOlder={current?.loadingOlder ?? false}
        onNearTop={() => void loadOlder() /* never rejects */}
        hasNewer={current?.hasNewer ?? false}
        onNearBottom={() => void loadNewer()}
        onFollowing={setFollowing}
      />
      <TypingIndicator roomId={roomId} />
      {room?.role === null ? (
        <div class="join-bar">
          <button type="button" class="primary" onClick={() => void joinRoom(roomId)}>
            Join this room
          </button>
        </div>
      ) : (
        <Composer roomId={roomId} disabled={false} />
      )}
    </section>
  )
}
