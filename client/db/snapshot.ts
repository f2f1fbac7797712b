/**
 * Everything the first screen needs, read in one transaction with all
 * requests in flight at once: on a slow phone each IndexedDB round trip
 * costs a task, so the cold, offline first paint waits for one, not ten.
 */
import type { Room, RoomEvent, User } from '../../shared/schemas.ts'
import { emptyCursor, newestEntries } from './messages.ts'
import { activeUser, endedUser, type HeldWork } from './rooms.ts'
import type { FerryDatabase, OutboxItem, RoomCursor } from './schema.ts'

export interface Snapshot {
  /** The signed-in person; undefined when nobody is or the session is known to have ended (never painted). */
  user: User | undefined
  /** After an ended session: whose unsent work is kept on the device (the sign-in screen says so). */
  held: HeldWork | null
  rooms: Room[]
  outbox: OutboxItem[]
  room: { entries: RoomEvent[]; cursor: RoomCursor } | null
}

export async function readSnapshot(db: FerryDatabase, roomId: string | null, limit: number): Promise<Snapshot> {
  const tx = db.transaction(['session', 'rooms', 'outbox', 'cursors', 'drafts'])
  const [record, rooms, outbox, drafts, cursor, entries] = await Promise.all([
    tx.objectStore('session').get('me'),
    tx.objectStore('rooms').getAll(),
    tx.objectStore('outbox').index('by-order').getAll(),
    tx.objectStore('drafts').count(),
    roomId ? tx.objectStore('cursors').get(roomId) : undefined,
    roomId ? newestEntries(db, roomId, limit) : [],
  ])
  const user = activeUser(record)
  const ended = endedUser(record)
  return {
    user,
    held: ended ? { user: ended, unsent: outbox.length, drafts } : null,
    rooms: user ? rooms : [],
    outbox,
    room: roomId ? { entries: user ? entries : [], cursor: cursor ?? emptyCursor(roomId) } : null,
  }
}
