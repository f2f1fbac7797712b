/** How far the person has read: the read marker, kept on the device and sent by the leader tab (sync/reads.ts). */
import { getDb } from '../db/page.ts'
import { markSeenLocally } from '../db/rooms.ts'
import { onTabMessage, publish } from '../tabs/bus.ts'
import { currentRoomId } from './navigation.ts'
import { warn } from './notify.ts'
import { rooms, route, timeline, user } from './store.ts'

/**
 * MessageList tells how far down the person has read (the last message whose end is in view):
 * the read marker follows, posted once per burst like arrivals. Only for the open, visible room.
 */
export function markReadThrough(roomId: string, seq: number): void {
  if (typeof document !== 'undefined' && document.visibilityState !== 'visible') return
  if (currentRoomId() !== roomId) return
  const room = rooms.value.find((r) => r.id === roomId)
  // Already read that far (as the room list knows): no IndexedDB write for every scroll event.
  if (!room || room.role === null || seq <= room.lastReadSeq) return
  void markSeen(roomId, seq).catch(warn('marking read'))
}

/**
 * The person has seen `roomId` up to `seq`: marked here at once (the row's `readPending`, kept in
 * IndexedDB until the server confirms it, so it survives a reload offline and only the highest
 * per room is kept), and the leader tab is asked to send it (sync/reads.ts: a `read` frame at most
 * once per room per second, POST without a socket). `now`: the room is being hidden or left.
 */
export async function markSeen(roomId: string, seq: number, now = false): Promise<void> {
  const db = await getDb()
  if (!(await markSeenLocally(db, roomId, seq))) return
  publish({ type: 'rooms-changed' })
  publish({ type: 'read', roomId, now })
}

/** The room is hidden or left: a marker still waiting goes out without waiting for its second. */
function sendReadNow(roomId: string): void {
  // The leader reads the row: with nothing waiting on it, nothing is sent.
  publish({ type: 'read', roomId, now: true })
}

/** The newest seq the open room shows, when the person can see it (visible page, at the live end). */
export function seenInOpenRoom(roomId: string): number | null {
  if (typeof document !== 'undefined' && document.visibilityState !== 'visible') return null
  if (currentRoomId() !== roomId || !user.value) return null
  const current = timeline.value
  if (current && current.roomId === roomId && !current.following) return null
  const shown = current?.roomId === roomId ? (current.entries.at(-1)?.seq ?? 0) : 0
  const room = rooms.value.find((r) => r.id === roomId)
  return Math.max(shown, room && room.role !== null ? room.lastSeq : 0)
}

/**
 * Keeps the read marker in step while a room stays open: arrivals in the open,
 * visible room are read (the person's own messages need no post: the server
 * never counts them unread); coming back to the page marks what arrived while
 * it was hidden; back online or on a fresh socket the waiting markers go out.
 */
export function startReadMarkers(): () => void {
  const stopListening = onTabMessage((message) => {
    if (message.type !== 'events') return
    const others = message.events.some((e) => e.authorId !== user.value?.id)
    const seen = others ? seenInOpenRoom(message.roomId) : null
    const newest = Math.max(...message.events.map((e) => e.seq))
    if (seen !== null) void markSeen(message.roomId, Math.max(seen, newest)).catch(warn('marking read'))
  })
  const onVisibility = () => {
    const roomId = currentRoomId()
    if (!roomId) return
    if (document.visibilityState !== 'visible') return sendReadNow(roomId)
    const seen = seenInOpenRoom(roomId)
    if (seen !== null) void markSeen(roomId, seen).catch(warn('marking read'))
  }
  // Leaving a room sends what was read in it at once.
  let openRoomId = currentRoomId()
  const stopRoute = route.subscribe((next) => {
    const roomId = next.name === 'room' ? next.roomId : null
    if (openRoomId !== null && openRoomId !== roomId) sendReadNow(openRoomId)
    openRoomId = roomId
  })
  document.addEventListener('visibilitychange', onVisibility)
  return () => {
    stopListening()
    stopRoute()
    document.removeEventListener('visibilitychange', onVisibility)
  }
}
