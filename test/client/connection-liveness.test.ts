/**
 * The socket's liveness rules (docs/CLIENT.md): a link that passes no data is
 * noticed, a socket that never says hello is replaced, a closing socket does
 * not block a reconnect, and garbage from the server is never passed on.
 * Fake timers and a fake socket: nothing here waits for real time.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { Connection, LIVENESS, type SocketState } from '../../client/sync/connection.ts'
import type { ClientFrame, ServerFrame } from '../../shared/protocol.ts'
import { ALICE, ROOM_A } from './support.ts'

class FakeSocket {
  readyState = 0
  sent: ClientFrame[] = []
  closedWith: { code: number; reason: string } | null = null
  onopen: (() => void) | null = null
  onmessage: ((e: { data: unknown }) => void) | null = null
  onclose: ((e: { code: number }) => void) | null = null
  send(data: string) {
    this.sent.push(JSON.parse(data))
  }
  /** Like a browser on a dead link: the close handshake starts and never finishes (no onclose). */
  close(code: number, reason: string) {
    this.closedWith = { code, reason }
    this.readyState = 2
  }
  open() {
    this.readyState = 1
    this.onopen?.()
  }
  push(frame: ServerFrame) {
    this.onmessage?.({ data: JSON.stringify(frame) })
  }
  pushRaw(data: unknown) {
    this.onmessage?.({ data })
  }
  pings(): number[] {
    return this.sent.flatMap((f) => (f.type === 'ping' ? [f.id] : []))
  }
}

const hello: ServerFrame = {
  type: 'hello',
  userId: ALICE,
  username: 'alice',
  serverTime: '2026-11-23T12:00:00.000Z',
  limits: { sendRatePerSecond: 10, sendBurst: 30 },
}

interface Harness {
  conn: Connection
  sockets: FakeSocket[]
  states: SocketState[]
  frames: ServerFrame[]
  latest: () => FakeSocket
}

function harness(): Harness {
  const sockets: FakeSocket[] = []
  const states: SocketState[] = []
  const frames: ServerFrame[] = []
  const conn = new Connection(
    {
      onState: (state) => states.push(state),
      onFrame: (frame) => frames.push(frame),
      onSessionEnded: () => undefined,
    },
    {
      url: 'ws://ferry.test/api/ws',
      // No jitter: every reconnect is due at once, so the tests see attempts, not delays.
      random: () => 0,
      createSocket: () => {
        const socket = new FakeSocket()
        sockets.push(socket)
        return socket as unknown as WebSocket
      },
    },
  )
  return { conn, sockets, states, frames, latest: () => sockets.at(-1)! }
}

/** A started connection whose socket is open and greeted. */
function greeted(): Harness {
  const h = harness()
  h.conn.start()
  h.latest().open()
  h.latest().push(hello)
  return h
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] })
})
afterEach(() => {
  vi.useRealTimers()
  vi.restoreAllMocks()
})

describe('connection liveness', () => {
  it('pings after a silence, and declares a link that answers nothing dead without waiting for a close', () => {
    const h = greeted()
    vi.advanceTimersByTime(LIVENESS.idlePingMs - 1)
    expect(h.latest().pings()).toEqual([])
    vi.advanceTimersByTime(1)
    expect(h.latest().pings()).toHaveLength(1)
    expect(h.states.at(-1)).toBe('open')

    vi.advanceTimersByTime(LIVENESS.pongTimeoutMs)
    const dead = h.sockets[0]!
    expect(dead.closedWith?.code).toBe(4000)
    // The browser never reported the close; we moved on anyway.
    expect(h.states).toContain('waiting')
    vi.advanceTimersByTime(1)
    expect(h.sockets).toHaveLength(2)
    expect(h.states.at(-1)).toBe('connecting')
  })

  it('keeps a link that answers: a pong (or any frame) counts, and pongs are not passed on', () => {
    const h = greeted()
    vi.advanceTimersByTime(LIVENESS.idlePingMs)
    const [id] = h.latest().pings()
    h.latest().push({ type: 'pong', id: id! })
    vi.advanceTimersByTime(LIVENESS.pongTimeoutMs * 2)
    expect(h.sockets).toHaveLength(1)
    expect(h.frames.map((f) => f.type)).toEqual(['hello'])

    // A busy room needs no pings: every frame pushes the next one back.
    for (let i = 0; i < 5; i++) {
      h.latest().push({ type: 'caught_up', roomId: ROOM_A, lastSeq: i })
      vi.advanceTimersByTime(LIVENESS.idlePingMs - 1_000)
    }
    expect(h.latest().pings()).toHaveLength(1)
    expect(h.sockets).toHaveLength(1)
  })

  it('gives up on a socket that opens but never says hello, and tries again', () => {
    const h = harness()
    h.conn.start()
    h.latest().open()
    vi.advanceTimersByTime(LIVENESS.helloTimeoutMs)
    expect(h.sockets[0]!.closedWith?.code).toBe(4000)
    expect(h.states.at(-1)).toBe('waiting')
    vi.advanceTimersByTime(1)
    expect(h.sockets).toHaveLength(2)
  })

  it('gives up on a handshake that never completes (no open, no close)', () => {
    const h = harness()
    h.conn.start()
    vi.advanceTimersByTime(LIVENESS.helloTimeoutMs)
    vi.advanceTimersByTime(1)
    expect(h.sockets).toHaveLength(2)
  })

  it('check() pings at once (tab visible, network back) and a silent answer ends the socket', () => {
    const h = greeted()
    vi.advanceTimersByTime(1_000)
    h.conn.check()
    expect(h.latest().pings()).toHaveLength(1)
    // A second check while the first ping is out does not push the deadline back.
    vi.advanceTimersByTime(LIVENESS.pongTimeoutMs - 1)
    h.conn.check()
    expect(h.latest().pings()).toHaveLength(1)
    vi.advanceTimersByTime(1)
    expect(h.states.at(-1)).toBe('waiting')
  })

  it('connectNow replaces a socket that is closing instead of waiting for its close', () => {
    const h = greeted()
    h.latest().readyState = 2
    h.conn.connectNow()
    expect(h.sockets).toHaveLength(2)
    expect(h.states.at(-1)).toBe('connecting')
    // The old socket's late close changes nothing.
    h.sockets[0]!.onclose?.({ code: 1006 })
    expect(h.states.at(-1)).toBe('connecting')
  })

  it('recycle() reports "waiting" at once, without waiting for the close handshake', () => {
    const h = greeted()
    h.conn.recycle('offline')
    expect(h.states.at(-1)).toBe('waiting')
  })
})

describe('frames that fail the shared schema', () => {
  const bad: Array<[string, unknown]> = [
    ['not JSON', '{"type":"events"'],
    ['not text', new ArrayBuffer(4)],
    ['not an object', '[1,2,3]'],
    ['an unknown type', JSON.stringify({ type: 'gift', roomId: ROOM_A })],
    ['a field of the wrong type', JSON.stringify({ type: 'caught_up', roomId: ROOM_A, lastSeq: '7' })],
    ['a negative seq', JSON.stringify({ type: 'caught_up', roomId: ROOM_A, lastSeq: -1 })],
    ['an extra field', JSON.stringify({ type: 'caught_up', roomId: ROOM_A, lastSeq: 1, admin: true })],
    ['a missing field', JSON.stringify({ type: 'reset', roomId: ROOM_A })],
    ['a room id that is no UUID', JSON.stringify({ type: 'reset', roomId: '../etc', lastSeq: 1 })],
    ['an event without a seq', JSON.stringify({ type: 'events', roomId: ROOM_A, events: [{ body: 'hi' }] })],
  ]

  it.each(bad)('treats %s as a protocol error: logged, never passed on, socket replaced', (_what, data) => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined)
    const h = greeted()
    h.latest().pushRaw(data)
    expect(h.frames.map((f) => f.type)).toEqual(['hello'])
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('protocol error'), expect.anything())
    expect(h.sockets[0]!.closedWith?.code).toBe(4000)
    vi.advanceTimersByTime(1)
    expect(h.sockets).toHaveLength(2)
  })

  it('backs off instead of looping fast when a server greets and then keeps sending garbage', () => {
    vi.spyOn(console, 'warn').mockImplementation(() => undefined)
    const h = harness()
    const delays: number[] = []
    const conn = new Connection(
      {
        onState: (_s, retryAt) => retryAt !== null && delays.push(retryAt - Date.now()),
        onFrame: () => undefined,
        onSessionEnded: () => undefined,
      },
      {
        random: () => 0.999,
        url: 'ws://ferry.test/api/ws',
        createSocket: () => {
          const socket = new FakeSocket()
          h.sockets.push(socket)
          return socket as unknown as WebSocket
        },
      },
    )
    conn.start()
    for (let i = 0; i < 4; i++) {
      h.latest().open()
      h.latest().push(hello)
      h.latest().pushRaw('garbage')
      vi.advanceTimersByTime(delays.at(-1)!)
    }
    expect(delays).toHaveLength(4)
    expect(delays[3]!).toBeGreaterThan(delays[0]! * 4)
  })

  it('passes well-formed frames through unchanged', () => {
    const h = greeted()
    const frame: ServerFrame = { type: 'presence_leave', roomId: ROOM_A, userId: ALICE }
    h.latest().push(frame)
    expect(h.frames.at(-1)).toEqual(frame)
  })
})
