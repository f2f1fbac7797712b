/**
 * Issue 7 item 9: HTTP requests of the resume that never answer. Each gives
 * up after its timeout, is retried with backoff, and in the end releases its
 * room, so the status leaves "Catching up…" and a later fill can run.
 */
import { describe, expect, it, vi } from 'vitest'
import { REQUEST_TIMEOUT_MS } from '../../client/api/http.ts'
import { newestEntries } from '../../client/db/messages.ts'
import { replaceRooms } from '../../client/db/rooms.ts'
import type { RoomEvent } from '../../shared/schemas.ts'
import { event, ROOM_A } from './support.ts'
import {
  elapse,
  expectSubscribed,
  type Reply,
  room,
  startEngine,
  until,
  upToDate,
  useEngineHarness,
} from './sync-harness.ts'

const log = (n: number): RoomEvent[] => Array.from({ length: n }, (_, i) => event(ROOM_A, i + 1))

/** Three tries of the timeout each, plus the backoff pauses between them (capped well below this). */
const ALL_TRIES_MS = 3 * REQUEST_TIMEOUT_MS + 10_000

function eventsReply(serverLog: RoomEvent[], url: URL): Reply {
  const after = Number(url.searchParams.get('after'))
  return { body: { events: serverLog.filter((e) => e.seq > after), hasMore: false, lastSeq: serverLog.length } }
}

useEngineHarness()

describe('a gap fetch that never answers', () => {
  it('is retried, then releases the room, asks the socket for the hole instead, and a later fill runs', async () => {
    vi.spyOn(console, 'warn').mockImplementation(() => undefined)
    const serverLog = log(6)
    let eventsAnswer: 'hang' | 'answer' = 'hang'
    const h = await startEngine((url) => {
      if (url.pathname === '/api/rooms') return { body: { rooms: [room] } }
      if (url.pathname.endsWith('/events')) return eventsAnswer === 'hang' ? 'hang' : eventsReply(serverLog, url)
      return { body: {}, status: 404 }
    })
    await until(() => expectSubscribed(h.socket(), 0))
    h.socket().push({ type: 'events', roomId: ROOM_A, events: serverLog.slice(0, 2) })
    h.socket().push({ type: 'caught_up', roomId: ROOM_A, lastSeq: 2 })
    await until(() => expect(upToDate(h.status())).toBe(true))

    // A live event skips ahead: the hole 3–5 is fetched over HTTP, which hangs.
    h.socket().push({ type: 'events', roomId: ROOM_A, events: [serverLog[5]!] })
    await until(() => expect(h.fetched.filter((u) => u.includes('/events'))).toHaveLength(1))
    expect(h.status().catchingUp).toBe(1)

    await elapse(ALL_TRIES_MS)
    expect(h.fetched.filter((u) => u.includes('/events'))).toHaveLength(3)
    // HTTP gave up; the socket still lives, so the room is resumed over it from its cursor.
    expectSubscribed(h.socket(), 2)
    h.socket().push({ type: 'events', roomId: ROOM_A, events: serverLog.slice(2, 5) })
    h.socket().push({ type: 'caught_up', roomId: ROOM_A, lastSeq: 6 })
    await until(async () =>
      expect((await newestEntries(h.db, ROOM_A, 10)).map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6]),
    )
    await until(() => expect(upToDate(h.status())).toBe(true))

    // The room is free again: the next hole is fetched (and this time answered).
    eventsAnswer = 'answer'
    serverLog.push(event(ROOM_A, 7), event(ROOM_A, 8))
    h.socket().push({ type: 'events', roomId: ROOM_A, events: [serverLog[7]!] })
    await until(async () =>
      expect((await newestEntries(h.db, ROOM_A, 10)).map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]),
    )
    await until(() => expect(upToDate(h.status())).toBe(true))
    expect(h.fetched.at(-1)).toContain('/events?after=6&')
  })

  it('after a reset, keeps "Catching up…" while the latest page hangs, and stops once the retries end', async () => {
    vi.spyOn(console, 'warn').mockImplementation(() => undefined)
    const h = await startEngine((url) => {
      if (url.pathname === '/api/rooms') return { body: { rooms: [room] } }
      return 'hang'
    })
    await until(() => expectSubscribed(h.socket(), 0))
    h.socket().push({ type: 'reset', roomId: ROOM_A, lastSeq: 900 })
    h.socket().push({ type: 'caught_up', roomId: ROOM_A, lastSeq: 900 })
    await until(() => expect(h.fetched.some((u) => u.includes('/messages'))).toBe(true))
    await elapse(REQUEST_TIMEOUT_MS)
    expect(h.status().catchingUp).toBe(1)
    await elapse(ALL_TRIES_MS)
    expect(h.fetched.filter((u) => u.includes('/messages'))).toHaveLength(3)
    await until(() => expect(upToDate(h.status())).toBe(true))
    expect(h.published.some((m) => m.type === 'room-reset')).toBe(true)
  })
})

describe('a room list that never answers', () => {
  it('is retried; a later answer is used to subscribe', async () => {
    let calls = 0
    const h = await startEngine((url) => {
      if (url.pathname === '/api/rooms') return ++calls === 1 ? 'hang' : { body: { rooms: [room] } }
      return { body: {}, status: 404 }
    })
    await elapse(REQUEST_TIMEOUT_MS + 2_000)
    await until(() => expectSubscribed(h.socket(), 0))
    expect(calls).toBe(2)
  })

  it('falls back to the cached rooms once every try failed', async () => {
    vi.spyOn(console, 'warn').mockImplementation(() => undefined)
    const h = await startEngine(
      () => 'hang',
      (db) => replaceRooms(db, [room]),
    )
    await elapse(ALL_TRIES_MS)
    await until(() => expectSubscribed(h.socket(), 0))
    expect(h.fetched.filter((u) => u === '/api/rooms')).toHaveLength(3)
  })
})
