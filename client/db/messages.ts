import type { IDBPTransaction } from 'idb'
import { messageSeqOf } from '../../shared/conversation/fold.ts'
import type { RoomEvent } from '../../shared/schemas.ts'
import { type StoredEntry, scrubbed, snapshotOf, storedEntries, type WindowEntry } from '../log/entry.ts'
import { reindexMessages } from '../search/index.ts'
import { addSeqs, advanceCursor, classifyIncoming } from '../sync/ranges.ts'
import type { FerryDatabase, FerryDB, RoomCursor, SeqRange } from './schema.ts'

export function emptyCursor(roomId: string): RoomCursor {
  return { roomId, lastSeq: 0, ranges: [], hasOlder: true }
}

export interface StoredBatch {
  fresh: RoomEvent[]
  /**
   * Messages held already whose stored copy took a newer server snapshot from
   * this batch (a history page read after changes the device never got).
   */
  refreshed: RoomEvent[]
  gap: SeqRange | null
  cursor: RoomCursor
}

type LogTx = ReturnType<typeof logTransaction>

/**
 * A transaction over everything a log write touches (the outbox too: an ack
 * settles an outbox item; the search index, kept in step with the messages).
 */
export function logTransaction(db: FerryDatabase) {
  return db.transaction(['outbox', 'messages', 'cursors', 'search'], 'readwrite')
}

/**
 * Stores log entries of one room that we did not hold yet, in the same
 * transaction as the cursor, so the cursor never claims a seq that is not on disk.
 */
export async function storeEventsIn(tx: LogTx, roomId: string, events: readonly RoomEvent[]): Promise<StoredBatch> {
  const cursors = tx.objectStore('cursors')
  const before = (await cursors.get(roomId)) ?? emptyCursor(roomId)
  const own = events.filter((e) => e.roomId === roomId)
  const classified = classifyIncoming(before.ranges, before.lastSeq, own)
  const { gap } = classified
  const refreshed = await newerSnapshots(tx, roomId, own, classified.fresh)
  const fresh = await withDeletionsApplied(tx, roomId, classified.fresh, refreshed)
  const messages = tx.objectStore('messages')
  for (const event of fresh) messages.put(event)
  // Every path stores through here: the offline search index follows what is now held (issue 12).
  await reindexMessages(tx, roomId, [...fresh, ...refreshed])
  const ranges = addSeqs(
    before.ranges,
    fresh.map((e) => e.seq),
  )
  const cursor: RoomCursor = { ...before, ranges, lastSeq: advanceCursor(ranges, before.lastSeq) }
  cursors.put(cursor)
  return { fresh, refreshed, gap, cursor }
}

/**
 * Held messages for which the batch brings a snapshot folding in more than
 * the stored copy's (none, or an older `through`): the stored copy takes it
 * (and loses its text when the snapshot says deleted). Returns them as stored.
 */
async function newerSnapshots(
  tx: LogTx,
  roomId: string,
  incoming: readonly RoomEvent[],
  fresh: readonly RoomEvent[],
): Promise<RoomEvent[]> {
  const isFresh = new Set(fresh.map((e) => e.seq))
  const candidates = incoming.filter((e) => e.kind === 'message.created' && snapshotOf(e) && !isFresh.has(e.seq))
  if (candidates.length === 0) return []
  const messages = tx.objectStore('messages')
  const out: RoomEvent[] = []
  for (const e of candidates) {
    const state = snapshotOf(e)!
    const [held] = storedEntries([await messages.get([roomId, e.seq])])
    if (held?.kind !== 'message.created' || (snapshotOf(held)?.through ?? 0) >= state.through) continue
    const taken: StoredEntry = { ...held, state, body: state.deleted ? null : held.body }
    // A copy already scrubbed (its deletion is held, newer than the page) keeps no text from the page either.
    const next = held.body === null ? scrubbed(taken) : taken
    messages.put(next)
    out.push(next)
  }
  return out
}

const isDeletion = (e: RoomEvent) => e.kind === 'message.deleted' && e.targetSeq !== null
const hasText = (e: RoomEvent) => e.body !== null && (e.kind === 'message.created' || e.kind === 'message.edited')

/**
 * A deletion removes the message's text from the device too (issue 9): the
 * stored message and its stored edits lose their body, as the server's rows
 * do. Works in both arrival orders: a deletion scrubs what is held, and a
 * copy with text of a message whose deletion is held (a stale page) is
 * stored scrubbed. Returns `fresh` with such copies scrubbed.
 */
async function withDeletionsApplied(
  tx: LogTx,
  roomId: string,
  fresh: readonly RoomEvent[],
  refreshed: readonly RoomEvent[] = [],
): Promise<RoomEvent[]> {
  const messages = tx.objectStore('messages')
  const byTarget = messages.index('by-target')
  const deleted = new Set<number>()
  for (const e of fresh) if (isDeletion(e) || snapshotOf(e)?.deleted) deleted.add(messageSeqOf(e)!)
  // A snapshot that says deleted is a deletion the device may never read: it scrubs like one.
  for (const e of refreshed) if (snapshotOf(e)?.deleted) deleted.add(e.seq)
  const texts = fresh.filter(hasText)
  if (texts.length > 0) {
    // One read for the whole batch: the held deletions aimed anywhere in its span of messages.
    const seqs = texts.map((e) => messageSeqOf(e)!)
    const span = IDBKeyRange.bound([roomId, Math.min(...seqs)], [roomId, Math.max(...seqs)])
    for (const held of await byTarget.getAll(span)) if (isDeletion(held)) deleted.add(held.targetSeq!)
  }
  if (deleted.size === 0) return fresh as RoomEvent[]
  for (const seq of deleted) {
    const held = storedEntries([await messages.get([roomId, seq]), ...(await byTarget.getAll([roomId, seq]))])
    for (const e of held) if (hasText(e)) messages.put(scrubbed(e))
  }
  return fresh.map((e) => (hasText(e) && deleted.has(messageSeqOf(e)!) ? scrubbed(e) : e))
}

export async function storeEvents(
  db: FerryDatabase,
  roomId: string,
  events: readonly RoomEvent[],
): Promise<StoredBatch> {
  const tx = logTransaction(db)
  const stored = await storeEventsIn(tx, roomId, events)
  await tx.done
  return stored
}

/**
 * The server skipped everything up to `lastSeq` (too many missed): resume after
 * it, and keep the hole below so older history is paged from the server.
 */
export async function resetCursor(db: FerryDatabase, roomId: string, lastSeq: number): Promise<RoomCursor> {
  const tx = db.transaction('cursors', 'readwrite')
  const before = (await tx.store.get(roomId)) ?? emptyCursor(roomId)
  const cursor: RoomCursor = {
    ...before,
    lastSeq: Math.max(before.lastSeq, lastSeq),
    hasOlder: true,
    resetTo: Math.max(before.resetTo ?? 0, lastSeq),
  }
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

export function roomRange(roomId: string, before = Number.MAX_SAFE_INTEGER): IDBKeyRange {
  return IDBKeyRange.bound([roomId, 0], [roomId, before], false, true)
}

/**
 * The newest `limit` entries below `before`, oldest first: a key cursor
 * skips to the lower bound in one step, then one getAll reads the page.
 */
export async function newestEntries(
  db: FerryDatabase,
  roomId: string,
  limit: number,
  before = Number.MAX_SAFE_INTEGER,
): Promise<RoomEvent[]> {
  const tx = db.transaction('messages')
  const range = roomRange(roomId, before)
  const cursor = await tx.store.openKeyCursor(range, 'prev')
  if (!cursor) return []
  const lowest = limit > 1 ? await cursor.advance(limit - 1) : cursor
  const from = lowest ? lowest.key : ([roomId, 0] as [string, number])
  const page = storedEntries(await tx.store.getAll(IDBKeyRange.bound(from, [roomId, before], false, true)))
  return withAmendmentsHeld(tx, roomId, page)
}

type ReadTx = IDBPTransaction<FerryDB, ['messages'], 'readonly'>

/**
 * Gives each message of a page (seqs ascending) the amendments the device
 * holds for it beyond the page (newer entries, one read of the `by-target`
 * index for the page's span of messages), so a message read back shows every
 * change the device has, not only those that happen to sit in the same page.
 */
async function withAmendmentsHeld(tx: ReadTx, roomId: string, page: RoomEvent[]): Promise<WindowEntry[]> {
  const seqs = page.filter((e) => e.kind === 'message.created').map((e) => e.seq)
  if (seqs.length === 0) return page
  const top = page.at(-1)!.seq
  const span = IDBKeyRange.bound([roomId, seqs[0]!], [roomId, seqs.at(-1)!])
  const beyond = storedEntries(await tx.objectStore('messages').index('by-target').getAll(span)).filter(
    (e) => e.seq > top,
  )
  if (beyond.length === 0) return page
  const byTarget = new Map<number, RoomEvent[]>()
  for (const e of beyond) {
    const list = byTarget.get(e.targetSeq!) ?? []
    list.push(e)
    byTarget.set(e.targetSeq!, list)
  }
  return page.map((e) => {
    const amendments = e.kind === 'message.created' ? byTarget.get(e.seq) : undefined
    return amendments ? { ...e, amendments } : e
  })
}

/**
 * A message held from before the latest reset may lack changes made in the
 * part of the log the reset skipped: stale until a history page's snapshot
 * folds in at least that far.
 */
export function isStale(e: RoomEvent, cursor: RoomCursor): boolean {
  const resetTo = cursor.resetTo ?? 0
  return e.kind === 'message.created' && e.seq <= resetTo && (snapshotOf(e)?.through ?? 0) < resetTo
}

/** Up to `limit` entries after `after`, oldest first (the window paging back toward the live end). */
export async function entriesAfter(
  db: FerryDatabase,
  roomId: string,
  after: number,
  limit: number,
): Promise<RoomEvent[]> {
  const range = IDBKeyRange.bound([roomId, after], [roomId, Number.MAX_SAFE_INTEGER], true, false)
  const tx = db.transaction('messages')
  const page = storedEntries(await tx.store.getAll(range, limit))
  return withAmendmentsHeld(tx, roomId, page)
}
