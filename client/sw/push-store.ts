/**
 * The service worker's half of "the message is on the device before the
 * notification shows": the pushed entry goes into the room's log like any
 * entry heard (db/messages.ts `storeEvents`: the seq joins the cursor's
 * ranges, and the resume cursor moves only over seqs held without a hole,
 * so a pushed message is never taken as proof of the ones before it), and
 * the room's row takes the push's preview and counts.
 */
import type { PushPayload } from '../../shared/push/contract.ts'
import type { RoomEvent } from '../../shared/schemas.ts'
import { storeEvents } from '../db/messages.ts'
import { activeUser } from '../db/rooms.ts'
import type { FerryDatabase } from '../db/schema.ts'
import { applyPushToRoom, unreadTotal } from '../push/room-row.ts'

export interface StoredPush {
  /** Entries newly written (none when the device held it already, or had nothing to store). */
  fresh: RoomEvent[]
  /** The room row changed. */
  roomChanged: boolean
  /** Unread messages across the person's rooms after this push, for the app badge. */
  total: number
}

/**
 * Stores what a push brings. Null when nobody is signed in on this device (a
 * push that raced a logout): nothing is stored, and nothing is to be shown.
 */
export async function storePush(
  db: FerryDatabase,
  push: PushPayload,
  entry: RoomEvent | null,
): Promise<StoredPush | null> {
  if (!activeUser(await db.get('session', 'me'))) return null
  const fresh = entry ? (await storeEvents(db, push.roomId, [entry])).fresh : []
  const tx = db.transaction('rooms', 'readwrite')
  const room = await tx.store.get(push.roomId)
  let roomChanged = false
  if (room) {
    const next = applyPushToRoom(room, push, entry)
    if (next !== room) {
      tx.store.put(next)
      roomChanged = true
    }
  }
  const rows = await tx.store.getAll()
  await tx.done
  // Read after the put in the same transaction: the total includes this room's new count.
  const total = unreadTotal(rows)
  return { fresh, roomChanged, total }
}
