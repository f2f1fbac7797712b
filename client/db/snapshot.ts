/**
 * Everything the first screen needs, read in one transaction with all
 * requests in flight at once: on a slow phone each IndexedDB round trip
 * costs a task, so the cold, offline first paint waits for one, not ten.
 */
import type { Room, RoomEvent, User } from '../../shared/schemas.ts'
import { emptyCursor, newestEntries } from './messages.ts'
import type { FerryDatabase, OutboxItem, RoomCursor } from './schema.ts'

export interface Snapshot {
  user: User | undefined
  rooms: Room[]
  outbox: OutboxItem[]
  room: { entries: RoomEvent[]; cursor: RoomCursor } | null
}

export async function readSnapshot(db: FerryDatabase, roomId: string | null, limit: number): Promise<Snapshot> {
  const tx = db.transaction(['session', 'rooms', 'outbox', 'cursors'])
  const [user, rooms, outbox, cursor, entries] = await Promise.all([
    tx.objectStore('session').get('me'),
    tx.objectStore('rooms').getAll(),
    tx.objectStore('outbox').index('by-order').getAll(),
    roomId ? tx.objectStore('cursors').get(roomId) : undefined,
    roomId ? newestEntries(db, roomId, limit) : [],
  ])
  return {
    user,
    rooms,
    outbox,
    room: roomId ? { entries, cursor: cursor ?? emptyCursor(roomId) } : null,
  }
}
