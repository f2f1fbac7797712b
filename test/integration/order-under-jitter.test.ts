import 'fake-indexeddb/auto'
import { randomInt } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { type RawData, WebSocket, WebSocketServer } from 'ws'
import { openFerryDb } from '../../client/db/open.ts'
import type { FerryDatabase } from '../../client/db/schema.ts'
import { OutboxFlusher } from '../../client/outbox/flusher.ts'
import type { OutgoingFrame } from '../../client/outbox/operations.ts'
import { enqueue, listOutbox } from '../../client/outbox/store.ts'
import type { ServerFrame } from '../../shared/protocol.ts'
import { type Agent, signUp, TEST_ORIGIN, useTestApp } from '../support/app.ts'
import { Random } from '../support/chaos-client.ts'
import { describeEachEngine } from '../support/databases.ts'
import { createRoom, realtimeConfig, storedEvents, until, wsUrl } from '../support/ws.ts'

/**
 * Sender order under jitter (issue 7 item 1, docs/PROTOCOL.md "Sender order"):
 * two devices of one user, each a real OutboxFlusher over its own IndexedDB
 * (fake-indexeddb) with 100 queued messages into two shared rooms, reach a
 * real server over real WebSockets through a relay that delays every frame by
 * 50–300 ms. The user's send limit is tight and shared by both devices, so
 * the server refuses many sends with `rate_limited` while later ones of the
 * same room are already on their way. At the end every message is stored
 * exactly once, and in each room each device's messages are stored in the
 * order they were written.
 *
 * The relay keeps each direction of each socket first-in first-out, like the
 * TCP connection under a real WebSocket: frames are delayed by a random amount
 * but never overtake each other (a WebSocket cannot reorder its own frames).
 * The jitter still reorders what matters: the two devices' sockets, and a
 * refusal arriving after later frames have left. Reproduce a run with
 * JITTER_SEED.
 */

const SEED = process.env.JITTER_SEED ? Number(process.env.JITTER_SEED) : randomInt(2 ** 31)
const PER_DEVICE = 100
const DELAY_MS = { min: 50, max: 300 }
const LIMIT = { sendRatePerSecond: 20, sendBurst: 10 }
const DRAIN_MS = 40_000

interface Figures {
  stored: number
  duplicates: number
  missing: number
  violations: number
  refusals: Record<string, number>
  resends: number
  ms: number
}

/** A WebSocket relay: client ↔ relay ↔ server, every frame delayed, FIFO per direction. */
async function startRelay(target: string, cookie: string, random: Random) {
  const http = createServer()
  const wss = new WebSocketServer({ server: http })
  const sockets = new Set<WebSocket>()
  const fifo = () => {
    let last = 0
    return (deliver: () => void) => {
      const at = Math.max(last, Date.now() + random.between(DELAY_MS.min, DELAY_MS.max))
      last = at
      setTimeout(deliver, at - Date.now())
    }
  }
  wss.on('connection', (client) => {
    const upstream = new WebSocket(target, { headers: { cookie, origin: TEST_ORIGIN } })
    sockets.add(client).add(upstream)
    const up = fifo()
    const down = fifo()
    const early: RawData[] = []
    upstream.on('open', () => {
      for (const data of early.splice(0)) up(() => upstream.send(data.toString()))
    })
    client.on('message', (data) => {
      if (upstream.readyState === WebSocket.OPEN)
        up(() => upstream.readyState === WebSocket.OPEN && upstream.send(data.toString()))
      else early.push(data)
    })
    upstream.on('message', (data) => down(() => client.readyState === WebSocket.OPEN && client.send(data.toString())))
    const closeBoth = () => {
      client.close()
      upstream.close()
    }
    client.on('close', closeBoth)
    upstream.on('close', closeBoth)
    client.on('error', closeBoth)
    upstream.on('error', closeBoth)
  })
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
  const { port } = http.address() as AddressInfo
  return {
    url: `ws://127.0.0.1:${port}`,
    async close() {
      for (const socket of sockets) socket.terminate()
      await new Promise<void>((resolve) => wss.close(() => resolve()))
      await new Promise<void>((resolve) => http.close(() => resolve()))
    },
  }
}

/** One device: its own database, a real flusher, a real socket through the relay. */
class Device {
  readonly written = new Map<string, string[]>()
  readonly sends = new Map<string, number>()
  readonly refusals: Record<string, number> = {}
  #ws: WebSocket | null = null
  #pumper: ReturnType<typeof setInterval> | null = null
  flusher!: OutboxFlusher
  db!: FerryDatabase

  constructor(readonly name: string) {}

  async open(): Promise<void> {
    this.db = await openFerryDb({}, `order-under-jitter-${this.name}-${process.pid}-${SEED}-${Math.random()}`)
    this.flusher = new OutboxFlusher(this.db, { onOutboxChange: () => undefined, onSettled: () => undefined })
  }

  async write(roomId: string, body: string): Promise<void> {
    const item = await enqueue(this.db, roomId, body)
    this.written.set(roomId, [...(this.written.get(roomId) ?? []), item.clientId])
  }

  connect(url: string): void {
    const ws = new WebSocket(url)
    this.#ws = ws
    const send = (frame: OutgoingFrame) => {
      if (ws.readyState !== WebSocket.OPEN) return false
      this.sends.set(frame.clientId, (this.sends.get(frame.clientId) ?? 0) + 1)
      ws.send(JSON.stringify(frame))
      return true
    }
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as ServerFrame
      if (frame.type === 'hello') {
        this.flusher.setRate(frame.limits.sendRatePerSecond, frame.limits.sendBurst)
        this.flusher.connected(send)
      } else if (frame.type === 'ack') {
        void this.flusher.handleAck(frame)
      } else if (frame.type === 'error') {
        this.refusals[frame.code] = (this.refusals[frame.code] ?? 0) + 1
        void this.flusher.handleError(frame)
      }
    })
    ws.on('close', () => this.flusher.disconnected())
    // The sync engine's watchdog pumps too.
    this.#pumper = setInterval(() => void this.flusher.pump(), 1_000)
  }

  async pendingCount(): Promise<number> {
    return (await listOutbox(this.db)).length
  }

  close(): void {
    if (this.#pumper) clearInterval(this.#pumper)
    this.flusher.disconnected()
    this.#ws?.close()
    this.db.close()
  }
}

describeEachEngine('sender order under a jittery link, two devices of one user', (engine) => {
  const ctx = useTestApp(engine, { realtime: realtimeConfig(LIMIT) })
  let alice: Agent
  let relay: Awaited<ReturnType<typeof startRelay>>
  const random = new Random(SEED)

  beforeAll(async () => {
    await ctx.app.listen({ port: 0, host: '127.0.0.1' })
    alice = await signUp(ctx.app)
    relay = await startRelay(wsUrl(ctx.app), alice.cookie, random)
  })
  afterAll(async () => {
    await relay?.close()
  })

  it('stores every message once, each device in its writing order per room', async () => {
    const rooms = [await createRoom(alice), await createRoom(alice)]
    const devices = [new Device('phone'), new Device('laptop')]
    for (const device of devices) await device.open()
    for (let i = 0; i < PER_DEVICE; i++) {
      for (const device of devices) await device.write(random.pick(rooms), `${device.name} ${i}`)
    }
    const started = Date.now()
    for (const device of devices) device.connect(relay.url)
    let drained = true
    try {
      await until(
        async () => (await Promise.all(devices.map((d) => d.pendingCount()))).every((n) => n === 0),
        'both outboxes to drain',
        DRAIN_MS,
      )
    } catch {
      drained = false
    }
    const ms = Date.now() - started
    for (const device of devices) device.close()

    const figures: Figures = { stored: 0, duplicates: 0, missing: 0, violations: 0, refusals: {}, resends: 0, ms }
    for (const roomId of rooms) {
      const stored = (await storedEvents(alice, roomId)).map((e) => e.clientId)
      figures.stored += stored.length
      figures.duplicates += stored.length - new Set(stored).size
      const position = new Map(stored.map((clientId, i) => [clientId, i]))
      for (const device of devices) {
        const written = device.written.get(roomId) ?? []
        figures.missing += written.filter((id) => !position.has(id)).length
        // A violation: a message stored before one the same device wrote earlier in the room.
        for (let i = 1; i < written.length; i++) {
          const before = position.get(written[i - 1]!)
          const after = position.get(written[i]!)
          if (before !== undefined && after !== undefined && after < before) figures.violations += 1
        }
      }
    }
    for (const device of devices) {
      for (const [code, count] of Object.entries(device.refusals)) {
        figures.refusals[code] = (figures.refusals[code] ?? 0) + count
      }
      for (const count of device.sends.values()) figures.resends += count - 1
    }
    console.log(`order under jitter [${engine}] seed=${SEED}`, JSON.stringify(figures))

    expect(drained, `outboxes drained within ${DRAIN_MS} ms`).toBe(true)
    expect(figures).toMatchObject({ stored: 2 * PER_DEVICE, duplicates: 0, missing: 0, violations: 0 })
  })
})
