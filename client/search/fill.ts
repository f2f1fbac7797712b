/**
 * Fills the offline search index (client/search/index.ts) from the messages the device cached
 * before the index existed (issue 12, docs/SEARCH.md "On the device"). The version-8 upgrade only
 * creates the `search` store and marks the fill pending (`markSearchFillPending`), so the database
 * opens at once however much is cached; this fills it after open, in the background, a chunk of
 * `messages` per readwrite transaction, in key order, saving its position with each chunk so a
 * reload resumes where it stopped.
 *
 * Each chunk re-indexes the messages its entries are about with `reindexMessages`, the code the
 * live upkeep (client/db/messages.ts `storeEventsIn`) runs: it reads what `messages` holds now, in
 * the same transaction, so a record written is always the message's current text (deleted: none).
 * Readwrite transactions over `messages` and `search` never interleave, so a message stored,
 * edited or deleted while the fill runs ends right whichever of the two indexes it last, and two
 * tabs filling at once (each chunk reads the position saved by the last) only share the work.
 */

import type { IDBPTransaction, StoreNames } from 'idb'
import { messageSeqOf } from '../../shared/conversation/fold.ts'
import type { RoomEvent } from '../../shared/schemas.ts'
import type { FerryDatabase, FerryDB, SearchFillRecord } from '../db/schema.ts'
import { storedEntries } from '../log/entry.ts'
import { reindexMessages } from './index.ts'

const KEY = 'me'
/** Entries of `messages` read per transaction: short enough that a live write waits little behind one. */
export const FILL_CHUNK = 250
/** The pause between two chunks (ms): the page's own work runs in between. */
const FILL_PAUSE_MS = 30

type Position = [string, number]

function isPosition(value: unknown): value is Position {
  return Array.isArray(value) && value.length === 2 && typeof value[0] === 'string' && typeof value[1] === 'number'
}

/** The saved position, null for the start; undefined when nothing is left to fill (no record). */
function positionOf(record: unknown): Position | null | undefined {
  if (record === undefined) return undefined
  const after = (record as { after?: unknown } | null)?.after
  // A record this code cannot read: start over (filling twice changes nothing).
  return isPosition(after) ? after : null
}

/** The version-8 upgrade step's part: the messages cached so far are to be indexed after open. */
export function markSearchFillPending(tx: IDBPTransaction<FerryDB, StoreNames<FerryDB>[], 'versionchange'>): void {
  const pending: SearchFillRecord = { v: 1, after: null }
  tx.objectStore('searchFill').put(pending, KEY)
}

/** True when the index holds every message the device holds (no fill pending). */
export async function searchIndexComplete(db: FerryDatabase): Promise<boolean> {
  return (await db.get('searchFill', KEY)) === undefined
}

/**
 * Indexes the next `size` entries of `messages` after the saved position, in one transaction, and
 * saves the new position (or, past the last entry, removes the record: complete). Returns true
 * when nothing is left to fill.
 */
export async function fillSearchChunk(db: FerryDatabase, size: number): Promise<boolean> {
  const tx = db.transaction(['messages', 'search', 'searchFill'], 'readwrite')
  const run = async (): Promise<boolean> => {
    const marker = tx.objectStore('searchFill')
    const after = positionOf(await marker.get(KEY))
    if (after === undefined) return true
    const messages = tx.objectStore('messages')
    const range = after ? IDBKeyRange.lowerBound(after, true) : null
    const [keys, rows] = await Promise.all([messages.getAllKeys(range, size), messages.getAll(range, size)])
    // Rows that are not entries (a damaged store) are skipped, as `rebuiltIndex` skips them.
    const byRoom = new Map<string, RoomEvent[]>()
    for (const e of storedEntries(rows)) {
      if (messageSeqOf(e) === null) continue
      const list = byRoom.get(e.roomId) ?? []
      list.push(e)
      byRoom.set(e.roomId, list)
    }
    for (const [roomId, entries] of byRoom) await reindexMessages(tx, roomId, entries)
    const last = keys.at(-1)
    if (keys.length < size || !last) {
      await marker.delete(KEY)
      return true
    }
    const next: SearchFillRecord = { v: 1, after: last }
    await marker.put(next, KEY)
    return false
  }
  const running = run().catch((error: unknown) => {
    // Nothing of a failed chunk is kept (its position neither): abort, and the caller decides.
    try {
      tx.abort()
    } catch {
      // Already finished or aborted.
    }
    throw error
  })
  const [done] = await Promise.all([running, tx.done])
  return done
}

export interface FillOptions {
  /** Entries per transaction (FILL_CHUNK). */
  chunk?: number
  /** Awaited between two chunks (a short timer by default). */
  pause?: () => Promise<void>
  /** Asked before each chunk: true stops the fill (it resumes from its saved position next time). */
  stopped?: () => boolean
}

const isClosed = (error: unknown) => error instanceof DOMException && error.name === 'InvalidStateError'

/**
 * Fills chunk by chunk until complete (true) or stopped, or the connection closed (false). A chunk
 * that fails is tried again smaller, down to one entry; an entry that cannot be indexed even alone
 * (a damaged row IndexedDB refuses) is stepped over, so the fill always ends.
 */
export async function fillSearchIndex(db: FerryDatabase, options: FillOptions = {}): Promise<boolean> {
  const chunk = Math.max(1, Math.floor(options.chunk ?? FILL_CHUNK))
  const pause = options.pause ?? (() => new Promise<void>((resolve) => setTimeout(resolve, FILL_PAUSE_MS)))
  let size = chunk
  for (;;) {
    if (options.stopped?.()) return false
    try {
      if (await fillSearchChunk(db, size)) return true
      size = chunk
    } catch (error) {
      if (isClosed(error)) return false
      console.warn('[ferry] indexing cached messages for search failed; trying a smaller part', error)
      if (size > 1) size = Math.ceil(size / 2)
      else if (!(await stepOver(db))) return false
    }
    await pause()
  }
}

/** Moves the saved position past the next entry (one that cannot be indexed). False if that fails too. */
async function stepOver(db: FerryDatabase): Promise<boolean> {
  try {
    const tx = db.transaction(['messages', 'searchFill'], 'readwrite')
    const marker = tx.objectStore('searchFill')
    const after = positionOf(await marker.get(KEY))
    if (after !== undefined) {
      const [key] = await tx.objectStore('messages').getAllKeys(after ? IDBKeyRange.lowerBound(after, true) : null, 1)
      if (key) await marker.put({ v: 1, after: key } satisfies SearchFillRecord, KEY)
      else await marker.delete(KEY)
    }
    await tx.done
    return true
  } catch (error) {
    if (!isClosed(error)) console.warn('[ferry] indexing cached messages for search stopped', error)
    return false
  }
}

/**
 * Starts the fill in the background (the leader tab's work, client/state/session.ts): returns the
 * function that stops it after the chunk under way.
 */
export function startSearchFill(db: FerryDatabase): () => void {
  let stopped = false
  fillSearchIndex(db, { stopped: () => stopped }).catch((error: unknown) =>
    console.warn('[ferry] indexing cached messages for search failed', error),
  )
  return () => {
    stopped = true
  }
}
