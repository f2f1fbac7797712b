import type { FastifyBaseLogger } from 'fastify'
import type { Metrics } from '../../metrics/metrics.ts'
import { type Bus, type ControlMessage, NODE_EXPIRY_MS, NODE_HEARTBEAT_MS } from '../bus.ts'
import type { FocusRegistry } from '../focus.ts'
import type { Hub } from '../hub.ts'
import { type ExpiryClock, systemClock } from '../session-expiry.ts'
import { readControl } from './control-schema.ts'
import { chunkNodeState } from './node-state.ts'

/** What every node does when access ends (published by the routes after their commit). */
export interface AccessHandlers {
  sessionEnded(sessionId: string): void
  leftRoom(roomId: string, userId: string): void
  roomDeleted(roomId: string): void
}

export interface ClusterNodeDeps {
  bus: Bus
  hub: Hub
  focus: FocusRegistry
  access: AccessHandlers
  log: Pick<FastifyBaseLogger, 'warn' | 'error' | 'debug'>
  /** Invalid messages and expired nodes are counted; `ferry_cluster_peers` reads `peers`. */
  metrics?: Metrics
  clock?: ExpiryClock
  heartbeatMs?: number
  expiryMs?: number
}

/** Another node as this one knows it. */
interface Peer {
  lastHeard: number
  /** A full state being received: its chunks' entries, complete at the node's next `node-alive`. */
  incoming?: { present: Set<string>; focused: Set<string> }
}

/**
 * Every this many heartbeats the heartbeat is a full state instead (chunks, then the `node-alive`): a
 * control message lost without anyone resyncing (the publisher's own connection failed, which the
 * receivers cannot notice) is healed within a minute.
 */
const FULL_STATE_EVERY = 6

/** At most one log line per this long about invalid control messages (each is counted in the metrics). */
const INVALID_LOG_INTERVAL_MS = 10_000

/** Nodes dropped by expiry, remembered so that one heard from again is asked for its state. */
const EXPIRED_REMEMBERED = 256

const key = (roomId: string, userId: string) => `${roomId} ${userId}`

/**
 * This node's part in the cluster (docs/SCALING.md, "Presence, typing and
 * focus across processes" and "Access changes"): reads and validates every
 * control message off the bus, hands presence and typing to the Hub, focus to
 * the FocusRegistry and access changes to the sockets; says `node-alive`
 * every heartbeat, drops a node not heard from for the expiry time, and
 * exchanges full states when a node starts or its bus resyncs, and every
 * minute besides.
 *
 * A node's full state is its `node-state` chunks followed by a `node-alive`
 * (published together, so nothing of the node comes between them on an
 * ordered channel): a receiver adds each chunk's entries at once and, at the
 * `node-alive`, forgets what the node had before and did not list again.
 * Messages of this node's own (the bus echoes them synchronously) are skipped:
 * the Hub and the registry count this node's sockets themselves.
 */
export class ClusterNode {
  readonly #deps: ClusterNodeDeps
  readonly #clock: ExpiryClock
  readonly #heartbeatMs: number
  readonly #expiryMs: number
  readonly #peers = new Map<string, Peer>()
  readonly #expired = new Set<string>()
  readonly #unsubscribe: (() => void)[] = []
  #heartbeat: unknown
  #beats = 0
  #expiryTimer: unknown
  #expiryAt = Number.POSITIVE_INFINITY
  #running = false
  #invalidLoggedAt = Number.NEGATIVE_INFINITY
  #invalidSinceLog = 0

  constructor(deps: ClusterNodeDeps) {
    this.#deps = deps
    this.#clock = deps.clock ?? systemClock
    this.#heartbeatMs = deps.heartbeatMs ?? NODE_HEARTBEAT_MS
    this.#expiryMs = deps.expiryMs ?? NODE_EXPIRY_MS
    const { bus, focus } = deps
    this.#unsubscribe.push(
      bus.subscribeControl((raw) => this.#receive(raw)),
      bus.onResync(() => this.#guard(() => this.#exchangeState())),
      focus.onLocalChange((roomId, userId, focused) =>
        this.#publish({ kind: 'focus', nodeId: bus.nodeId, roomId, userId, focused }),
      ),
    )
  }

  get nodeId(): string {
    return this.#deps.bus.nodeId
  }

  /** The other nodes this one has heard from and not dropped. */
  get peers(): string[] {
    return [...this.#peers.keys()]
  }

  /** Joins the cluster: asks every node for its state, gives its own, and starts the heartbeat. */
  start(): void {
    if (this.#running) return
    this.#running = true
    this.#exchangeState()
    this.#armHeartbeat()
    for (const peer of this.#peers.values()) this.#armExpiry(peer.lastHeard + this.#expiryMs)
  }

  /** Clean shutdown: `node-gone` first, so every other node drops this one's presence and focus at once. */
  stop(): void {
    if (this.#running) {
      this.#running = false
      this.#clock.clearTimer(this.#heartbeat)
      this.#clock.clearTimer(this.#expiryTimer)
      this.#expiryAt = Number.POSITIVE_INFINITY
      this.#publish({ kind: 'node-gone', nodeId: this.nodeId })
    }
    // Also when it never started (the app closed before ready): nothing of this node is listened to any more.
    this.#deps.hub.stopAnnouncing()
    for (const stop of this.#unsubscribe.splice(0)) stop()
  }

  #receive(raw: unknown): void {
    const reading = readControl(raw)
    if (!reading.ok) {
      this.#deps.metrics?.controlInvalid.inc()
      // A flood of garbage on the channel must not flood the log: one line per interval, with how many since.
      const now = this.#clock.now()
      this.#invalidSinceLog++
      if (now - this.#invalidLoggedAt >= INVALID_LOG_INTERVAL_MS) {
        this.#deps.log.warn(
          { kind: reading.kind, problem: reading.problem, dropped: this.#invalidSinceLog },
          'bus control message dropped: invalid',
        )
        this.#invalidLoggedAt = now
        this.#invalidSinceLog = 0
      }
      return
    }
    this.#guard(() => this.#handle(reading.message))
  }

  #handle(message: ControlMessage): void {
    const { hub, focus, access } = this.#deps
    switch (message.kind) {
      case 'session-ended':
        access.sessionEnded(message.sessionId)
        return
      case 'left-room':
        access.leftRoom(message.roomId, message.userId)
        return
      case 'room-deleted':
        access.roomDeleted(message.roomId)
        return
    }
    const nodeId = message.nodeId
    if (nodeId === this.nodeId) return
    if (message.kind === 'node-gone') {
      this.#drop(nodeId)
      return
    }
    const peer = this.#heard(nodeId)
    switch (message.kind) {
      case 'presence': {
        const { roomId, user, present } = message
        hub.remotePresence(nodeId, roomId, user, present)
        if (present) peer.incoming?.present.add(key(roomId, user.userId))
        else peer.incoming?.present.delete(key(roomId, user.userId))
        return
      }
      case 'typing':
        hub.remoteTyping(nodeId, message.roomId, message.user, message.expiresInMs)
        return
      case 'focus': {
        const { roomId, userId, focused } = message
        focus.setRemote(nodeId, roomId, userId, focused)
        if (focused) peer.incoming?.focused.add(key(roomId, userId))
        else peer.incoming?.focused.delete(key(roomId, userId))
        return
      }
      case 'node-state': {
        peer.incoming ??= { present: new Set(), focused: new Set() }
        for (const [roomId, userId, username] of message.present) {
          hub.remotePresence(nodeId, roomId, { userId, username }, true)
          peer.incoming.present.add(key(roomId, userId))
        }
        for (const [roomId, userId] of message.focused) {
          focus.setRemote(nodeId, roomId, userId, true)
          peer.incoming.focused.add(key(roomId, userId))
        }
        return
      }
      case 'node-alive': {
        const incoming = peer.incoming
        if (!incoming) return
        peer.incoming = undefined
        hub.retainPresence(nodeId, (roomId, userId) => incoming.present.has(key(roomId, userId)))
        focus.retainRemote(nodeId, (roomId, userId) => incoming.focused.has(key(roomId, userId)))
        return
      }
      case 'state-request':
        this.#publishState()
        return
    }
  }

  /** Any word from a node keeps it alive; a node dropped by expiry that speaks again is asked for its state. */
  #heard(nodeId: string): Peer {
    const now = this.#clock.now()
    let peer = this.#peers.get(nodeId)
    if (peer) {
      peer.lastHeard = now
      return peer
    }
    peer = { lastHeard: now }
    this.#peers.set(nodeId, peer)
    if (this.#expired.delete(nodeId)) {
      this.#deps.log.warn({ nodeId }, 'a node dropped for silence spoke again: asking for its state')
      this.#publish({ kind: 'state-request', nodeId: this.nodeId })
    }
    this.#armExpiry(now + this.#expiryMs)
    return peer
  }

  #drop(nodeId: string): void {
    this.#peers.delete(nodeId)
    this.#deps.hub.dropNode(nodeId)
    this.#deps.focus.dropNode(nodeId)
  }

  #exchangeState(): void {
    this.#publish({ kind: 'state-request', nodeId: this.nodeId })
    this.#publishState()
  }

  /** This node's presence and focus in chunks, then `node-alive`, which tells receivers the state is complete. */
  #publishState(): void {
    for (const chunk of chunkNodeState(this.nodeId, this.#deps.hub.localPresence(), this.#deps.focus.localEntries())) {
      this.#publish(chunk)
    }
    this.#publish({ kind: 'node-alive', nodeId: this.nodeId })
  }

  #armHeartbeat(): void {
    this.#heartbeat = this.#clock.setTimer(() => {
      if (!this.#running) return
      if (++this.#beats % FULL_STATE_EVERY === 0) this.#publishState()
      else this.#publish({ kind: 'node-alive', nodeId: this.nodeId })
      this.#armHeartbeat()
    }, this.#heartbeatMs)
  }

  /** One timer, for the earliest possible expiry; when it fires it drops the silent nodes and re-arms. */
  #armExpiry(at: number): void {
    if (!this.#running || at >= this.#expiryAt) return
    this.#clock.clearTimer(this.#expiryTimer)
    this.#expiryAt = at
    this.#expiryTimer = this.#clock.setTimer(
      () => this.#guard(() => this.#sweep()),
      Math.max(0, at - this.#clock.now()),
    )
  }

  #sweep(): void {
    this.#expiryAt = Number.POSITIVE_INFINITY
    const now = this.#clock.now()
    let next = Number.POSITIVE_INFINITY
    for (const [nodeId, peer] of [...this.#peers]) {
      const expiresAt = peer.lastHeard + this.#expiryMs
      if (expiresAt > now) {
        next = Math.min(next, expiresAt)
        continue
      }
      this.#deps.log.warn({ nodeId }, 'a node was not heard from in time: its presence, typing and focus dropped')
      this.#drop(nodeId)
      this.#deps.metrics?.clusterNodesExpired.inc()
      this.#expired.add(nodeId)
      if (this.#expired.size > EXPIRED_REMEMBERED) this.#expired.delete(this.#expired.values().next().value!)
    }
    if (next < Number.POSITIVE_INFINITY) this.#armExpiry(next)
  }

  #publish(message: ControlMessage): void {
    this.#guard(() => this.#deps.bus.publishControl(message))
  }

  #guard(action: () => void): void {
    try {
      action()
    } catch (error) {
      this.#deps.log.error({ err: error }, 'cluster control failed')
    }
  }
}
