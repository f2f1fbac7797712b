import { WebSocket } from 'ws'
import type { ErrorCode } from '../../shared/errors.ts'
import type { ClientFrame, ServerFrame } from '../../shared/protocol.ts'
import type { RoomEvent } from '../../shared/schemas.ts'

/**
 * A protocol-level chat client for the chaos soak: an outbox per room that
 * resends every unacknowledged message with the same clientId, in writing
 * order, naming its predecessor (`afterClientId`), across killed sockets and
 * server restarts; and a per-room view of the log built from what the server
 * pushes (events, reset → HTTP catch-up), to compare with the stored truth.
 */

/** Seeded PRNG (mulberry32): the same seed makes the same choices. */
export class Random {
  #state: number
  constructor(seed: number) {
    this.#state = seed >>> 0
  }
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0
    let t = this.#state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  between(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1))
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!
  }
  uuid(): string {
    const hex = Array.from({ length: 32 }, () => Math.floor(this.next() * 16).toString(16))
    hex[12] = '4'
    hex[16] = ((Number.parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16)
    const h = hex.join('')
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
  }
}

/** Answers the client resends (in order, after a pause); everything else is a failure of the run. */
export const TRANSIENT_CODES: readonly ErrorCode[] = [
  'rate_limited',
  'out_of_order',
  'overloaded',
  'internal',
  'unavailable',
]

/** Figures shared by all clients of one soak. */
export class ChaosCounters {
  socketKills = 0
  connections = 0
  /** Connections that failed before opening (a killed server), after which the client tried the next address. */
  refusedConnections = 0
  /**
   * Live `events` frames (after the room's `caught_up`) that did not start
   * right after what the client held: a server that skipped events it should
   * have pushed. The client still fills them over HTTP; the server must not need it.
   */
  liveGaps: string[] = []
  transient = new Map<string, number>()
  /** Refusals the client cannot recover from (validation, permission…): must stay empty. */
  permanent: string[] = []
  /** Frames that do not fit the protocol (a seq seen twice with different messages, an unknown answer…). */
  anomalies: string[] = []

  countTransient(code: string): void {
    this.transient.set(code, (this.transient.get(code) ?? 0) + 1)
  }
}

interface Outgoing {
  roomId: string
  clientId: string
  body: string
  inFlight: boolean
}

/** Unacknowledged messages the client keeps in flight at most. */
const WINDOW = 10
/** Pause after a transient refusal without a retry hint, and before reconnecting. */
const BACKOFF_MS = { min: 100, max: 400 }

export interface ChaosClientOptions {
  name: string
  httpUrl: string
  /** More servers of the same cluster: when a connection fails before opening, the client tries the next one. */
  otherUrls?: readonly string[]
  cookie: string
  userId: string
  rooms: readonly string[]
  random: Random
  counters: ChaosCounters
  /** Each socket is terminated this long after it opens (ms, random in the range). */
  killEveryMs: { min: number; max: number }
  /** Latency added to each frame the client sends, random per frame, first in first out (a jittery uplink). */
  uplinkDelayMs: { min: number; max: number }
}

export class ChaosClient {
  /** Every message written, per room, in writing order. */
  readonly written = new Map<string, Outgoing[]>()
  /** clientId → seq, from acks. */
  readonly acked = new Map<string, number>()
  /** The room log as this client has seen it: room → seq → clientId. */
  readonly seen = new Map<string, Map<number, string | null>>()
  readonly #pending = new Map<string, Outgoing[]>()
  readonly #contiguous = new Map<string, number>()
  readonly #blockedUntil = new Map<string, number>()
  readonly #caughtUp = new Set<string>()
  readonly #filling = new Set<string>()
  readonly #timers = new Set<ReturnType<typeof setTimeout>>()
  #ws: WebSocket | null = null
  readonly #urls: readonly string[]
  #urlIndex = 0
  /** When the last frame queued on the uplink goes out: frames never overtake each other. */
  #uplinkFreeAt = 0
  #ready = false
  #running = false
  #killing = false
  #writing: ReturnType<typeof setInterval> | undefined

  constructor(readonly options: ChaosClientOptions) {
    this.#urls = [options.httpUrl, ...(options.otherUrls ?? [])]
    for (const roomId of options.rooms) {
      this.written.set(roomId, [])
      this.#pending.set(roomId, [])
      this.seen.set(roomId, new Map())
      this.#contiguous.set(roomId, 0)
    }
  }

  get unacked(): number {
    let count = 0
    for (const queue of this.#pending.values()) count += queue.length
    return count
  }

  get caughtUpEverywhere(): boolean {
    return this.#ready && this.options.rooms.every((roomId) => this.#caughtUp.has(roomId))
  }

  /** Connects (and keeps reconnecting) with sockets killed at random. */
  start(): void {
    this.#running = true
    this.#killing = true
    this.#connect()
  }

  /** Writes one message every `intervalMs` (random in the range) into a random room, online or not. */
  startWriting(intervalMs: { min: number; max: number }): void {
    const { random } = this.options
    let count = 0
    const writeOne = () => {
      const roomId = random.pick(this.options.rooms)
      const message: Outgoing = {
        roomId,
        clientId: random.uuid(),
        body: `${this.options.name} #${++count}`,
        inFlight: false,
      }
      this.written.get(roomId)!.push(message)
      this.#pending.get(roomId)!.push(message)
      this.#pump()
      this.#writing = setTimeout(writeOne, random.between(intervalMs.min, intervalMs.max))
    }
    writeOne()
  }

  stopWriting(): void {
    clearTimeout(this.#writing)
  }

  /** No more random kills; the current socket stays (a dead one is replaced). */
  stopKilling(): void {
    this.#killing = false
  }

  /** Replaces the socket with a fresh one, which subscribes from the client's contiguous point. */
  reconnect(): void {
    this.#caughtUp.clear()
    this.#ws?.terminate()
  }

  stop(): void {
    this.#running = false
    this.stopWriting()
    for (const timer of this.#timers) clearTimeout(timer)
    this.#ws?.terminate()
  }

  #later(ms: number, run: () => void): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer)
      run()
    }, ms)
    this.#timers.add(timer)
  }

  /** The server this client talks to now. */
  get httpUrl(): string {
    return this.#urls[this.#urlIndex]!
  }

  #connect(): void {
    if (!this.#running) return
    const { cookie, random, counters, killEveryMs } = this.options
    const httpUrl = this.httpUrl
    const ws = new WebSocket(`${httpUrl.replace(/^http/, 'ws')}/api/ws`, { headers: { cookie, origin: httpUrl } })
    this.#ws = ws
    let opened = false
    ws.on('error', () => {
      // A refused or broken connection; 'close' follows and reconnects.
    })
    ws.on('open', () => {
      opened = true
      counters.connections++
      if (!this.#killing) return
      this.#later(random.between(killEveryMs.min, killEveryMs.max), () => {
        if (ws.readyState !== WebSocket.OPEN || !this.#killing) return
        counters.socketKills++
        ws.terminate()
      })
    })
    ws.on('message', (data) => this.#onFrame(JSON.parse(data.toString()) as ServerFrame))
    ws.on('close', () => {
      if (this.#ws !== ws) return
      this.#ws = null
      if (!opened) {
        counters.refusedConnections++
        this.#urlIndex = (this.#urlIndex + 1) % this.#urls.length
      }
      this.#ready = false
      this.#caughtUp.clear()
      for (const queue of this.#pending.values()) for (const message of queue) message.inFlight = false
      this.#later(random.between(BACKOFF_MS.min, BACKOFF_MS.max), () => this.#connect())
    })
  }

  #send(frame: ClientFrame): void {
    const ws = this.#ws
    if (ws?.readyState !== WebSocket.OPEN) return
    const { min, max } = this.options.uplinkDelayMs
    const now = Date.now()
    this.#uplinkFreeAt = Math.max(this.#uplinkFreeAt, now + this.options.random.between(min, max))
    // Lost with the socket if it dies on the way, as on a real link.
    this.#later(this.#uplinkFreeAt - now, () => {
      if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(frame))
    })
  }

  #subscribe(roomIds: readonly string[]): void {
    this.#send({
      type: 'subscribe',
      rooms: roomIds.map((roomId) => ({ roomId, after: this.#contiguous.get(roomId)! })),
    })
  }

  /** Sends, per room in writing order, what is not in flight, up to the window; never past a refused message. */
  #pump(): void {
    if (!this.#ready) return
    let inFlight = 0
    for (const queue of this.#pending.values()) for (const message of queue) if (message.inFlight) inFlight++
    const now = Date.now()
    for (const [roomId, queue] of this.#pending) {
      if ((this.#blockedUntil.get(roomId) ?? 0) > now) continue
      for (let i = 0; i < queue.length && inFlight < WINDOW; i++) {
        const message = queue[i]!
        if (message.inFlight) continue
        const previous = queue[i - 1]
        this.#send({
          type: 'send',
          roomId,
          clientId: message.clientId,
          body: message.body,
          ...(previous ? { afterClientId: previous.clientId } : {}),
        })
        message.inFlight = true
        inFlight++
      }
    }
  }

  #onFrame(frame: ServerFrame): void {
    const { counters } = this.options
    switch (frame.type) {
      case 'hello':
        this.#ready = true
        this.#subscribe(this.options.rooms)
        this.#pump()
        return
      case 'events':
        this.#checkLive(frame.roomId, frame.events)
        this.#record(frame.roomId, frame.events)
        return
      case 'caught_up':
        this.#caughtUp.add(frame.roomId)
        if (frame.lastSeq > this.#contiguous.get(frame.roomId)!) void this.#fill(frame.roomId)
        return
      case 'reset':
        void this.#fill(frame.roomId)
        return
      case 'ack':
        this.#onAck(frame.roomId, frame.clientId, frame.seq)
        return
      case 'error':
        this.#onError(frame)
        return
      case 'presence':
      case 'presence_join':
      case 'presence_leave':
      case 'typing':
      case 'pong':
        return
      default:
        counters.anomalies.push(`${this.options.name}: unexpected frame ${JSON.stringify(frame).slice(0, 200)}`)
    }
  }

  #onAck(roomId: string, clientId: string, seq: number): void {
    const earlier = this.acked.get(clientId)
    if (earlier !== undefined && earlier !== seq) {
      this.options.counters.anomalies.push(`${this.options.name}: ${clientId} acked as ${earlier}, then ${seq}`)
    }
    this.acked.set(clientId, seq)
    const queue = this.#pending.get(roomId)
    const index = queue?.findIndex((message) => message.clientId === clientId) ?? -1
    if (index >= 0) queue!.splice(index, 1)
    this.#pump()
  }

  #onError(frame: Extract<ServerFrame, { type: 'error' }>): void {
    const { counters, random } = this.options
    const { roomId, clientId, code } = frame
    if (!TRANSIENT_CODES.includes(code)) {
      counters.permanent.push(`${this.options.name}: ${code} ${frame.message} (${clientId ?? roomId ?? 'no id'})`)
      if (roomId && clientId) {
        const queue = this.#pending.get(roomId)!
        const index = queue.findIndex((message) => message.clientId === clientId)
        if (index >= 0) queue.splice(index, 1)
      }
      return
    }
    counters.countTransient(code)
    if (!roomId) return
    if (!clientId) {
      // A subscribe that failed on the server's side: ask again.
      this.#later(random.between(BACKOFF_MS.min, BACKOFF_MS.max), () => this.#subscribe([roomId]))
      return
    }
    // The refused message and every later one of the room go again, in order, after a pause.
    const queue = this.#pending.get(roomId)!
    const index = queue.findIndex((message) => message.clientId === clientId)
    if (index < 0 || !queue[index]!.inFlight) return
    for (const message of queue.slice(index)) message.inFlight = false
    const pause = frame.retryAfterMs ?? random.between(BACKOFF_MS.min, BACKOFF_MS.max)
    this.#blockedUntil.set(roomId, Date.now() + pause)
    this.#later(pause, () => this.#pump())
  }

  /** A live frame must continue where the client's view of the room stands (or repeat what it has). */
  #checkLive(roomId: string, events: readonly RoomEvent[]): void {
    const first = events[0]?.seq
    if (!this.#caughtUp.has(roomId) || this.#filling.has(roomId) || first === undefined) return
    const contiguous = this.#contiguous.get(roomId)!
    if (first > contiguous + 1) {
      this.options.counters.liveGaps.push(
        `${this.options.name} on ${this.httpUrl}: room ${roomId} held up to ${contiguous}, live frame started at ${first}`,
      )
    }
  }

  #record(roomId: string, events: readonly RoomEvent[]): void {
    const seen = this.seen.get(roomId)!
    for (const event of events) {
      const known = seen.get(event.seq)
      if (known !== undefined && known !== event.clientId) {
        this.options.counters.anomalies.push(
          `${this.options.name}: room ${roomId} seq ${event.seq} was ${known}, now ${event.clientId}`,
        )
      }
      seen.set(event.seq, event.clientId)
    }
    let contiguous = this.#contiguous.get(roomId)!
    while (seen.has(contiguous + 1)) contiguous++
    this.#contiguous.set(roomId, contiguous)
  }

  /** After a reset marker or a gap: the missed events over HTTP, as the app does. */
  async #fill(roomId: string): Promise<void> {
    if (this.#filling.has(roomId)) return
    this.#filling.add(roomId)
    try {
      for (;;) {
        const after = this.#contiguous.get(roomId)!
        const response = await fetch(`${this.httpUrl}/api/rooms/${roomId}/events?after=${after}&limit=500`, {
          headers: { cookie: this.options.cookie },
        })
        if (!response.ok) throw new Error(`events: ${response.status}`)
        const page = (await response.json()) as { events: RoomEvent[]; hasMore: boolean }
        this.#record(roomId, page.events)
        if (!page.hasMore) return
      }
    } catch {
      // The server is down; the next subscribe (after reconnecting) asks again.
    } finally {
      this.#filling.delete(roomId)
    }
  }
}
