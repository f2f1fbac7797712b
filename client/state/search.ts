/**
 * The search of messages (issue 12), as the search screen (ui/Search.tsx) shows it. Online, the
 * server's hits (search/server.ts) merged with the device's (search/sources.ts: server wins,
 * duplicates by (roomId, seq) removed), newest first; or, sorted by best match, in the server's
 * order with the hits only the device found after them, newest first (a rank from the server cannot
 * be compared with the device's). Offline, or when the server fails, the device's alone, newest
 * first whatever the sort, and the screen says "Searching messages on this device". Typing waits SEARCH_DEBOUNCE_MS before
 * asking; a newer query aborts the request of the one it replaces, and an answer to an older
 * query is never shown.
 */
import { signal } from '@preact/signals'
import { hitKey, SEARCH_LIMITS, type SearchHit, type SearchSource } from '../../shared/search/contract.ts'
import { parseQuery } from '../../shared/search/text.ts'
import { ApiError, isAbort } from '../api/http.ts'
import { SEARCH_DEBOUNCE_MS, searchServer } from '../search/server.ts'
import { deviceIndexComplete, mergeHits, searchDevice } from '../search/sources.ts'
import { status } from './store.ts'

export type SearchScope = 'room' | 'all'
/** Newest first (the default), or best match: the server's relevance order. */
export type SearchSort = 'recent' | 'relevance'

export interface SearchState {
  /** What the search box holds, as typed. */
  query: string
  /** The room the search was opened from (its scope "this room"); null from the room list. */
  roomId: string | null
  scope: SearchScope
  /** Asked of the server; the device answers newest first whatever this says. */
  sort: SearchSort
  /** The query (trimmed) the shown hits answer; null before any answer (or for an empty box). */
  answered: string | null
  hits: SearchHit[]
  /** An answer to the current query is on its way. */
  loading: boolean
  loadingMore: boolean
  /** Why the last search failed (the server's reason, or the device's), for the screen to show with Retry. */
  error: string | null
  /** Who answered: the server (and maybe the device beside it), or the device alone. */
  source: SearchSource | null
  /** The server's next page, when there is one. */
  nextCursor: string | null
  /** The device answered alone and may hold more than the page it gave (it pages by its last hit). */
  deviceMore: boolean
  /** The device answered alone while its index still lacked older cached messages (search/fill.ts). */
  deviceIndexing: boolean
}

const idle = (query: string, roomId: string | null, scope: SearchScope, sort: SearchSort): SearchState => ({
  query,
  roomId,
  scope,
  sort,
  answered: null,
  hits: [],
  loading: false,
  loadingMore: false,
  error: null,
  source: null,
  nextCursor: null,
  deviceMore: false,
  deviceIndexing: false,
})

export const search = signal<SearchState>(idle('', null, 'all', 'recent'))

const set = (change: Partial<SearchState>) => {
  search.value = { ...search.peek(), ...change }
}

/** Bumped by every search started (or stopped): an answer for an older one is dropped. */
let generation = 0
let timer: ReturnType<typeof setTimeout> | null = null
let inFlight: AbortController | null = null
/** The device's hits of the current query, kept to merge with each page of the server's. */
let deviceHits: SearchHit[] = []
let serverHits: SearchHit[] = []

function cancel(): void {
  if (timer !== null) clearTimeout(timer)
  timer = null
  inFlight?.abort()
  inFlight = null
  generation++
}

const roomOf = (state: SearchState) => (state.scope === 'room' && state.roomId ? state.roomId : undefined)

/**
 * The server's hits with the device's it did not have. While the server has more pages, only the
 * device's hits as new as its last one so far: an older one would sit above what the next page brings.
 * Best match: the server's order kept, and the device's own hits after its last page, newest first.
 */
function shown(
  server: readonly SearchHit[],
  device: readonly SearchHit[],
  more: boolean,
  sort: SearchSort,
): SearchHit[] {
  if (sort === 'relevance') {
    if (more) return [...server]
    const had = new Set(server.map(hitKey))
    return [
      ...server,
      ...mergeHits(
        [],
        device.filter((hit) => !had.has(hitKey(hit))),
      ),
    ]
  }
  const oldest = server.at(-1)?.createdAt
  const inRange = more && oldest ? device.filter((hit) => hit.createdAt >= oldest) : device
  return mergeHits(server, inRange)
}

async function deviceAnswer(
  q: string,
  roomId: string | undefined,
  limit: number,
  before?: SearchHit,
): Promise<SearchHit[] | Error> {
  try {
    return await searchDevice(q, {
      ...(roomId ? { roomId } : {}),
      limit,
      ...(before ? { before: { createdAt: before.createdAt, roomId: before.roomId, seq: before.seq } } : {}),
    })
  } catch (error) {
    console.warn('[ferry] searching this device failed', error)
    return error instanceof Error ? error : new Error(String(error))
  }
}

/** True while the device's index still lacks older messages; false when it cannot tell. */
async function deviceIndexing(): Promise<boolean> {
  try {
    return !(await deviceIndexComplete())
  } catch {
    return false
  }
}

/** Asks now: the device, and the server unless offline. */
async function run(): Promise<void> {
  cancel()
  const ask = generation
  const state = search.peek()
  const q = state.query
  const trimmed = q.trim()
  deviceHits = []
  serverHits = []
  if (trimmed === '') {
    search.value = idle(q, state.roomId, state.scope, state.sort)
    return
  }
  if (parseQuery(q) === null) {
    // Only operators or punctuation: no word to look for, so nothing matches (nobody is asked).
    set({ answered: trimmed, hits: [], loading: false, error: null, source: null, nextCursor: null })
    return
  }
  const roomId = roomOf(state)
  set({ loading: true, loadingMore: false, error: null, deviceMore: false })
  const offline = status.peek().offline
  const deviceLimit = offline ? SEARCH_LIMITS.pageMax : SEARCH_LIMITS.pageDefault
  const device = deviceAnswer(q, roomId, deviceLimit)
  let serverProblem: string | null = null
  if (!offline) {
    const controller = new AbortController()
    inFlight = controller
    try {
      const page = await searchServer({ q, sort: state.sort, ...(roomId ? { roomId } : {}) }, controller.signal)
      const fromDevice = await device
      if (ask !== generation) return
      inFlight = null
      serverHits = page.hits
      deviceHits = fromDevice instanceof Error ? [] : fromDevice
      const hits = shown(serverHits, deviceHits, page.nextCursor !== null, state.sort)
      set({
        answered: trimmed,
        hits,
        loading: false,
        error: null,
        source: hits.length > page.hits.length ? 'both' : 'server',
        nextCursor: page.nextCursor,
      })
      return
    } catch (error) {
      if (ask !== generation || isAbort(error)) return
      inFlight = null
      // No answer is what offline looks like before the status knows: no error, the device answers.
      serverProblem = error instanceof ApiError && error.code === 'network' ? null : problemOf(error)
    }
  }
  const [fromDevice, indexing] = await Promise.all([device, deviceIndexing()])
  if (ask !== generation) return
  if (fromDevice instanceof Error) {
    set({
      answered: trimmed,
      hits: [],
      loading: false,
      error: serverProblem ?? 'Could not search the messages on this device.',
      source: 'device',
      nextCursor: null,
    })
    return
  }
  deviceHits = fromDevice
  set({
    answered: trimmed,
    hits: fromDevice,
    loading: false,
    error: serverProblem,
    source: 'device',
    nextCursor: null,
    deviceMore: fromDevice.length >= deviceLimit,
    deviceIndexing: indexing,
  })
}

function problemOf(error: unknown): string {
  if (error instanceof ApiError) return `The server could not search: ${error.message}`
  console.warn('[ferry] searching on the server failed', error)
  return 'The server could not search.'
}

/**
 * The screen opened on a query (its address): the state keeps what it has when it is for the same
 * query, scope and sort (Back from a result shows the same list at once), else searches now.
 */
export function openSearch(
  query: string,
  roomId: string | null,
  scope: SearchScope,
  sort: SearchSort = 'recent',
): void {
  const state = search.peek()
  const same = state.query === query && state.roomId === roomId && state.scope === scope && state.sort === sort
  if (same && (state.answered !== null || state.loading || timer !== null) && !state.error) return
  search.value = { ...idle(query, roomId, scope, sort), hits: same ? state.hits : [] }
  void run()
}

/** The person typed: ask once they pause (an empty box clears the results at once). */
export function typeQuery(query: string): void {
  cancel()
  set({ query })
  if (query.trim() === '') {
    void run()
    return
  }
  const ask = generation
  timer = setTimeout(() => {
    timer = null
    if (ask === generation) void run()
  }, SEARCH_DEBOUNCE_MS)
}

/** Enter, Retry, or the connection came back: ask now. */
export function searchNow(): Promise<void> {
  return run()
}

export function setScope(scope: SearchScope): void {
  if (search.peek().scope === scope) return
  set({ scope })
  void run()
}

/** Newest first or best match: asks again (the server's cursor belongs to one sort). */
export function setSort(sort: SearchSort): void {
  if (search.peek().sort === sort) return
  set({ sort })
  void run()
}

/** The device's next page, after its last hit shown. */
async function moreFromDevice(state: SearchState): Promise<void> {
  const ask = generation
  set({ loadingMore: true, error: null })
  const page = await deviceAnswer(state.query, roomOf(state), SEARCH_LIMITS.pageMax, state.hits.at(-1))
  if (ask !== generation) return
  if (page instanceof Error) {
    set({ loadingMore: false, error: 'Could not search the messages on this device.' })
    return
  }
  const had = new Set(state.hits.map(hitKey))
  deviceHits = [...state.hits, ...page.filter((hit) => !had.has(hitKey(hit)))]
  set({ hits: deviceHits, loadingMore: false, deviceMore: page.length >= SEARCH_LIMITS.pageMax })
}

/** The next page: the server's, merged with the device's hits as far as it reaches; or the device's alone. */
export async function loadMore(): Promise<void> {
  const state = search.peek()
  if (state.loadingMore || state.loading) return
  if (state.source === 'device' && state.deviceMore) return moreFromDevice(state)
  if (!state.nextCursor) return
  const ask = generation
  const roomId = roomOf(state)
  const controller = new AbortController()
  inFlight = controller
  set({ loadingMore: true, error: null })
  try {
    const page = await searchServer(
      { q: state.query, cursor: state.nextCursor, sort: state.sort, ...(roomId ? { roomId } : {}) },
      controller.signal,
    )
    if (ask !== generation) return
    inFlight = null
    const had = new Set(serverHits.map(hitKey))
    serverHits = [...serverHits, ...page.hits.filter((hit) => !had.has(hitKey(hit)))]
    const hits = shown(serverHits, deviceHits, page.nextCursor !== null, state.sort)
    set({
      hits,
      loadingMore: false,
      nextCursor: page.nextCursor,
      source: hits.length > serverHits.length ? 'both' : 'server',
    })
  } catch (error) {
    if (ask !== generation || isAbort(error)) return
    inFlight = null
    const offline = error instanceof ApiError && error.code === 'network'
    set({ loadingMore: false, error: offline ? 'No connection: more results need the server.' : problemOf(error) })
  }
}

/** The screen closed: nothing pending answers into it (what it showed is kept for Back). */
export function stopSearch(): void {
  const wasLoading = search.peek().loading || search.peek().loadingMore
  cancel()
  if (wasLoading) set({ loading: false, loadingMore: false, answered: null })
}
