/**
 * `api()` against a server that hangs or answers nonsense: every request ends
 * within its timeout, and nothing that fails the route's shared schema
 * reaches the caller as data.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { ApiError, api, isTransient, REQUEST_TIMEOUT_MS } from '../../client/api/http.ts'
import type { RoomsResponse } from '../../shared/api.ts'
import { ROOM_A } from './support.ts'

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } })

/** Resolves with the error the promise rejects with (fails the test if it resolves). */
async function failure(promise: Promise<unknown>): Promise<ApiError> {
  try {
    await promise
  } catch (error) {
    expect(error).toBeInstanceOf(ApiError)
    return error as ApiError
  }
  throw new Error('expected the request to fail')
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] })
})
afterEach(() => {
  vi.useRealTimers()
  vi.unstubAllGlobals()
})

describe('timeouts', () => {
  it('aborts a request the server never answers, and says so as a network error', async () => {
    const signals: AbortSignal[] = []
    vi.stubGlobal('fetch', (_url: string, init: RequestInit) => {
      signals.push(init.signal!)
      return new Promise(() => undefined)
    })
    const pending = failure(api('GET', '/api/auth/me'))
    await vi.advanceTimersByTimeAsync(REQUEST_TIMEOUT_MS)
    const error = await pending
    expect(error.code).toBe('network')
    expect(error.message).toMatch(/within 10 s/)
    expect(signals[0]!.aborted).toBe(true)
    expect(isTransient(error)).toBe(true)
  })

  it('also ends a request whose headers came but whose body never finishes', async () => {
    vi.stubGlobal('fetch', async () => {
      const stalled = new ReadableStream({ start: (c) => c.enqueue(new TextEncoder().encode('{"rooms":[')) })
      return new Response(stalled, { status: 200 })
    })
    const pending = failure(api('GET', '/api/rooms'))
    await vi.advanceTimersByTimeAsync(REQUEST_TIMEOUT_MS)
    expect((await pending).code).toBe('network')
  })

  it('takes a shorter timeout when asked', async () => {
    vi.stubGlobal('fetch', () => new Promise(() => undefined))
    const pending = failure(api('GET', '/api/rooms', undefined, { timeoutMs: 2_000 }))
    await vi.advanceTimersByTimeAsync(2_000)
    expect((await pending).code).toBe('network')
  })
})

describe('responses checked against the shared schemas', () => {
  const room = {
    id: ROOM_A,
    name: 'general',
    visibility: 'public',
    ownerId: ROOM_A,
    createdAt: '2026-11-23T12:00:00.000Z',
    lastSeq: 3,
    role: 'owner',
    memberCount: 1,
    lastMessage: null,
    unreadCount: 0,
    lastReadSeq: 0,
  }

  it('returns a well-formed answer as it came', async () => {
    vi.stubGlobal('fetch', async () => json({ rooms: [room] }))
    expect(await api<RoomsResponse>('GET', '/api/rooms')).toEqual({ rooms: [room] })
  })

  it('checks a Discover page as one (its path is not a room id)', async () => {
    vi.stubGlobal('fetch', async () => json({ rooms: [room], hasMore: true }))
    expect(await api('GET', '/api/rooms/discover?q=kayak&limit=20')).toEqual({ rooms: [room], hasMore: true })
    vi.stubGlobal('fetch', async () => json({ room }))
    expect((await failure(api('GET', '/api/rooms/discover?q=kayak'))).code).toBe('bad_response')
  })

  const bad: Array<[string, string, unknown]> = [
    ['a body of another shape', '/api/rooms', { rooms: 'all of them' }],
    ['a missing field', '/api/rooms', { rooms: [{ ...room, lastSeq: undefined }] }],
    ['an extra field', '/api/auth/me', { user: { id: ROOM_A, username: 'ada', createdAt: '' }, admin: true }],
    ['a negative seq', `/api/rooms/${ROOM_A}/events?after=0`, { events: [], hasMore: false, lastSeq: -4 }],
    ['null', `/api/rooms/${ROOM_A}/messages`, null],
  ]
  it.each(bad)('refuses %s with bad_response (transient), never as data', async (_what, path, body) => {
    vi.stubGlobal('fetch', async () => json(body))
    const error = await failure(api('GET', path))
    expect(error.code).toBe('bad_response')
    expect(isTransient(error)).toBe(true)
  })

  it('refuses a body that is not JSON (an HTML error page from a proxy)', async () => {
    vi.stubGlobal('fetch', async () => new Response('<html>gateway</html>', { status: 200 }))
    expect((await failure(api('GET', '/api/rooms'))).code).toBe('bad_response')
  })

  it("passes the server's typed error on, and a malformed error body as internal with its status", async () => {
    vi.stubGlobal('fetch', async () => json({ error: { code: 'not_found', message: 'No such room' } }, 404))
    const typed = await failure(api('GET', `/api/rooms/${ROOM_A}`))
    expect([typed.status, typed.code, typed.message]).toEqual([404, 'not_found', 'No such room'])
    expect(isTransient(typed)).toBe(false)

    vi.stubGlobal('fetch', async () => json({ error: { code: 'made_up', message: 1 } }, 502))
    const odd = await failure(api('GET', `/api/rooms/${ROOM_A}`))
    expect([odd.status, odd.code]).toEqual([502, 'internal'])
    expect(isTransient(odd)).toBe(true)
  })

  it('refuses to call a route it has no response schema for', async () => {
    vi.stubGlobal('fetch', async () => json({}))
    await expect(api('GET', '/api/secret')).rejects.toThrow(/No response schema/)
  })
})
