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
import { SEARCH_LIMITS, type SearchHit } from '../../shared/search/contract.ts'
import { matches, type ParsedQuery, parseQuery, snippet, words } from '../../shared/search/text.ts'
import { getDb } from '../db/page.ts'
import type { FerryDatabase, SearchRecord } from '../db/schema.ts'

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
    typeof r.text === 'string'
  )
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
  const candidates = await candidateKeys(store.index('by-term'), query)
  const before = opts.before ? ([opts.before.createdAt, opts.before.roomId, opts.before.seq] as Key) : null
  const keys = candidates
    .filter((k) => (opts.roomId === undefined || k[1] === opts.roomId) && (!before || newerKey(before, k) < 0))
    .sort(newerKey)
  const found: SearchRecord[] = []
  for (let at = 0; at < keys.length && found.length < limit; ) {
    // Read a page's worth at a time (all requests at once), check each against the whole query.
    const chunk = keys.slice(at, at + Math.max(limit - found.length, 8))
    at += chunk.length
    const records = await Promise.all(chunk.map((k) => store.get(k)))
    for (const record of records) {
      if (found.length < limit && isRecord(record) && matches(query, words(record.text))) found.push(record)
    }
  }
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

interface TermIndex {
  getAllKeys(range: IDBKeyRange | string): Promise<Key[]>
}

/**
 * Keys of the records holding every clause's words (a clause: any of its
 * alternatives; a phrase: all its words, adjacency checked later). The
 * query's prefix word reads a key range; each distinct lookup is read once.
 */
async function candidateKeys(index: TermIndex, query: ParsedQuery): Promise<Key[]> {
  const lookups = new Map<string, Promise<Map<string, Key>>>()
  const lookup = (word: string, prefix: boolean) => {
    const id = `${prefix ? 'p' : 'w'}:${word}`
    let found = lookups.get(id)
    if (!found) {
      const range = prefix ? IDBKeyRange.bound(word, `${word}\uffff`) : IDBKeyRange.only(word)
      found = index.getAllKeys(range).then((keys) => new Map(keys.map((k) => [keyString(k), k])))
      lookups.set(id, found)
    }
    return found
  }
  const clauseSets = await Promise.all(
    query.clauses.map(async (alternatives, ci) => {
      const union = new Map<string, Key>()
      const sets = await Promise.all(
        alternatives.map(async (phrase, ai) => {
          const last = query.prefix && ci === query.clauses.length - 1 && ai === alternatives.length - 1
          const perWord = await Promise.all(phrase.map((word, k) => lookup(word, last && k === phrase.length - 1)))
          return intersect(perWord)
        }),
      )
      for (const set of sets) for (const [id, key] of set) union.set(id, key)
      return union
    }),
  )
  return [...intersect(clauseSets).values()]
}

function intersect(sets: readonly Map<string, Key>[]): Map<string, Key> {
  if (sets.length === 0) return new Map()
  const [smallest, ...rest] = [...sets].sort((a, b) => a.size - b.size)
  if (rest.length === 0) return smallest!
  const out = new Map<string, Key>()
  for (const [id, key] of smallest!) if (rest.every((s) => s.has(id))) out.set(id, key)
  return out
}
