import { EventEmitter } from 'node:events'
import type { FastifyBaseLogger } from 'fastify'
import { describe, expect, it } from 'vitest'
import type { WebSocket } from 'ws'
import type { RealtimeConfig } from '../../server/config.ts'
import { Metrics } from '../../server/metrics/metrics.ts'
import { LocalBus } from '../../server/realtime/bus.ts'
import { Connection, type ConnectionDeps } from '../../server/realtime/connection.ts'
import { FrameLimits } from '../../server/realtime/frame-limits.ts'
import { encodeFrame } from '../../server/realtime/frames.ts'
import { Hub } from '../../server/realtime/hub.ts'
import { distinctRooms, replayFrames } from '../../server/realtime/subscribe.ts'
import { CLOSE_CODES } from '../../shared/errors.ts'
import { LIMITS } from '../../shared/limits.ts'
import type { ServerFrame } from '../../shared/protocol.ts'
import type { RoomEvent } from '../../shared/schemas.ts'

const ROOM = '3b241101-e2bb-4255-8caf-4136c566a962'
const USER = '6f1c2a4e-8d3b-4c5e-9f7a-1b2c3d4e5f60'

const event = (seq: number, body = `message ${seq}`): RoomEvent => ({
  roomId: ROOM,
  seq,
  kind: 'message.created',
  authorId: USER,
  authorName: 'ada',
  clientId: '0b6f6b0e-3c4d-4b7e-9e2a-1c2d3e4f5a6b',
  body,
  targetSeq: null,
  reaction: null,
  createdAt: '2026-11-24T09:30:01.123Z',
})

describe('replayFrames', () => {
  it('builds the same bytes as encodeFrame, at most 100 events and about maxBytes per frame, in seq order', () => {
    const events = Array.from({ length: 250 }, (_, i) => event(i + 1, 'x'.repeat(i % 7 === 0 ? 900 : 20)))
    const frames = [...replayFrames(ROOM, events, 8_000)]
    const decoded = frames.map((frame) => JSON.parse(frame.encoded) as Extract<ServerFrame, { type: 'events' }>)
    expect(decoded.flatMap((frame) => frame.events)).toEqual(events)
    for (const [i, frame] of frames.entries()) {
      expect(frame.encoded).toBe(encodeFrame(decoded[i]!))
      expect(frame.lastSeq).toBe(decoded[i]!.events.at(-1)!.seq)
      expect(decoded[i]!.events.length).toBeLessThanOrEqual(100)
      expect(Buffer.byteLength(frame.encoded)).toBeLessThanOrEqual(8_000)
    }
    expect([...replayFrames(ROOM, events, 10_000_000)].map((f) => JSON.parse(f.encoded).events.length)).toEqual([
      100, 100, 50,
    ])
  })

  it('an event bigger than maxBytes goes alone; no events, no frame', () => {
    const big = event(1, '🚢'.repeat(LIMITS.messageBodyMax))
    const frames = [...replayFrames(ROOM, [big, event(2)], 1_000)]
    expect(frames.map((f) => JSON.parse(f.encoded).events.map((e: RoomEvent) => e.seq))).toEqual([[1], [2]])
    expect([...replayFrames(ROOM, [], 1_000)]).toEqual([])
  })
})

describe('distinctRooms', () => {
  it('names each room once, from the lowest after it was given', () => {
    const other = '0b6f6b0e-3c4d-4b7e-9e2a-1c2d3e4f5a6b'
    expect(
      distinctRooms([
        { roomId: ROOM, after: 7 },
        { roomId: other, after: 3 },
        { roomId: ROOM, after: 2 },
        { roomId: ROOM, after: 9 },
      ]),
    ).toEqual([
      { roomId: ROOM, after: 2 },
      { roomId: other, after: 3 },
    ])
  })
})

/** A `ws` socket whose buffer drains only when the test says so. */
class FakeSocket extends EventEmitter {
  readonly sent: string[] = []
  closedWith: number | undefined
  #pending: Array<{ bytes: number; done?: () => void }> = []

  get bufferedAmount(): number {
    return this.#pending.reduce((sum, item) => sum + item.bytes, 0)
  }

  send(data: string | Buffer, options?: unknown, done?: () => void): void {
    const callback = typeof options === 'function' ? (options as () => void) : done
    this.sent.push(data.toString())
    this.#pending.push({ bytes: Buffer.byteLength(data), ...(callback ? { done: callback } : {}) })
  }

  drain(): void {
    for (const item of this.#pending.splice(0)) item.done?.()
  }

  close(code: number): void {
    this.closedWith = code
  }

  terminate(): void {}
  ping(): void {}

  frames(): ServerFrame[] {
    return this.sent.map((text) => JSON.parse(text) as ServerFrame)
  }
}

function openConnection(maxBufferedBytes: number, now: () => number = () => 0) {
  const socket = new FakeSocket()
  const quiet = () => {}
  const settings: RealtimeConfig = {
    pingIntervalMs: 25_000,
    maxBufferedBytes,
    sendRatePerSecond: 10,
    sendBurst: 30,
    typingTtlMs: 5_000,
    readMarkerFlushMs: 1_000,
  }
  const deps = {
    db: {},
    appender: {},
    hub: new Hub(new LocalBus(), settings.typingTtlMs, quiet),
    limiter: {},
    frameLimits: new FrameLimits(now),
    settings,
    log: { debug: quiet, error: quiet } as unknown as FastifyBaseLogger,
    metrics: new Metrics(),
    onClosed: quiet,
  } as unknown as ConnectionDeps
  const session = { id: 's1', user: { id: USER, username: 'ada' }, expiresAt: new Date(8.64e15) }
  const connection = new Connection(socket as unknown as WebSocket, session as never, deps)
  connection.start()
  socket.drain()
  socket.sent.length = 0
  return { socket, connection }
}

describe('Connection: replay bytes count toward the send-buffer cap', () => {
  it('a replay frame that does not fit beside what the socket already holds closes it with 4008, unsent', async () => {
    const { socket, connection } = openConnection(10_000)
    connection.send({ type: 'caught_up', roomId: ROOM, lastSeq: 0 })
    const replay = encodeFrame({ type: 'events', roomId: ROOM, events: [event(1, 'y'.repeat(9_990))] })
    const before = socket.sent.length
    await connection.sendReplay(replay)
    expect(socket.closedWith).toBe(CLOSE_CODES.slowConsumer)
    expect(socket.sent).toHaveLength(before)
  })

  it('live traffic over the cap counts the replay still in the buffer', () => {
    const { socket, connection } = openConnection(10_000)
    void connection.sendReplay(encodeFrame({ type: 'events', roomId: ROOM, events: [event(1, 'y'.repeat(6_000))] }))
    expect(socket.closedWith).toBeUndefined()
    connection.send({ type: 'reset', roomId: ROOM, lastSeq: 1 })
    expect(socket.closedWith).toBeUndefined()
    connection.sendShared(
      Buffer.from(encodeFrame({ type: 'events', roomId: ROOM, events: [event(2, 'z'.repeat(4_000))] })),
    )
    expect(socket.closedWith).toBe(CLOSE_CODES.slowConsumer)
  })

  it('a replay into a drained buffer goes out, and resolves once it has left', async () => {
    const { socket, connection } = openConnection(10_000)
    let left = false
    const sending = connection.sendReplay(encodeFrame({ type: 'events', roomId: ROOM, events: [event(1)] }))
    void sending.then(() => {
      left = true
    })
    await Promise.resolve()
    expect(left).toBe(false)
    socket.drain()
    await sending
    expect(left).toBe(true)
    expect(socket.closedWith).toBeUndefined()
  })
})

describe('Connection: live events held during a replay count toward the send-buffer cap', () => {
  const live = (seq: number, body: string) => {
    const events = [event(seq, body)]
    return { events, frame: Buffer.from(encodeFrame({ type: 'events', roomId: ROOM, events })) }
  }

  it('a room whose held live events pass the cap in bytes (few events, big bodies) closes the socket with 4008', () => {
    const { socket, connection } = openConnection(10_000)
    connection.openStream(ROOM)
    for (let seq = 1; seq <= 2; seq++) {
      const { events, frame } = live(seq, 'x'.repeat(4_000))
      connection.deliver(ROOM, events, frame)
    }
    expect(socket.closedWith).toBeUndefined()
    const { events, frame } = live(3, 'x'.repeat(4_000))
    connection.deliver(ROOM, events, frame)
    expect(socket.closedWith).toBe(CLOSE_CODES.slowConsumer)
  })

  it('held bytes of all replaying rooms add up; a room that goes live or closes gives its share back', () => {
    const { socket, connection } = openConnection(10_000)
    const other = '0b6f6b0e-3c4d-4b7e-9e2a-1c2d3e4f5a6b'
    const hold = (roomId: string, seq: number) => {
      const events = [{ ...event(seq, 'x'.repeat(4_000)), roomId }]
      connection.deliver(roomId, events, Buffer.from(encodeFrame({ type: 'events', roomId, events })))
    }
    const stream = connection.openStream(ROOM)
    connection.openStream(other)
    hold(ROOM, 1)
    hold(other, 1)
    // Step 5 of the resume takes ROOM's held events out (and sends them, which this test leaves out).
    expect(stream.release().map((e) => e.seq)).toEqual([1])
    hold(other, 2)
    expect(socket.closedWith).toBeUndefined()
    connection.closeStream(other)
    connection.openStream(other)
    hold(other, 3)
    hold(other, 4)
    expect(socket.closedWith).toBeUndefined()
    hold(other, 5)
    expect(socket.closedWith).toBe(CLOSE_CODES.slowConsumer)
  })
})

describe('Connection: control-frame floods', () => {
  it(`answers rate_limited with retryAfterMs, closes with 4029 after ${LIMITS.wsMaxRateLimitedFrames} refusals in a row; one admitted frame resets the count`, () => {
    let now = 0
    const { socket } = openConnection(1_000_000, () => now)
    const ping = (id: number) => socket.emit('message', Buffer.from(JSON.stringify({ type: 'ping', id })), false)
    for (let id = 0; id < LIMITS.wsFrameBurst; id++) ping(id)
    expect(socket.frames()).toEqual(Array.from({ length: LIMITS.wsFrameBurst }, (_, id) => ({ type: 'pong', id })))
    socket.sent.length = 0

    for (let i = 0; i < LIMITS.wsMaxRateLimitedFrames - 1; i++) ping(1000 + i)
    const retryAfterMs = Math.ceil(1000 / LIMITS.wsFrameRatePerSecond)
    expect(socket.frames()).toEqual(
      Array.from({ length: LIMITS.wsMaxRateLimitedFrames - 1 }, () => ({
        type: 'error',
        code: 'rate_limited',
        message: expect.any(String),
        retryAfterMs,
      })),
    )
    now += retryAfterMs
    ping(7)
    expect(socket.frames().at(-1)).toEqual({ type: 'pong', id: 7 })
    for (let i = 0; i < LIMITS.wsMaxRateLimitedFrames - 1; i++) ping(2000 + i)
    expect(socket.closedWith).toBeUndefined()
    ping(3000)
    expect(socket.closedWith).toBe(CLOSE_CODES.tooManyFrames)
  })
})
