import { randomUUID } from 'node:crypto'
import type { RoomEvent } from '../../../shared/schemas.ts'
import type { Metrics } from '../../metrics/metrics.ts'
import {
  BUS_MAX_CONTROL_BYTES,
  type Bus,
  type ControlMessage,
  type LocalRooms,
  NODE_EXPIRY_MS,
  type ReadMarker,
  type RoomListChange,
} from '../bus.ts'
import {
  decodeEnvelope,
  ENVELOPE_VERSION,
  type Envelope,
  type EnvelopeHead,
  type EnvelopeKind,
  encodeEvents,
  encodeMarkers,
  pointersOf,
} from './envelope.ts'
import { RoomOrderer } from './room-orderer.ts'
import type { BusLog, Transport } from './transport.ts'

export interface ClusterBusOptions {
  transport: Transport
  /** A room's events after `after` from the database (messages.repository `eventsAfter`, mapped). */
  read(roomId: string, after: number, limit: number): Promise<RoomEvent[]>
  log: BusLog
  metrics?: Metrics
  /** Milliseconds since the epoch (envelope `sentAt`, bus lag); injectable for tests. */
  now?: () => number
  /** Pause before a failed gap-fill read is tried again. */
  retryMs?: number
  /** How long a pointer that skips ahead waits for the hole's own pointers before reading it (RoomOrderer). */
  graceMs?: number
}

/** Another node's notification trails this node's commit by a few milliseconds when the database is not overloaded. */
const DEFAULT_GRACE_MS = 20

/** Throttled warnings (dropped messages, failed publishes) at most this often each. */
const WARN_EVERY_MS = 10_000
/** A failed events envelope is sent again after 0.5, 1 and 2 s, then given up. */
const SEND_RETRIES = 3
const SEND_RETRY_MS = 500
/** Envelopes waiting to be sent again at most (an outage must not cost unbounded memory). */
const MAX_RETRYING = 1_000
/** Peers remembered for the room-list loss check beyond this many are pruned when not heard from recently. */
const MAX_PEERS = 256

/**
 * The Bus across processes (issue 11; docs/PROTOCOL.md "Fan-out and the bus
 * seam"): every publish calls this node's own handlers at once, as LocalBus
 * does, and goes to the other nodes as one envelope (or a few) on the
 * transport; what arrives is validated, this node's own echo dropped, room
 * events put in order by the RoomOrderer (reading the database for holes),
 * and the rest handed to the handlers. After the transport lost its
 * connection and came back, every followed room is re-read and the
 * `onResync` handlers run.
 */
export class ClusterBus implements Bus {
  readonly nodeId = randomUUID()
  readonly #transport: Transport
  readonly #log: BusLog
  readonly #metrics: Metrics | undefined
  readonly #now: () => number
  readonly #orderer: RoomOrderer
  readonly #handlers = new Set<(events: readonly RoomEvent[]) => void>()
  readonly #ownHandlers = new Set<(events: readonly RoomEvent[]) => void>()
  readonly #listHandlers = new Set<(change: RoomListChange) => void>()
  readonly #markerHandlers = new Set<(markers: readonly ReadMarker[]) => void>()
  readonly #controlHandlers = new Set<(message: ControlMessage) => void>()
  readonly #resyncHandlers = new Set<() => void>()
  readonly #listLossHandlers = new Set<() => void>()
  /** Room-list and marker envelopes this node has published (`listSeq`). */
  #listSeq = 0
  /** The highest `listSeq` heard from each peer, and when. */
  readonly #peers = new Map<string, { listSeq: number; heardAt: number }>()
  /** A resync happened since start: a peer heard of for the first time may have published room-list changes unheard. */
  #resynced = false
  /** When each throttled warning was last logged. */
  readonly #lastWarnAt = new Map<string, number>()
  #closed = false
  /** Failed events envelopes waiting to be sent again, and their timers. */
  #retrying = 0
  readonly #retries = new Set<ReturnType<typeof setTimeout>>()
  /** The resync under way (tests wait for it). */
  #resync: Promise<void> = Promise.resolve()

  constructor(options: ClusterBusOptions) {
    this.#transport = options.transport
    this.#log = options.log
    this.#metrics = options.metrics
    this.#now = options.now ?? Date.now
    this.#orderer = new RoomOrderer({
      read: options.read,
      deliver: (events) => this.#deliver(events),
      onGapFill: (count) => this.#metrics?.busGapFills.inc(count),
      onError: (error, roomId) => this.#log.error({ err: error, roomId }, 'bus: reading missed room events failed'),
      ...(options.retryMs === undefined ? {} : { retryMs: options.retryMs }),
      graceMs: options.graceMs ?? DEFAULT_GRACE_MS,
    })
  }

  /** Starts listening on the transport (resolves once subscribed, or once the first attempt failed and retries run). */
  start(): Promise<void> {
    return this.#transport.start({
      receive: (payload) => this.#receive(payload),
      lost: (error) => {
        this.#log.warn({ err: error, bus: this.#transport.name }, 'bus: listening connection lost; reconnecting')
      },
      back: () => {
        this.#resync = this.#resyncNow()
      },
    })
  }

  /** Resolves when the resync under way (if any) has re-read every room and told the handlers. */
  resynced(): Promise<void> {
    return this.#resync
  }

  /** The room's delivered position in the orderer (tests). */
  deliveredUpTo(roomId: string): number | undefined {
    return this.#orderer.deliveredUpTo(roomId)
  }

  publish(events: readonly RoomEvent[]): void {
    if (events.length === 0 || this.#closed) return
    const pointers = pointersOf(events)
    for (const pointer of pointers) this.#orderer.offer(pointer)
    for (const handler of this.#ownHandlers) this.#guard(() => handler(events), 'own events handler')
    for (const payload of encodeEvents(this.#head(false), pointers, this.#transport.maxPayloadBytes)) {
      this.#send(payload, 'events')
    }
  }

  subscribe(handler: (events: readonly RoomEvent[]) => void): () => void {
    return subscribeTo(this.#handlers, handler)
  }

  subscribeOwn(handler: (events: readonly RoomEvent[]) => void): () => void {
    return subscribeTo(this.#ownHandlers, handler)
  }

  publishRoomList(change: RoomListChange): void {
    if (this.#closed) return
    for (const handler of this.#listHandlers) this.#guard(() => handler(change), 'room-list handler')
    this.#send(JSON.stringify({ ...this.#head(true), kind: 'list', change }), 'list')
  }

  subscribeRoomList(handler: (change: RoomListChange) => void): () => void {
    return subscribeTo(this.#listHandlers, handler)
  }

  publishReadMarkers(markers: readonly ReadMarker[]): void {
    if (markers.length === 0 || this.#closed) return
    for (const handler of this.#markerHandlers) this.#guard(() => handler(markers), 'read-marker handler')
    for (const payload of encodeMarkers(() => this.#head(true), markers, this.#transport.maxPayloadBytes)) {
      this.#send(payload, 'markers')
    }
  }

  subscribeReadMarkers(handler: (markers: readonly ReadMarker[]) => void): () => void {
    return subscribeTo(this.#markerHandlers, handler)
  }

  /** Throws for a message over BUS_MAX_CONTROL_BYTES encoded (send state in chunks): nothing is called or sent then. */
  publishControl(message: ControlMessage): void {
    const encoded = JSON.stringify(message)
    const bytes = Buffer.byteLength(encoded)
    if (bytes > BUS_MAX_CONTROL_BYTES) {
      throw new Error(`bus: a ${message.kind} control message of ${bytes} bytes exceeds ${BUS_MAX_CONTROL_BYTES}`)
    }
    if (this.#closed) return
    for (const handler of this.#controlHandlers) this.#guard(() => handler(message), 'control handler')
    const head = JSON.stringify({ ...this.#head(false), kind: 'control' }).slice(0, -1)
    this.#send(`${head},"message":${encoded}}`, 'control')
  }

  subscribeControl(handler: (message: ControlMessage) => void): () => void {
    return subscribeTo(this.#controlHandlers, handler)
  }

  onResync(handler: () => void): () => void {
    return subscribeTo(this.#resyncHandlers, handler)
  }

  watchRooms(rooms: LocalRooms): () => void {
    return this.#orderer.watch(rooms)
  }

  onRoomListLoss(handler: () => void): () => void {
    return subscribeTo(this.#listLossHandlers, handler)
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    for (const retry of this.#retries) clearTimeout(retry)
    this.#orderer.close()
    await this.#transport.close()
    for (const handlers of [
      this.#handlers,
      this.#ownHandlers,
      this.#listHandlers,
      this.#markerHandlers,
      this.#controlHandlers,
      this.#resyncHandlers,
      this.#listLossHandlers,
    ] as Set<unknown>[]) {
      handlers.clear()
    }
  }

  #head(countsForList: boolean): EnvelopeHead {
    if (countsForList) this.#listSeq++
    return { v: ENVELOPE_VERSION, nodeId: this.nodeId, sentAt: this.#now(), listSeq: this.#listSeq }
  }

  #send(payload: string, kind: EnvelopeKind, attempt = 0): void {
    this.#transport.send(payload).then(
      () => this.#metrics?.busPublished.inc({ kind }),
      (error: unknown) => {
        if (this.#closed) return
        this.#warn({ err: error, kind, bus: this.#transport.name }, 'bus: publish failed')
        // Room events are sent again a few times: pointers are idempotent, and without them the other nodes would
        // only read the hole at the room's next commit, which a quiet room may not have for a long time. A lost
        // room-list or marker envelope is not resent: it shows as a jump of listSeq and the receivers' sockets refetch.
        if (kind !== 'events' || attempt >= SEND_RETRIES || this.#retrying >= MAX_RETRYING) return
        this.#retrying++
        const retry = setTimeout(
          () => {
            this.#retrying--
            this.#retries.delete(retry)
            if (!this.#closed) this.#send(payload, kind, attempt + 1)
          },
          SEND_RETRY_MS * 2 ** attempt,
        )
        this.#retries.add(retry)
      },
    )
  }

  /** The orderer's output: a room's events in seq order, to every `subscribe` handler (the hub's fan-out). */
  #deliver(events: readonly RoomEvent[]): void {
    if (events.length === 0) return
    for (const handler of this.#handlers) this.#guard(() => handler(events), 'events handler')
  }

  #receive(payload: string): void {
    if (this.#closed) return
    const decoded = decodeEnvelope(payload)
    if (!decoded.ok) {
      this.#metrics?.busReceived.inc({ kind: 'invalid' })
      this.#warn({ reason: decoded.reason, bytes: Buffer.byteLength(payload) }, 'bus: invalid message dropped')
      return
    }
    const envelope = decoded.envelope
    if (envelope.nodeId === this.nodeId) return
    this.#metrics?.busReceived.inc({ kind: envelope.kind })
    const lag = this.#now() - envelope.sentAt
    if (lag >= 0) this.#metrics?.busLagSeconds.observe(lag / 1000)
    this.#checkListSeq(envelope)
    switch (envelope.kind) {
      case 'events':
        for (const pointer of envelope.rooms) this.#orderer.offer(pointer)
        return
      case 'list':
        for (const handler of this.#listHandlers) this.#guard(() => handler(envelope.change), 'room-list handler')
        return
      case 'markers':
        for (const handler of this.#markerHandlers) this.#guard(() => handler(envelope.markers), 'read-marker handler')
        return
      case 'control':
        for (const handler of this.#controlHandlers) this.#guard(() => handler(envelope.message), 'control handler')
        return
    }
  }

  /**
   * Room-list changes and read markers are not in the rooms' logs, so a
   * resync cannot re-read them: each peer numbers what it published of them,
   * and a jump (or, after a resync, a peer first heard of with some already
   * published) means some were lost here; the handlers make sockets refetch.
   */
  #checkListSeq(envelope: Envelope): void {
    const own = envelope.kind === 'list' || envelope.kind === 'markers' ? 1 : 0
    const before = envelope.listSeq - own
    const peer = this.#peers.get(envelope.nodeId)
    const lost = peer === undefined ? this.#resynced && before > 0 : before > peer.listSeq
    const now = this.#now()
    if (peer) {
      peer.listSeq = Math.max(peer.listSeq, envelope.listSeq)
      peer.heardAt = now
    } else {
      this.#peers.set(envelope.nodeId, { listSeq: envelope.listSeq, heardAt: now })
      if (this.#peers.size > MAX_PEERS) {
        for (const [nodeId, { heardAt }] of this.#peers) if (now - heardAt > NODE_EXPIRY_MS) this.#peers.delete(nodeId)
      }
    }
    if (lost) {
      this.#log.warn({ peer: envelope.nodeId }, 'bus: room-list changes or read markers were lost; sockets refetch')
      for (const handler of this.#listLossHandlers) this.#guard(handler, 'room-list loss handler')
    }
  }

  async #resyncNow(): Promise<void> {
    if (this.#closed) return
    this.#resynced = true
    this.#metrics?.busResyncs.inc()
    this.#log.info({ bus: this.#transport.name }, 'bus: listening again; re-reading followed rooms')
    const reread = this.#orderer.resync()
    // Presence and focus state need no room events: their handlers need not wait for the reads.
    for (const handler of this.#resyncHandlers) this.#guard(handler, 'resync handler')
    await reread
  }

  #guard(action: () => void, what: string): void {
    try {
      action()
    } catch (error) {
      this.#log.error({ err: error }, `bus: ${what} failed`)
    }
  }

  /** At most one line per message per WARN_EVERY_MS: a peer sending garbage, or an outage, must not flood the log. */
  #warn(object: object, message: string): void {
    const now = this.#now()
    if (now - (this.#lastWarnAt.get(message) ?? Number.NEGATIVE_INFINITY) < WARN_EVERY_MS) return
    this.#lastWarnAt.set(message, now)
    this.#log.warn(object, message)
  }
}

function subscribeTo<T>(handlers: Set<T>, handler: T): () => void {
  handlers.add(handler)
  return () => {
    handlers.delete(handler)
  }
}
