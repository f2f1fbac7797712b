/**
 * The search state (issue 12): typing waits for a pause before the server is asked, a newer query
 * aborts the older one's request and its answer is never shown; online the server's hits are merged
 * with the device's, offline or when the server fails the device answers alone (source 'device').
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { SEARCH_DEBOUNCE_MS } from '../../client/search/server.ts'
import { deviceIndexComplete, searchDevice } from '../../client/search/sources.ts'
import {
  loadMore,
  openSearch,
  search,
  searchNow,
  setScope,
  setSort,
  stopSearch,
  typeQuery,
} from '../../client/state/search.ts'
import { status } from '../../client/state/store.ts'
import type { SearchHit } from '../../shared/search/contract.ts'
import { FIXTURE_TIME, ROOM_A, ROOM_B } from './support.ts'

vi.mock('../../client/search/sources.ts', async (original) => ({
  ...(await original<typeof import('../../client/search/sources.ts')>()),
  searchDevice: vi.fn(async () => []),
  deviceIndexComplete: vi.fn(async () => true),
}))
const device = vi.mocked(searchDevice)
const indexComplete = vi.mocked(deviceIndexComplete)

const hit = (roomId: string, seq: number, text = `depot ${seq}`): SearchHit => ({
  roomId,
  roomName: roomId === ROOM_A ? 'Depot' : 'Quay',
  seq,
  authorId: null,
  authorName: 'ann',
  createdAt: new Date(FIXTURE_TIME + seq * 1000).toISOString(),
  edited: false,
  snippet: { text, ranges: [[0, 5]], cutStart: false, cutEnd: false },
})

const json = (body: unknown, code = 200) =>
  new Response(JSON.stringify(body), { status: code, headers: { 'content-type': 'application/json' } })

interface Asked {
  url: URL
  signal: AbortSignal | undefined
  answer: (response: Response) => void
}

/** A fetch whose answers the test gives, one request at a time. */
function heldFetch(): Asked[] {
  const asked: Asked[] = []
  vi.stubGlobal('fetch', (path: string, init?: RequestInit) => {
    return new Promise<Response>((resolve) => {
      asked.push({ url: new URL(path, 'http://ferry.test'), signal: init?.signal ?? undefined, answer: resolve })
    })
  })
  return asked
}

/** Lets every answer given so far reach the state (setImmediate is a real macrotask: only setTimeout is faked). */
const settle = async () => {
  await vi.dynamicImportSettled()
  for (let i = 0; i < 10; i++) await new Promise<void>((resolve) => setImmediate(resolve))
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
  status.value = { socket: 'open', retryAt: null, catchingUp: 0, offline: false }
  device.mockReset()
  device.mockResolvedValue([])
  indexComplete.mockReset()
  indexComplete.mockResolvedValue(true)
  openSearch('', null, 'all')
})
afterEach(() => {
  stopSearch()
  vi.useRealTimers()
  vi.unstubAllGlobals()
})

describe('typing', () => {
  it('asks the server once, after the pause that follows the last keystroke', async () => {
    const asked = heldFetch()
    for (const q of ['d', 'de', 'dep', 'depo', 'depot']) {
      typeQuery(q)
      await vi.advanceTimersByTimeAsync(SEARCH_DEBOUNCE_MS - 1)
    }
    expect(asked).toHaveLength(0)
    await vi.advanceTimersByTimeAsync(1)
    expect(asked).toHaveLength(1)
    expect(asked[0]!.url.pathname).toBe('/api/search')
    expect(asked[0]!.url.searchParams.get('q')).toBe('depot')
    expect(asked[0]!.url.searchParams.get('roomId')).toBeNull()
    expect(search.value.loading).toBe(true)
    asked[0]!.answer(json({ hits: [hit(ROOM_A, 3)], nextCursor: null }))
    await settle()
    expect(search.value).toMatchObject({ answered: 'depot', loading: false, source: 'server', error: null })
    expect(search.value.hits.map((h) => h.seq)).toEqual([3])
  })

  it('aborts the request of a query typed past, and never shows its answer', async () => {
    const asked = heldFetch()
    typeQuery('depot')
    await vi.advanceTimersByTimeAsync(SEARCH_DEBOUNCE_MS)
    typeQuery('depot gate')
    // The older request is given up at the first keystroke after it, before the pause ends.
    expect(asked[0]!.signal?.aborted).toBe(true)
    await vi.advanceTimersByTimeAsync(SEARCH_DEBOUNCE_MS)
    expect(asked).toHaveLength(2)
    expect(asked[1]!.signal?.aborted).toBe(false)
    // The older answer arrives anyway (a fetch that ignored its signal): dropped.
    asked[0]!.answer(json({ hits: [hit(ROOM_A, 1)], nextCursor: null }))
    await settle()
    expect(search.value.hits).toEqual([])
    asked[1]!.answer(json({ hits: [hit(ROOM_A, 2, 'depot gate')], nextCursor: null }))
    await settle()
    expect(search.value.answered).toBe('depot gate')
    expect(search.value.hits.map((h) => h.seq)).toEqual([2])
  })

  it('sends the query as typed, so a last word still being typed is a prefix and one followed by a space is not', async () => {
    const asked = heldFetch()
    typeQuery('depot ')
    await vi.advanceTimersByTimeAsync(SEARCH_DEBOUNCE_MS)
    expect(asked[0]!.url.searchParams.get('q')).toBe('depot ')
  })

  it('an empty box clears the results at once, and asks nobody', async () => {
    const asked = heldFetch()
    typeQuery('depot')
    void searchNow()
    await settle()
    asked[0]!.answer(json({ hits: [hit(ROOM_A, 3)], nextCursor: null }))
    await settle()
    typeQuery('   ')
    expect(search.value).toMatchObject({ hits: [], answered: null, loading: false, source: null })
    await vi.advanceTimersByTimeAsync(SEARCH_DEBOUNCE_MS * 2)
    expect(asked).toHaveLength(1)
    expect(device).toHaveBeenCalledTimes(1)
  })

  it('a query of operators only has no word to look for: no results, nobody asked', async () => {
    const asked = heldFetch()
    for (const q of ['---', '""', '-depot', 'or']) {
      typeQuery(q)
      await searchNow()
      expect(search.value).toMatchObject({ answered: q, hits: [], loading: false, error: null })
    }
    expect(asked).toHaveLength(0)
    expect(device).not.toHaveBeenCalled()
  })
})

describe('server and device', () => {
  it('online: the server wins, the device adds what the server did not have, newest first; scope one room', async () => {
    const asked = heldFetch()
    device.mockResolvedValue([hit(ROOM_A, 5, 'depot from device'), hit(ROOM_A, 9)])
    openSearch('depot', ROOM_A, 'room')
    await settle()
    expect(asked[0]!.url.searchParams.get('roomId')).toBe(ROOM_A)
    expect(device).toHaveBeenCalledWith('depot', { roomId: ROOM_A, limit: 20 })
    asked[0]!.answer(json({ hits: [hit(ROOM_A, 5, 'depot from server')], nextCursor: null }))
    await settle()
    expect(search.value.source).toBe('both')
    expect(search.value.hits.map((h) => [h.seq, h.snippet.text])).toEqual([
      [9, 'depot 9'],
      [5, 'depot from server'],
    ])
    setScope('all')
    await settle()
    expect(asked[1]!.url.searchParams.get('roomId')).toBeNull()
    expect(device).toHaveBeenLastCalledWith('depot', { limit: 20 })
  })

  it('while the server has more pages, a device hit older than its last one waits for the page that reaches it', async () => {
    const asked = heldFetch()
    device.mockResolvedValue([hit(ROOM_B, 1)])
    openSearch('depot', null, 'all')
    await settle()
    asked[0]!.answer(json({ hits: [hit(ROOM_A, 10), hit(ROOM_A, 8)], nextCursor: 'next-1' }))
    await settle()
    expect(search.value.hits.map((h) => h.seq)).toEqual([10, 8])
    expect(search.value.nextCursor).toBe('next-1')
    const more = loadMore()
    await settle()
    expect(asked[1]!.url.searchParams.get('cursor')).toBe('next-1')
    asked[1]!.answer(json({ hits: [hit(ROOM_A, 4)], nextCursor: null }))
    await more
    expect(search.value.hits.map((h) => h.seq)).toEqual([10, 8, 4, 1])
    expect(search.value).toMatchObject({ nextCursor: null, source: 'both', loadingMore: false })
  })

  it('offline: the device alone answers, and the server is not asked', async () => {
    const asked = heldFetch()
    status.value = { ...status.value, socket: 'waiting', offline: true }
    device.mockResolvedValue([hit(ROOM_A, 2)])
    openSearch('depot', null, 'all')
    await settle()
    expect(asked).toHaveLength(0)
    expect(device).toHaveBeenCalledWith('depot', { limit: 50 })
    expect(search.value).toMatchObject({ source: 'device', error: null, loading: false, answered: 'depot' })
    expect(search.value.hits.map((h) => h.seq)).toEqual([2])
  })

  it('offline, while the device still indexes older messages: it answers from what is indexed and says so', async () => {
    heldFetch()
    status.value = { ...status.value, socket: 'waiting', offline: true }
    device.mockResolvedValue([hit(ROOM_A, 2)])
    indexComplete.mockResolvedValue(false)
    openSearch('depot', null, 'all')
    await settle()
    expect(search.value).toMatchObject({ source: 'device', deviceIndexing: true, loading: false })
    expect(search.value.hits.map((h) => h.seq)).toEqual([2])
    // The fill ended: the next answer says nothing of it.
    indexComplete.mockResolvedValue(true)
    await searchNow()
    expect(search.value).toMatchObject({ source: 'device', deviceIndexing: false })
  })

  it('offline: a full page from the device offers more, asked after its last hit', async () => {
    heldFetch()
    status.value = { ...status.value, socket: 'waiting', offline: true }
    const page = Array.from({ length: 50 }, (_, i) => hit(ROOM_A, 100 - i))
    device.mockResolvedValueOnce(page).mockResolvedValueOnce([hit(ROOM_A, 50), hit(ROOM_A, 49)])
    openSearch('depot', null, 'all')
    await settle()
    expect(search.value).toMatchObject({ source: 'device', deviceMore: true, nextCursor: null })
    await loadMore()
    const last = page.at(-1)!
    expect(device).toHaveBeenLastCalledWith('depot', {
      limit: 50,
      before: { createdAt: last.createdAt, roomId: ROOM_A, seq: 51 },
    })
    expect(search.value.hits.map((h) => h.seq)).toEqual([...page.map((h) => h.seq), 50, 49])
    expect(search.value.deviceMore).toBe(false)
  })

  it('no answer from the server (offline before the status knows): the device answers, no error', async () => {
    vi.stubGlobal('fetch', async () => {
      throw new TypeError('Failed to fetch')
    })
    device.mockResolvedValue([hit(ROOM_A, 2)])
    openSearch('depot', null, 'all')
    await settle()
    expect(search.value).toMatchObject({ source: 'device', error: null, loading: false })
    expect(search.value.hits).toHaveLength(1)
  })

  it('the server fails: the device answers, the reason shows, and Retry asks the server again', async () => {
    const asked = heldFetch()
    device.mockResolvedValue([hit(ROOM_A, 2)])
    openSearch('depot', null, 'all')
    await settle()
    asked[0]!.answer(json({ error: { code: 'internal', message: 'Something went wrong' } }, 500))
    await settle()
    expect(search.value).toMatchObject({ source: 'device', loading: false })
    expect(search.value.error).toBe('The server could not search: Something went wrong')
    expect(search.value.hits).toHaveLength(1)
    const again = searchNow()
    await settle()
    asked[1]!.answer(json({ hits: [hit(ROOM_A, 3)], nextCursor: null }))
    await again
    expect(search.value).toMatchObject({ source: 'both', error: null })
  })

  it('a server answer that does not match the contract is not shown', async () => {
    const asked = heldFetch()
    openSearch('depot', null, 'all')
    await settle()
    asked[0]!.answer(json({ hits: [{ ...hit(ROOM_A, 1), snippet: '<b>depot</b>' }], nextCursor: null }))
    await settle()
    expect(search.value.hits).toEqual([])
    expect(search.value.source).toBe('device')
    expect(search.value.error).toMatch(/^The server could not search/)
  })

  it('both fail: an error and no results', async () => {
    const asked = heldFetch()
    device.mockRejectedValue(new Error('IndexedDB is gone'))
    vi.spyOn(console, 'warn').mockImplementation(() => undefined)
    openSearch('depot', null, 'all')
    await settle()
    asked[0]!.answer(json({ error: { code: 'overloaded', message: 'Busy' } }, 503))
    await settle()
    expect(search.value).toMatchObject({ hits: [], loading: false, error: 'The server could not search: Busy' })
  })

  it('opening the same search again (Back from a result) keeps what is shown and asks nobody', async () => {
    const asked = heldFetch()
    openSearch('depot', null, 'all')
    await settle()
    asked[0]!.answer(json({ hits: [hit(ROOM_A, 3)], nextCursor: null }))
    await settle()
    openSearch('depot', null, 'all')
    await settle()
    expect(asked).toHaveLength(1)
    expect(search.value.hits).toHaveLength(1)
  })

  it('opening the same search with another sort asks again', async () => {
    const asked = heldFetch()
    openSearch('depot', null, 'all')
    await settle()
    asked[0]!.answer(json({ hits: [hit(ROOM_A, 3)], nextCursor: null }))
    await settle()
    openSearch('depot', null, 'all', 'relevance')
    await settle()
    expect(asked).toHaveLength(2)
    expect(asked[1]!.url.searchParams.get('sort')).toBe('relevance')
    expect(search.value.sort).toBe('relevance')
  })
})

describe('best match', () => {
  it('newest first asks without a sort (the default of the server)', async () => {
    const asked = heldFetch()
    openSearch('depot', null, 'all')
    await settle()
    expect(asked[0]!.url.searchParams.get('sort')).toBeNull()
    expect(search.value.sort).toBe('recent')
  })

  it('asks with sort=relevance, keeps the order of the server, and adds the hits only the device found after it, newest first', async () => {
    const asked = heldFetch()
    // The device found 5 (the server has it too), 9 and 7 (only the device): never interleaved with the server's rank.
    device.mockResolvedValue([hit(ROOM_A, 9), hit(ROOM_A, 7), hit(ROOM_A, 5, 'depot from device')])
    openSearch('depot', null, 'all', 'relevance')
    await settle()
    expect(asked[0]!.url.searchParams.get('sort')).toBe('relevance')
    asked[0]!.answer(
      json({ hits: [hit(ROOM_A, 2), hit(ROOM_A, 5, 'depot from server'), hit(ROOM_B, 8)], nextCursor: null }),
    )
    await settle()
    expect(search.value.hits.map((h) => [h.seq, h.snippet.text])).toEqual([
      [2, 'depot 2'],
      [5, 'depot from server'],
      [8, 'depot 8'],
      [9, 'depot 9'],
      [7, 'depot 7'],
    ])
    expect(search.value).toMatchObject({ source: 'both', sort: 'relevance', loading: false })
  })

  it('paging keeps the sort; hits only the device found wait below the last page of the server', async () => {
    const asked = heldFetch()
    device.mockResolvedValue([hit(ROOM_B, 20), hit(ROOM_A, 4)])
    openSearch('depot', null, 'all', 'relevance')
    await settle()
    asked[0]!.answer(json({ hits: [hit(ROOM_A, 1), hit(ROOM_A, 10)], nextCursor: 'rel-1' }))
    await settle()
    // More to come from the server: nothing of the device's yet, whatever its time.
    expect(search.value.hits.map((h) => h.seq)).toEqual([1, 10])
    expect(search.value.source).toBe('server')
    const more = loadMore()
    await settle()
    expect(asked[1]!.url.searchParams.get('cursor')).toBe('rel-1')
    expect(asked[1]!.url.searchParams.get('sort')).toBe('relevance')
    asked[1]!.answer(json({ hits: [hit(ROOM_A, 4), hit(ROOM_A, 30)], nextCursor: null }))
    await more
    expect(search.value.hits.map((h) => h.seq)).toEqual([1, 10, 4, 30, 20])
    expect(search.value).toMatchObject({ source: 'both', nextCursor: null })
  })

  it('changing the sort asks again with it; offline the device answers newest first whatever the sort', async () => {
    const asked = heldFetch()
    openSearch('depot', null, 'all')
    await settle()
    asked[0]!.answer(json({ hits: [], nextCursor: null }))
    await settle()
    setSort('relevance')
    await settle()
    expect(asked).toHaveLength(2)
    expect(asked[1]!.url.searchParams.get('sort')).toBe('relevance')
    setSort('relevance')
    expect(asked).toHaveLength(2)
    status.value = { ...status.value, socket: 'waiting', offline: true }
    device.mockResolvedValue([hit(ROOM_A, 9), hit(ROOM_A, 2)])
    await searchNow()
    expect(asked).toHaveLength(2)
    expect(search.value).toMatchObject({ source: 'device', sort: 'relevance' })
    expect(search.value.hits.map((h) => h.seq)).toEqual([9, 2])
  })
})
