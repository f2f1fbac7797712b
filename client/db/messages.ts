import type { Message, RoomEvent } from '../../shared/schemas.ts'
import { addSeqs, advanceCursor, classifyIncoming } from '../sync/ranges.ts'
import type { FerryDatabase, RoomCursor, SeqRange } from './schema.ts'

export function emptyCursor(roomId: string): RoomCursor {
  return { roomId, lastSeq: 0, ranges: [], hasOlder: true }
}

/** History pages carry messages; the log stores them as the event that created them. */
export function messageToEvent(m: Message): RoomEvent {
  return {
    roomId: m.roomId,
    seq: m.seq,
    kind: 'message.created',
    authorId: m.authorId,
    authorName: m.authorName,
    clientId: m.clientId,
    body: m.body,
    targetSeq: null,
    reaction: null,
    createdAt: m.createdAt,
  }
}

export interface StoredBatch {
  fresh: RoomEvent[]
  gap: SeqRange | null
  cursor: RoomCursor
}

/**
 * Stores log entries of one room that we did not hold yet, in one transaction
 * with the cursor, so the cursor never claims a seq that is not on disk.
 */
export async function storeEvents(db: FerryDatabase, roomId: string, events: readonly RoomEvent[]): Promise<StoredBatch> {
  const tx = db.transaction(['messages', 'cursors'], 'readwrite')
  const cursors = tx.objectStore('cursors')
  const before = (await cursors.get(roomId)) ?? emptyCursor(roomId)
  const own = events.filter((e) => e.roomId === roomId)
  const { fresh, gap } = classifyIncoming(before.ranges, before.lastSeq, own)
  const messages = tx.objectStore('messages')
  for (const event of fresh) messages.put(event)
  const ranges = addSeqs(
    before.ranges,
    fresh.map((e) => e.seq),
  )
  const cursor: RoomCursor = { ...before, ranges, lastSeq: advanceCursor(ranges, before.lastSeq) }
  cursors.put(cursor)
  await tx.done
  return { fresh, gap, cursor }
}

/**
 * The server skipped everything up to `lastSeq` (too many missed): resume after
 * it, and keep the hole below so older history is paged from the server.
 */
export async function resetCursor(db: FerryDatabase, roomId: string, lastSeq: number): Promise<RoomCursor> {
  const tx = db.transaction('cursors', 'readwrite')
  const before = (await tx.store.get(roomId)) ?? emptyCursor(roomId)
  const cursor: RoomCursor = { ...before, lastSeq: Math.max(before.lastSeq, lastSeq), hasOlder: true }
  tx.store.put(cursor)
  await tx.done
  return cursor
}

export async function setHasOlder(db: FerryDatabase, roomId: string, hasOlder: boolean): Promise<void> {
  const tx = db.transaction('cursors', 'readwrite')
  const before = (await tx.store.get(roomId)) ?? emptyCursor(roomId)
  tx.store.put({ ...before, hasOlder })
  await tx.done
}

export async function getCursor(db: FerryDatabase, roomId: string): Promise<RoomCursor> {
  return (await db.get('cursors', roomId)) ?? emptyCursor(roomId)
}

/** Up to `limit` entries with seq < `before`, oldest first. */
export async function entriesBefore(
  db: FerryDatabase,
  roomId: string,
  before: number,
  limit: number,
): Promise<RoomEvent[]> {
  const range = IDBKeyRange.bound([roomId, 0], [roomId, before], false, true)
  const out: RoomEvent[] = []
  let cursor = await db.transaction('messages').store.openCursor(range, 'prev')
  while (cursor && out.length < limit) {
    out.push(cursor.value)
    cursor = await cursor.continue()
  }
  return out.reverse()
}

export function latestEntries(db: FerryDatabase, roomId: string, limit: number): Promise<RoomEvent[]> {
  return entriesBefore(db, roomId, Number.MAX_SAFE_INTEGER, limit)
}
