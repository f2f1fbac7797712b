/**
 * Offline search (issue 12, docs/SEARCH.md "On the device"): the messages
 * this device holds, through the `search` store's word index
 * (client/search/index.ts), with the shared rules of shared/search/text.ts,
 * so the device answers as the server would over the same messages.
 *
 * The index narrows to candidates (every clause's words, the prefix word by
 * a key range); each candidate, newest first, is then checked against the
 * whole query with `matches` (phrases need adjacency, exclusions the text),
 * until the page is full: a page reads only as many records as it shows,
 * plus those the check turned down.
 */
import type { IDBPIndex, IDBPObjectStore, IDBPTransaction } from 'idb'
import { SEARCH_LIMITS, type SearchHit } from '../../shared/search/contract.ts'
import { matches, type ParsedQuery, parseQuery, snippet, words } from '../../shared/search/text.ts'
import { getDb } from '../db/page.ts'
import type { FerryDatabase, FerryDB, SearchRecord } from '../db/schema.ts'
import { searchIndexComplete } from './fill.ts'

export interface DeviceSearchOptions {
  /** Only this room. */
  roomId?: string
  /** Hits per page: SEARCH_LIMITS.pageDefault unless given, at most pageMax. */
  limit?: number
  /** Only hits older than this one (the last hit of the previous page), in the order hits are listed. */
  before?: Pick<SearchHit, 'createdAt' | 'roomId' | 'seq'>
}

type Key = [string, string, number]

/** Newest first: by time, then room, then seq, descending (the order of merge.ts `newestFirst`). */
function newerKey(a: Key, b: Key): number {
  if (a[0] !== b[0]) return a[0] < b[0] ? 1 : -1
  if (a[1] !== b[1]) return a[1] < b[1] ? 1 : -1
  return b[2] - a[2]
}

const keyString = (k: Key) => `${k[0]}\u0000${k[1]}\u0000${k[2]}`

function isRecord(value: unknown): value is SearchRecord {
  if (typeof value !== 'object' || value === null) return false
  const r = value as Record<string, unknown>
  return (
    typeof r.at === 'string' &&
    typeof r.roomId === 'string' &&
    typeof r.seq === 'number' &&
    (r.authorId === null || typeof r.authorId === 'string') &&
    typeof r.authorName === 'string' &&
    typeof r.edited === 'boolean' &&
    typeof r.text === 'string' &&
    Array.isArray(r.terms) &&
    r.terms.every((t) => typeof t === 'string')
  )
}

/**
 * False while the index still lacks messages cached before it existed (the fill after the
 * version-8 upgrade, client/search/fill.ts, is under way): `searchDevice` answers from what is
 * indexed so far, and the screen says older messages are still being indexed.
 */
export async function deviceIndexComplete(): Promise<boolean> {
  return searchIndexComplete(await getDb())
}

/** The page's database connection; see `searchDeviceIn`. */
export async function searchDevice(q: string, opts: DeviceSearchOptions = {}): Promise<SearchHit[]> {
  return searchDeviceIn(await getDb(), q, opts)
}

/** Newest first, at most `limit` hits; an empty or operator-only query finds nothing. */
export async function searchDeviceIn(
  db: FerryDatabase,
  q: string,
  opts: DeviceSearchOptions = {},
): Promise<SearchHit[]> {
  const query = parseQuery(q)
  if (!query) return []
  const limit = Math.max(1, Math.min(SEARCH_LIMITS.pageMax, Math.floor(opts.limit ?? SEARCH_LIMITS.pageDefault)))
  const tx = db.transaction(['search', 'rooms'])
  const store = tx.objectStore('search')
  const terms = store.index('by-term')
  const before = opts.before ? ([opts.before.createdAt, opts.before.roomId, opts.before.seq] as Key) : null
  // Single words only: the record's distinct words answer as its words in order would.
  const phrases = query.clauses.some((alternatives) => alternatives.some((p) => p.length > 1))
  const ordered = phrases || query.excluded.some((p) => p.length > 1)
  const accept = (record: unknown): record is SearchRecord =>
    isRecord(record) &&
    (opts.roomId === undefined || record.roomId === opts.roomId) &&
    matches(query, ordered ? words(record.text) : record.terms)
  const found: SearchRecord[] = []
  const candidates = await candidateKeys(terms, query)
  let from = before
  if (candidates === null) {
    // Every clause is in many messages: the newest messages hold the page (scan them).
    const oneWord = query.clauses.length === 1 && query.clauses[0]!.every((p) => p.length === 1)
    const budget = oneWord ? SCAN_BUDGET.oneWord : SCAN_BUDGET.more
    const scanned = await scanNewest(store, opts.roomId, before, accept, limit, found, budget)
    if (found.length >= limit || scanned === null) return withRoomNames(tx, query, found)
    from = scanned
  }
  // The index's keys for the clauses it read whole, intersected, then the newest checked first.
  const keys = (candidates ?? (await candidateKeys(terms, query, Infinity)) ?? [])
    .filter((k) => (opts.roomId === undefined || k[1] === opts.roomId) && (!from || newerKey(from, k) < 0))
    .sort(newerKey)
  for (let at = 0; at < keys.length && found.length < limit; ) {
    // Read a page's worth at a time (all requests at once), check each against the whole query.
    const chunk = keys.slice(at, at + Math.max(limit - found.length, 8))
    at += chunk.length
    const records = await Promise.all(chunk.map((k) => store.get(k)))
    for (const record of records) if (found.length < limit && accept(record)) found.push(record)
  }
  return withRoomNames(tx, query, found)
}

type SearchTx = IDBPTransaction<FerryDB, ('search' | 'rooms')[], 'readonly'>

async function withRoomNames(tx: SearchTx, query: ParsedQuery, found: readonly SearchRecord[]): Promise<SearchHit[]> {
  const rooms = new Map<string, string>()
  await Promise.all(
    [...new Set(found.map((r) => r.roomId))].map(async (roomId) => {
      const room: unknown = await tx.objectStore('rooms').get(roomId)
      const name = (room as { name?: unknown } | undefined)?.name
      rooms.set(roomId, typeof name === 'string' ? name : '')
    }),
  )
  return found.map((r) => ({
    roomId: r.roomId,
    roomName: rooms.get(r.roomId) ?? '',
    seq: r.seq,
    authorId: r.authorId,
    authorName: r.authorName,
    createdAt: r.at,
    edited: r.edited,
    snippet: snippet(query, r.text),
  }))
}

type TermIndex = IDBPIndex<FerryDB, ('search' | 'rooms')[], 'search', 'by-term', 'readonly'>
type SearchStore = IDBPObjectStore<FerryDB, ('search' | 'rooms')[], 'search', 'readonly'>

/**
 * Above this many index entries for the query's rarest clause, the newest
 * messages are scanned instead: a page then fills within the first few
 * hundred records, where reading every candidate's key would take longer
 * (docs/SEARCH.md "On the device", the bench's common word and 1-letter prefix).
 */
const SCAN_ABOVE = 400
/**
 * Records a scan reads before it hands over to the index: one word common
 * alone fills a page well within it; several words or a phrase, each common
 * but rare together, get a short try (bench: "delivery truck", "depot gate").
 */
const SCAN_BUDGET = { oneWord: 600, more: 100 }
/** Records a scan reads per request. */
const SCAN_BATCH = 50

const rangeOf = (word: string, prefix: boolean) =>
  prefix ? IDBKeyRange.bound(word, `${word}\uffff`) : IDBKeyRange.only(word)

const isPrefixAlternative = (query: ParsedQuery, ci: number, ai: number, alternatives: number) =>
  query.prefix && ci === query.clauses.length - 1 && ai === alternatives - 1

/**
 * Reads records newest first (one room's through its `by-message` index,
 * seq order being time order in a room), keeping those `accept` takes, until
 * the page is full or the budget spent. Returns the key of the last record
 * read (the index takes over below it), or null when nothing older is left.
 */
async function scanNewest(
  store: SearchStore,
  roomId: string | undefined,
  before: Key | null,
  accept: (record: unknown) => record is SearchRecord,
  limit: number,
  found: SearchRecord[],
  budget: number,
): Promise<Key | null> {
  const byMessage = store.index('by-message')
  // The newest first, SCAN_BATCH at a time: a key cursor steps back over a batch in one request
  // (`advance`), one getAll reads it; three requests per batch instead of one per record.
  let upper: IDBValidKey | null = roomId ? [roomId, before && before[1] === roomId ? before[2] : Infinity] : before
  const lower: IDBValidKey | null = roomId ? [roomId, -Infinity] : null
  let read = 0
  let last: Key | null = null
  while (read < budget) {
    const range = rangeBetween(lower, upper)
    const source = roomId ? byMessage : store
    const cursor = await source.openKeyCursor(range, 'prev')
    if (!cursor) return null
    const lowest = await cursor.advance(SCAN_BATCH - 1)
    const batch = await source.getAll(lowest ? rangeBetween(lowest.key, upper) : range)
    for (let i = batch.length - 1; i >= 0; i--) {
      const record: unknown = batch[i]
      read += 1
      if (!isRecord(record)) continue
      last = [record.at, record.roomId, record.seq]
      if ((!before || newerKey(before, last) < 0) && accept(record)) found.push(record)
      if (found.length >= limit) return last
    }
    if (!lowest) return null
    upper = lowest.key
  }
  return last
}

/** Keys from `lower` (inclusive; any when null) up to below `upper` (any when null). */
function rangeBetween(lower: IDBValidKey | null, upper: IDBValidKey | null): IDBKeyRange | null {
  if (lower !== null && upper !== null) return IDBKeyRange.bound(lower, upper, false, true)
  if (upper !== null) return IDBKeyRange.upperBound(upper, true)
  if (lower !== null) return IDBKeyRange.lowerBound(lower)
  return null
}

/** A lookup's keys; `complete` unless the read stopped at its cap (the word is in more records). */
interface KeySet {
  keys: Map<string, Key>
  complete: boolean
}

/**
 * Keys of the records holding every clause's words (a clause: any of its
 * alternatives; a phrase: all its words, adjacency checked later), or null
 * when no clause is rarer than `cap` index entries (then scanning the newest
 * records is cheaper). Each lookup reads at most `cap + 1` keys, so a common
 * word costs no more than a rare one; a clause read only in part is left out
 * of the intersection (a superset: every candidate is checked with `matches`).
 */
async function candidateKeys(index: TermIndex, query: ParsedQuery, cap = SCAN_ABOVE): Promise<Key[] | null> {
  const lookups = new Map<string, Promise<KeySet>>()
  const lookup = (word: string, prefix: boolean) => {
    const id = `${prefix ? 'p' : 'w'}:${word}`
    let found = lookups.get(id)
    if (!found) {
      const count = Number.isFinite(cap) ? cap + 1 : undefined
      found = index.getAllKeys(rangeOf(word, prefix), count).then((keys) => ({
        keys: new Map(keys.map((k) => [keyString(k), k])),
        complete: count === undefined || keys.length < count,
      }))
      lookups.set(id, found)
    }
    return found
  }
  const clauseSets = await Promise.all(
    query.clauses.map(async (alternatives, ci): Promise<KeySet> => {
      const sets = await Promise.all(
        alternatives.map(async (phrase, ai): Promise<KeySet> => {
          const last = isPrefixAlternative(query, ci, ai, alternatives.length)
          const perWord = await Promise.all(phrase.map((word, k) => lookup(word, last && k === phrase.length - 1)))
          const whole = perWord.filter((set) => set.complete).map((set) => set.keys)
          return { keys: intersect(whole), complete: whole.length > 0 }
        }),
      )
      const union = new Map<string, Key>()
      for (const set of sets) for (const [id, key] of set.keys) union.set(id, key)
      return { keys: union, complete: sets.every((set) => set.complete) && union.size <= cap }
    }),
  )
  const whole = clauseSets.filter((set) => set.complete).map((set) => set.keys)
  return whole.length === 0 ? null : [...intersect(whole).values()]
}

function intersect(sets: readonly Map<string, Key>[]): Map<string, Key> {
  if (sets.length === 0) return new Map()
  const [smallest, ...rest] = [...sets].sort((a, b) => a.size - b.size)
  if (rest.length === 0) return smallest!
  const out = new Map<string, Key>()
  for (const [id, key] of smallest!) if (rest.every((s) => s.has(id))) out.set(id, key)
  return out
}
