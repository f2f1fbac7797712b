/**
 * The server's subscribe limits (shared/limits.ts, server/realtime/frame-limits.ts):
 * a subscribe refused `rate_limited` (the error names no room) is sent again
 * after its `retryAfterMs`, with a backoff that grows and never loops tight;
 * its rooms count as catching up until they have caught up. Subscribes of
 * many rooms go out in frames of at most `subscribeMaxRooms`, paced to the
 * per-user room budget, never more than a socket may follow. Per-room errors
 * of a subscribe (`internal`: try again; `not_found`: gone) keep the status true.
 */
import { describe, expect, it, vi } from 'vitest'
import { newestEntries } from '../../client/db/messages.ts'
import { LIMITS } from '../../shared/limits.ts'
import type { ClientFrame } from '../../shared/protocol.ts'
import type { Room } from '../../shared/schemas.ts'
import { event, ROOM_A, ROOM_B } from './support.ts'
import {
  elapse,
  expectSubscribed,
  type FakeSocket,
  hello,
  type Reply,
  room,
  settle,
  startEngine,
  until,
  upToDate,
  useEngineHarness,
} from './sync-harness.ts'

useEngineHarness()

const roomId = (n: number) => `00000000-0000-4000-9000-${n.toString(16).padStart(12, '0')}`
const roomsReply =
  (list: Room[]) =>
  (url: URL): Reply =>
    url.pathname === '/api/rooms' ? { body: { rooms: list } } : { body: {}, status: 404 }

const subscribedRooms = (frames: ClientFrame[]) =>
  frames.flatMap((f) => (f.type === 'subscribe' ? f.rooms.map((r) => r.roomId) : []))

function refuse(socket: FakeSocket, retryAfterMs: number): void {
  socket.push({ type: 'error', code: 'rate_limited', message: 'Too many frames', retryAfterMs })
}

describe('a subscribe refused rate_limited', () => {
  it('is sent again after retryAfterMs, the room stays "Catching up" meanwhile, then catches up', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined)
    const h = await startEngine(roomsReply([room]))
    await until(() => expectSubscribed(h.socket(), 0))
    refuse(h.socket(), 3_000)
    await until(() => expect(warn).toHaveBeenCalled())
    expect(h.status().catchingUp).toBe(1)

    // Not before the server said it may be admitted.
    await elapse(2_500)
    expect(h.socket().frames('subscribe')).toHaveLength(1)
    expect(h.status().catchingUp).toBe(1)
    expect(upToDate(h.status())).toBe(false)

    await elapse(10_000)
    expect(h.socket().frames('subscribe')).toHaveLength(2)
    expectSubscribed(h.socket(), 0)
    h.socket().push({ type: 'events', roomId: ROOM_A, events: [event(ROOM_A, 1), event(ROOM_A, 2)] })
    h.socket().push({ type: 'caught_up', roomId: ROOM_A, lastSeq: 2 })
    await until(async () => expect((await newestEntries(h.db, ROOM_A, 10)).map((e) => e.seq)).toEqual([1, 2]))
    await until(() => expect(upToDate(h.status())).toBe(true))
  })

  it('backs off further on every refusal in a row (bounded, never a tight loop)', async () => {
    vi.spyOn(console, 'warn').mockImplementation(() => undefined)
    const h = await startEngine(roomsReply([room]))
    await until(() => expectSubscribed(h.socket(), 0))
    // A server that refuses every subscribe at once, with a tiny hint.
    const sentAt: number[] = []
    for (let round = 0; round < 8; round++) {
      const before = h.socket().frames('subscribe').length
      refuse(h.socket(), 1)
      await elapseUntil(() => h.socket().frames('subscribe').length > before)
      sentAt.push(h.socket().sentAt.at(-1)!)
    }
    const gaps = sentAt.slice(1).map((t, i) => t - sentAt[i]!)
    // Never faster than the floor, growing towards the cap, never beyond it.
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(250)
    for (const gap of gaps) expect(gap).toBeLessThanOrEqual(30_000 + 500)
    expect(gaps.at(-1)!).toBeGreaterThan(gaps[0]!)
    // One socket, one frame per retry: no frame bursts.
    expect(h.sockets).toHaveLength(1)
    expect(h.socket().frames('subscribe')).toHaveLength(9)
  })

  it('sends again only the rooms nothing was heard of yet', async () => {
    vi.spyOn(console, 'warn').mockImplementation(() => undefined)
    const b: Room = { ...room, id: ROOM_B, name: 'b' }
    const h = await startEngine(roomsReply([room, b]))
    await until(() => expect(subscribedRooms(h.socket().sent)).toHaveLength(2))
    h.socket().push({ type: 'caught_up', roomId: ROOM_A, lastSeq: 0 })
    refuse(h.socket(), 1_000)
    await elapse(40_000)
    const retries = h.socket().frames('subscribe').slice(1)
    expect(retries.length).toBeGreaterThanOrEqual(1)
    expect(retries[0]!.rooms.map((r) => r.roomId)).toEqual([ROOM_B])
    expect(h.status().catchingUp).toBe(1)
    h.socket().push({ type: 'caught_up', roomId: ROOM_B, lastSeq: 0 })
    await until(() => expect(upToDate(h.status())).toBe(true))
  })

  it('is forgotten with its socket: a fresh socket subscribes everything once', async () => {
    vi.spyOn(console, 'warn').mockImplementation(() => undefined)
    const h = await startEngine(roomsReply([room]))
    await until(() => expectSubscribed(h.socket(), 0))
    refuse(h.socket(), 5_000)
    const first = h.socket()
    first.onclose?.({ code: 1006 })
    await elapse(1_000)
    h.socket().open()
    h.socket().push(hello)
    await until(() => expectSubscribed(h.socket(), 0))
    await elapse(20_000)
    expect(first.frames('subscribe')).toHaveLength(1)
    expect(h.socket().frames('subscribe')).toHaveLength(1)
  })
})

describe('per-room errors of a subscribe', () => {
  it('internal: the room is subscribed again after a pause and catches up', async () => {
    vi.spyOn(console, 'warn').mockImplementation(() => undefined)
    const h = await startEngine(roomsReply([room]))
    await until(() => expectSubscribed(h.socket(), 0))
    h.socket().push({ type: 'error', code: 'internal', message: 'Could not subscribe; try again', roomId: ROOM_A })
    await elapse(40_000)
    expect(h.socket().frames('subscribe').length).toBeGreaterThanOrEqual(2)
    expect(h.status().catchingUp).toBe(1)
    h.socket().push({ type: 'caught_up', roomId: ROOM_A, lastSeq: 0 })
    await until(() => expect(upToDate(h.status())).toBe(true))
  })

  it('not_found: the room no longer counts as catching up and is not asked for again', async () => {
    vi.spyOn(console, 'warn').mockImplementation(() => undefined)
    const h = await startEngine(roomsReply([room]))
    await until(() => expectSubscribed(h.socket(), 0))
    h.socket().push({ type: 'error', code: 'not_found', message: 'No such room', roomId: ROOM_A })
    await until(() => expect(upToDate(h.status())).toBe(true))
    await elapse(40_000)
    expect(h.socket().frames('subscribe')).toHaveLength(1)
  })
})

describe('many rooms at once', () => {
  const many = (n: number): Room[] => Array.from({ length: n }, (_, i) => ({ ...room, id: roomId(i + 1) }))

  it('go out in frames of at most subscribeMaxRooms, each room once', async () => {
    const list = many(LIMITS.roomListMineMax)
    const h = await startEngine(roomsReply(list))
    await until(() => expect(subscribedRooms(h.socket().sent)).toHaveLength(list.length))
    for (const frame of h.socket().frames('subscribe')) {
      expect(frame.rooms.length).toBeLessThanOrEqual(LIMITS.subscribeMaxRooms)
    }
    expect(new Set(subscribedRooms(h.socket().sent)).size).toBe(list.length)
    expect(h.status().catchingUp).toBe(list.length)
  })

  it('keep to the per-user room budget across quick reconnects (paced, not refused)', async () => {
    const list = many(LIMITS.roomListMineMax)
    const h = await startEngine(roomsReply(list))
    const start = Date.now()
    const listed = () => h.published.filter((m) => m.type === 'rooms-changed').length
    // Five sockets in a row with the clock (nearly) standing still: 5 × 500 rooms, more than the burst.
    for (let i = 0; i < 5; i++) {
      if (i > 0) {
        h.socket().onclose?.({ code: 1006 })
        await vi.advanceTimersByTimeAsync(1)
        h.socket().open()
        h.socket().push(hello)
      }
      const before = i === 0 ? 0 : listed()
      await until(() => expect(listed()).toBeGreaterThan(before))
      // All of its rooms, unless the engine holds them back (then this gives up after a second of real time).
      await waitReal(() => subscribedRooms(h.socket().sent).length === list.length, 1_000)
    }
    const namedNow = h.sockets.reduce((sum, s) => sum + subscribedRooms(s.sent).length, 0)
    expect(Date.now() - start).toBeLessThan(100)
    expect(namedNow).toBeLessThanOrEqual(LIMITS.wsSubscribeRoomsBurst)

    // As time passes the rest goes out, and at no frame beyond the budget: the burst plus the refill since the start.
    await elapseUntil(() => subscribedRooms(h.socket().sent).length === list.length)
    const frames = h.sockets
      .flatMap((s) => s.sent.map((frame, i) => ({ frame, at: s.sentAt[i]! })))
      .filter(({ frame }) => frame.type === 'subscribe')
      .sort((x, y) => x.at - y.at)
    let named = 0
    for (const { frame, at } of frames) {
      named += frame.type === 'subscribe' ? frame.rooms.length : 0
      expect(named).toBeLessThanOrEqual(
        LIMITS.wsSubscribeRoomsBurst + (LIMITS.wsSubscribeRoomsPerSecond * (at - start)) / 1000,
      )
    }
    // The last socket still gets every room, each once.
    expect(new Set(subscribedRooms(h.socket().sent)).size).toBe(list.length)
  })
})

/** Waits on real time (the fake clock stands still) until `check` holds or `ms` have passed. */
async function waitReal(check: () => boolean, ms: number): Promise<void> {
  const deadline = performance.now() + ms
  while (!check() && performance.now() < deadline) await settle(5)
}

/**
 * Moves the fake clock in steps of 250 ms until `check` holds, letting the
 * database work between steps; gives up after 2 minutes on the fake clock
 * and 20 s of real time both.
 */
async function elapseUntil(check: () => boolean): Promise<void> {
  const deadline = performance.now() + 20_000
  for (let waited = 0; !check(); waited += 250) {
    if (waited > 120_000 && performance.now() > deadline) throw new Error('still not done after 2 minutes')
    await settle(20)
    if (check()) return
    await elapse(250, 250)
  }
}
