/**
 * What a push says about its room's row (the room list's preview, unread
 * count and `@`), applied by the service worker so the list and the app badge
 * are right before the page has talked to the server.
 */
import type { PushPayload } from '../../shared/push/contract.ts'
import type { Room, RoomEvent } from '../../shared/schemas.ts'
import type { CachedRoom } from '../db/schema.ts'
import { lastMessageOf } from '../log/entry.ts'

/**
 * The row after the pushed message. A row that already reaches the seq (the
 * page heard it first) is left alone: its counts include it. Otherwise the
 * server's unread count after this message is taken (it counts the messages
 * between, which the device may not hold); what the person read here and the
 * server has not heard of yet still counts as read.
 */
export function applyPushToRoom(room: CachedRoom, push: PushPayload, entry: RoomEvent | null): CachedRoom {
  if (room.role === null || push.seq <= room.lastSeq) return room
  const readHere = room.readPending ?? 0
  const next: CachedRoom = {
    ...room,
    lastSeq: push.seq,
    unreadCount: readHere >= push.seq ? 0 : push.unread,
  }
  if (push.mention && push.seq > Math.max(room.lastReadSeq, readHere)) next.unreadMentionSeq = push.seq
  const last = lastMessageOf(entry)
  if (last) next.lastMessage = last
  return next
}

/** The unread total the app icon shows: rooms the person is in, counts that are counts (older rows are not trusted blindly). */
export function unreadTotal(rooms: readonly unknown[]): number {
  let total = 0
  for (const row of rooms) {
    const room = row as Partial<Room> | null
    if (!room || room.role === null || room.role === undefined) continue
    const count = room.unreadCount
    if (typeof count === 'number' && Number.isSafeInteger(count) && count > 0) total += count
  }
  return total
}
