/**
 * The offline search index (issue 12, docs/SEARCH.md "On the device"): the
 * `search` store holds one record per message the device holds with text,
 * as it reads now (edits applied, deleted messages absent), with its folded
 * words in a multiEntry index. It is kept in step with `messages` inside the
 * transaction that stores log entries (client/db/messages.ts `storeEventsIn`,
 * the one function every path stores through), so it is always a function of
 * what `messages` holds: `rebuiltIndex` computes the same from scratch.
 */
import type { IDBPObjectStore, IDBPTransaction, StoreNames } from 'idb'
import { emptyFold, foldEvent, foldSnapshot, messageSeqOf } from '../../shared/conversation/fold.ts'
import type { RoomEvent } from '../../shared/schemas.ts'
import { words } from '../../shared/search/text.ts'
import type { FerryDatabase, FerryDB, SearchRecord } from '../db/schema.ts'
import { snapshotOf, storedEntries } from '../log/entry.ts'

/**
 * The record of one message from every entry held about it (the message and
 * its amendments, any order), or null when it has no searchable text: not
 * held (only amendments), deleted, or no word at all (emoji only).
 */
export function recordOf(roomId: string, seq: number, entries: readonly RoomEvent[]): SearchRecord | null {
  let fold = emptyFold(roomId, seq)
  for (const e of entries) {
    fold = foldEvent(fold, e)
    const snapshot = e.kind === 'message.created' ? snapshotOf(e) : undefined
    if (snapshot) fold = foldSnapshot(fold, snapshot)
  }
  const state = fold.state
  if (!state || state.body === null) return null
  const terms = [...new Set(words(state.body))]
  if (terms.length === 0) return null
  return {
    at: state.createdAt,
    roomId,
    seq,
    authorId: state.authorId,
    authorName: state.authorName ?? '',
    edited: state.edited !== null,
    text: state.body,
    terms,
  }
}

/** Entries grouped by the message they are about (entries about no message, notices, are left out). */
function byMessage(entries: readonly RoomEvent[]): Map<string, { roomId: string; seq: number; entries: RoomEvent[] }> {
  const out = new Map<string, { roomId: string; seq: number; entries: RoomEvent[] }>()
  for (const e of entries) {
    const seq = messageSeqOf(e)
    if (seq === null) continue
    const key = `${e.roomId}\u0000${seq}`
    const group = out.get(key) ?? { roomId: e.roomId, seq, entries: [] }
    group.entries.push(e)
    out.set(key, group)
  }
  return out
}

/** The records of everything in `entries` (a whole store read back), sorted by key. */
export function recordsOf(entries: readonly RoomEvent[]): SearchRecord[] {
  const out: SearchRecord[] = []
  for (const group of byMessage(entries).values()) {
    const record = recordOf(group.roomId, group.seq, group.entries)
    if (record) out.push(record)
  }
  return out.sort(compareRecords)
}

function compareRecords(a: SearchRecord, b: SearchRecord): number {
  if (a.at !== b.at) return a.at < b.at ? -1 : 1
  if (a.roomId !== b.roomId) return a.roomId < b.roomId ? -1 : 1
  return a.seq - b.seq
}

type IndexTx = IDBPTransaction<FerryDB, ('messages' | 'search' | StoreNames<FerryDB>)[], 'readwrite' | 'versionchange'>

/**
 * Brings the records of the messages these entries are about up to date with
 * what `messages` now holds (called after the entries were written, in the
 * same transaction): a new message is added, an edited one re-indexed, a
 * deleted one removed. Reactions change no text; notices are about no message.
 */
export async function reindexMessages(tx: IndexTx, roomId: string, entries: readonly RoomEvent[]): Promise<void> {
  const seqs = new Set<number>()
  for (const e of entries) {
    const seq = messageSeqOf(e)
    if (seq !== null && e.roomId === roomId && e.kind !== 'reaction.added' && e.kind !== 'reaction.removed')
      seqs.add(seq)
  }
  if (seqs.size === 0) return
  const messages = tx.objectStore('messages')
  const search = tx.objectStore('search')
  const byTarget = messages.index('by-target')
  const byMessage = search.index('by-message')
  const write = (seq: number, held: unknown, amendments: readonly unknown[], oldKey: SearchKey | undefined) => {
    const record = recordOf(roomId, seq, storedEntries([held, ...amendments]))
    const writes: Promise<unknown>[] = []
    if (oldKey && !(record && sameKey(oldKey, record))) writes.push(search.delete(oldKey))
    if (record) writes.push(search.put(record))
    return Promise.all(writes)
  }
  const sorted = [...seqs].sort((a, b) => a - b)
  // Runs of messages close together (a history page, a chunk of the fill) are read by range: three
  // reads of the run's span instead of three per message. Those apart are read one by one.
  const runs: number[][] = []
  for (const seq of sorted) {
    const run = runs.at(-1)
    if (run && seq - run.at(-1)! <= RUN_GAP) run.push(seq)
    else runs.push([seq])
  }
  const readRun = async (run: number[]) => {
    const span = IDBKeyRange.bound([roomId, run[0]!], [roomId, run.at(-1)!])
    const [rows, amendmentRows, oldKeys] = await Promise.all([
      messages.getAll(span),
      byTarget.getAll(span),
      byMessage.getAllKeys(span),
    ])
    const held = new Map(rows.map((row) => [row.seq, row]))
    const amendments = new Map<number, unknown[]>()
    for (const row of amendmentRows) {
      const target = (row as { targetSeq: number }).targetSeq
      amendments.set(target, [...(amendments.get(target) ?? []), row])
    }
    const keys = new Map(oldKeys.map((key) => [key[2], key]))
    await Promise.all(run.map((seq) => write(seq, held.get(seq), amendments.get(seq) ?? [], keys.get(seq))))
  }
  const readOne = async (seq: number) => {
    const [held, amendments, oldKey] = await Promise.all([
      messages.get([roomId, seq]),
      byTarget.getAll([roomId, seq]),
      byMessage.getKey([roomId, seq]),
    ])
    await write(seq, held, amendments, oldKey)
  }
  // All reads issued at once: one round of the event loop, not one per message.
  await Promise.all(runs.flatMap((run) => (run.length >= RUN_MIN ? [readRun(run)] : run.map((seq) => readOne(seq)))))
}

type SearchKey = [string, string, number]
/** Messages at most this far apart (in seq) make one run; a run of at least RUN_MIN is read by range. */
const RUN_GAP = 8
const RUN_MIN = 8

const sameKey = (key: SearchKey, r: SearchRecord) => key[0] === r.at && key[1] === r.roomId && key[2] === r.seq

/** Removes a room's records (a private room the person left: its history goes). */
export async function dropRoomIndex(
  store: IDBPObjectStore<FerryDB, StoreNames<FerryDB>[], 'search', 'readwrite'>,
  roomId: string,
): Promise<void> {
  const keys = await store.index('by-message').getAllKeys(IDBKeyRange.bound([roomId, 0], [roomId, Infinity]))
  await Promise.all(keys.map((key) => store.delete(key)))
}

/** Every record, as stored (tests: the index against `rebuiltIndex`). */
export async function readIndex(db: FerryDatabase): Promise<SearchRecord[]> {
  return (await db.getAll('search')).sort(compareRecords)
}

/** The index computed from scratch from what `messages` holds. */
export async function rebuiltIndex(db: FerryDatabase): Promise<SearchRecord[]> {
  return recordsOf(storedEntries(await db.getAll('messages')))
}
