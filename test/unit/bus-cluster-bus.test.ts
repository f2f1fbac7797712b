import { describe, expect, it } from 'vitest'
import { Metrics } from '../../server/metrics/metrics.ts'
import { ClusterBus } from '../../server/realtime/bus/cluster-bus.ts'
import { decodeEnvelope, encodeEvents, pointersOf } from '../../server/realtime/bus/envelope.ts'
import type { BusLog, Transport, TransportEvents } from '../../server/realtime/bus/transport.ts'
import { BUS_MAX_CONTROL_BYTES, type ControlMessage, type RoomListChange } from '../../server/realtime/bus.ts'
import type { RoomEvent } from '../../shared/schemas.ts'

const ROOM = '00000000-0000-4000-8000-000000000001'
const ROOM_2 = '00000000-0000-4000-8000-000000000002'
const USER = '00000000-0000-4000-8000-0000000000aa'

const event = (seq: number, roomId = ROOM, body = `m${seq}`): RoomEvent => ({
  roomId,
  seq,
  kind: 'message.created',
  authorId: USER,
  authorName: 'ann',
  clientId: null,
  body,
  targetSeq: null,
  reaction: null,
  createdAt: '2026-12-07T21:00:00.000Z',
})

/** One channel every fake transport hears (its sender too, as NOTIFY and Redis do); `down` ones miss what is sent. */
class Wire {
  readonly transports = new Set<FakeTransport>()
  readonly sent: string[] = []
  send(payload: string) {
    this.sent.push(payload)
    for (const transport of this.transports) if (!transport.down) transport.events?.receive(payload)
  }
}

class FakeTransport implements Transport {
  readonly name = 'postgres'
  readonly maxPayloadBytes = 7_000
  events: TransportEvents | undefined
  down = false
  /** Sends that fail before one goes through (a publishing connection that is down). */
  failSends = 0
  constructor(readonly wire: Wire) {}
  async start(events: TransportEvents) {
    this.events = events
    this.wire.transports.add(this)
  }
  async send(payload: string) {
    if (this.failSends > 0) {
      this.failSends--
      throw new Error('publishing connection down')
    }
    this.wire.send(payload)
  }
  async close() {
    this.wire.transports.delete(this)
  }
}

const quiet: BusLog = { info() {}, warn() {}, error() {} }

async function node(wire: Wire, log: BusLog = quiet) {
  const transport = new FakeTransport(wire)
  const metrics = new Metrics()
  const bus = new ClusterBus({ transport, log, metrics, read: async () => [] })
  await bus.start()
  return { bus, transport, metrics }
}

const count = async (metrics: Metrics, kind: string) =>
  (await metrics.busReceived.get()).values.find((v) => v.labels.kind === kind)?.value ?? 0

describe('ClusterBus', () => {
  it("calls the publisher's own handlers synchronously and drops the transport's echo of them", async () => {
    const wire = new Wire()
    const a = await node(wire)
    const b = await node(wire)
    const seen = { a: [] as number[], own: [] as number[], b: [] as number[], listA: 0, listB: 0 }
    a.bus.subscribe((events) => seen.a.push(...events.map((e) => e.seq)))
    a.bus.subscribeOwn((events) => seen.own.push(...events.map((e) => e.seq)))
    b.bus.subscribe((events) => seen.b.push(...events.map((e) => e.seq)))
    a.bus.subscribeRoomList(() => seen.listA++)
    b.bus.subscribeRoomList(() => seen.listB++)

    a.bus.publish([event(1), event(2)])
    expect(seen.a).toEqual([1, 2])
    expect(seen.own).toEqual([1, 2])
    a.bus.publishRoomList({ kind: 'added', userId: USER, roomId: ROOM })
    expect(seen.listA).toBe(1)
    await new Promise((resolve) => setImmediate(resolve))
    expect(seen.b).toEqual([1, 2])
    expect(seen.a).toEqual([1, 2])
    expect(seen.listB).toBe(1)
    expect(await count(b.metrics, 'events')).toBe(1)
    expect(await count(a.metrics, 'events')).toBe(0)
  })

  it('refuses a control message over BUS_MAX_CONTROL_BYTES with a thrown error, calling and sending nothing', async () => {
    const wire = new Wire()
    const a = await node(wire)
    let called = 0
    a.bus.subscribeControl(() => called++)
    const big: ControlMessage = {
      kind: 'node-state',
      nodeId: a.bus.nodeId,
      present: Array.from({ length: 200 }, () => [ROOM, USER, 'x'.repeat(20)] as [string, string, string]),
      focused: [],
    }
    expect(Buffer.byteLength(JSON.stringify(big))).toBeGreaterThan(BUS_MAX_CONTROL_BYTES)
    expect(() => a.bus.publishControl(big)).toThrow(/exceeds/)
    expect(called).toBe(0)
    expect(wire.sent).toEqual([])
  })

  it('drops and counts invalid messages (another version, garbage) and logs at most one warning per interval', async () => {
    const wire = new Wire()
    const warnings: string[] = []
    const b = await node(wire, { ...quiet, warn: (_o, message) => warnings.push(message) })
    let handed = 0
    b.bus.subscribe(() => handed++)
    b.bus.subscribeControl(() => handed++)
    for (const payload of [
      '',
      '[]',
      '{"v":2,"nodeId":"n","sentAt":1,"listSeq":0,"kind":"events","rooms":[]}',
      `{"v":1,"nodeId":"n","sentAt":1,"listSeq":0,"kind":"control","message":{"kind":"shutdown-everything"}}`,
      `{"v":1,"nodeId":"n","sentAt":1,"listSeq":0,"kind":"events","rooms":[{"roomId":"${ROOM}","from":5,"to":2}]}`,
    ]) {
      wire.send(payload)
    }
    expect(handed).toBe(0)
    expect(await count(b.metrics, 'invalid')).toBe(5)
    expect(warnings).toEqual(['bus: invalid message dropped'])
  })

  it('a jump in a peer’s room-list count (messages lost while away) tells the onRoomListLoss handlers', async () => {
    const wire = new Wire()
    const a = await node(wire)
    const b = await node(wire)
    let losses = 0
    b.bus.onRoomListLoss(() => losses++)
    const change: RoomListChange = { kind: 'added', userId: USER, roomId: ROOM }
    a.bus.publishRoomList(change)
    a.bus.publishReadMarkers([{ roomId: ROOM, userId: USER, lastReadSeq: 1, unreadCount: 0 }])
    expect(losses).toBe(0)
    b.transport.down = true
    a.bus.publishRoomList(change)
    b.transport.down = false
    a.bus.publish([event(1)]) // any envelope carries the count
    expect(losses).toBe(1)
    a.bus.publishRoomList(change)
    expect(losses).toBe(1)
  })
})

describe('ClusterBus publish failures', () => {
  it('sends a failed events envelope again (the room may have no next commit to reveal the hole)', async () => {
    const wire = new Wire()
    const a = await node(wire)
    const b = await node(wire)
    const seen: number[] = []
    b.bus.subscribe((events) => seen.push(...events.map((e) => e.seq)))
    a.transport.failSends = 2
    a.bus.publish([event(1)])
    for (let i = 0; i < 500 && seen.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10))
    expect(seen).toEqual([1])
    await a.bus.close()
  })
})

describe('bus envelopes', () => {
  const head = { v: 1 as const, nodeId: 'n', sentAt: 0, listSeq: 0 }

  it('carry small batches with their events, and big rooms as pointers only, each payload within the limit', () => {
    const small = [event(1), event(2)]
    const big = Array.from({ length: 40 }, (_, i) => event(i + 1, ROOM_2, 'y'.repeat(300)))
    const payloads = encodeEvents(head, pointersOf([...small, ...big]), 7_000)
    for (const payload of payloads) expect(Buffer.byteLength(payload)).toBeLessThanOrEqual(7_000)
    const rooms = payloads.flatMap((payload) => {
      const decoded = decodeEnvelope(payload)
      if (!decoded.ok || decoded.envelope.kind !== 'events') throw new Error('not an events envelope')
      return decoded.envelope.rooms
    })
    expect(rooms).toEqual([
      { roomId: ROOM, from: 1, to: 2, events: small },
      { roomId: ROOM_2, from: 1, to: 40 },
    ])
  })

  it('split a batch spanning many rooms over several payloads', () => {
    const events = Array.from({ length: 300 }, (_, i) =>
      event(1, `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`),
    )
    const payloads = encodeEvents(head, pointersOf(events), 7_000)
    expect(payloads.length).toBeGreaterThan(1)
    const total = payloads.reduce((sum, payload) => {
      const decoded = decodeEnvelope(payload)
      return sum + (decoded.ok && decoded.envelope.kind === 'events' ? decoded.envelope.rooms.length : 0)
    }, 0)
    expect(total).toBe(300)
  })

  it('drop events that are not exactly a run of valid events of the pointer (the receiver reads them instead)', () => {
    const withExtra = { ...event(1), injected: true }
    const payload = JSON.stringify({
      ...head,
      kind: 'events',
      rooms: [{ roomId: ROOM, from: 1, to: 2, events: [withExtra, event(2)] }],
    })
    const decoded = decodeEnvelope(payload)
    expect(decoded.ok && decoded.envelope.kind === 'events' && decoded.envelope.rooms[0]).toEqual({
      roomId: ROOM,
      from: 1,
      to: 2,
    })
    const holed = JSON.stringify({
      ...head,
      kind: 'events',
      rooms: [{ roomId: ROOM, from: 1, to: 3, events: [event(1), event(3)] }],
    })
    const second = decodeEnvelope(holed)
    expect(second.ok && second.envelope.kind === 'events' && second.envelope.rooms[0]?.events).toBeUndefined()
  })
})
