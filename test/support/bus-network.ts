import { randomUUID } from 'node:crypto'
import {
  BUS_MAX_CONTROL_BYTES,
  type Bus,
  type ControlMessage,
  type LocalRooms,
  type ReadMarker,
  type RoomListChange,
} from '../../server/realtime/bus.ts'
import type { RoomEvent } from '../../shared/schemas.ts'

type Delivery =
  | { channel: 'events'; events: readonly RoomEvent[] }
  | { channel: 'room-list'; change: RoomListChange }
  | { channel: 'markers'; markers: readonly ReadMarker[] }
  | { channel: 'control'; message: unknown }

/** What a test may drop: a control message as it was encoded, or any other delivery. */
export type DropRule = (delivery: Delivery, from: string, to: string) => boolean

/**
 * A test-only network of buses, one per simulated node, in one process: what
 * one node publishes reaches its own handlers synchronously (as every Bus
 * promises) and every other node's on a later turn of the event loop, in
 * publish order per sender, the way a pub/sub channel delivers. Control
 * messages travel as JSON (and must fit BUS_MAX_CONTROL_BYTES), so receivers
 * see what a real transport would hand them. A test can drop deliveries,
 * inject raw messages, hold a node's mail, and tell a node it resynced.
 */
export class BusNetwork {
  readonly buses: NetworkBus[] = []
  /** Deliveries dropped so far (tests check their rule matched). */
  dropped = 0
  #drop: DropRule | undefined
  readonly #queue: (() => void)[] = []
  #scheduled = false

  bus(): NetworkBus {
    const bus = new NetworkBus(this)
    this.buses.push(bus)
    return bus
  }

  dropWhen(rule: DropRule | undefined): void {
    this.#drop = rule
  }

  /** Resolves once every delivery queued so far (and those they caused) has been handed over. */
  async settle(): Promise<void> {
    while (this.#queue.length > 0 || this.#scheduled) await new Promise((resolve) => setImmediate(resolve))
  }

  /** Something written to the channel by anyone (another version, garbage): to every node but `except`. */
  inject(message: unknown, except?: NetworkBus): void {
    for (const bus of this.buses) if (bus !== except) this.#enqueue(() => bus.receive({ channel: 'control', message }))
  }

  send(from: NetworkBus, delivery: Delivery): void {
    for (const to of this.buses) {
      if (to === from || to.closed) continue
      if (this.#drop?.(delivery, from.nodeId, to.nodeId)) {
        this.dropped++
        continue
      }
      this.#enqueue(() => to.receive(delivery))
    }
  }

  #enqueue(task: () => void): void {
    this.#queue.push(task)
    if (this.#scheduled) return
    this.#scheduled = true
    setImmediate(() => this.#flush())
  }

  #flush(): void {
    // One message per turn: the receivers' own async work (database reads) interleaves like on a real channel.
    const task = this.#queue.shift()
    task?.()
    if (this.#queue.length > 0) setImmediate(() => this.#flush())
    else this.#scheduled = false
  }
}

export class NetworkBus implements Bus {
  readonly nodeId = randomUUID()
  closed = false
  /** While set, deliveries to this node wait here (a node whose connection is down). */
  held: Delivery[] | undefined
  readonly #events = new Set<(events: readonly RoomEvent[]) => void>()
  readonly #own = new Set<(events: readonly RoomEvent[]) => void>()
  readonly #lists = new Set<(change: RoomListChange) => void>()
  readonly #markers = new Set<(markers: readonly ReadMarker[]) => void>()
  readonly #control = new Set<(message: ControlMessage) => void>()
  readonly #resync = new Set<() => void>()

  constructor(readonly network: BusNetwork) {}

  publish(events: readonly RoomEvent[]): void {
    if (events.length === 0) return
    for (const handler of this.#events) handler(events)
    for (const handler of this.#own) handler(events)
    this.network.send(this, { channel: 'events', events })
  }

  subscribe(handler: (events: readonly RoomEvent[]) => void): () => void {
    return add(this.#events, handler)
  }

  subscribeOwn(handler: (events: readonly RoomEvent[]) => void): () => void {
    return add(this.#own, handler)
  }

  publishRoomList(change: RoomListChange): void {
    for (const handler of this.#lists) handler(change)
    this.network.send(this, { channel: 'room-list', change })
  }

  subscribeRoomList(handler: (change: RoomListChange) => void): () => void {
    return add(this.#lists, handler)
  }

  publishReadMarkers(markers: readonly ReadMarker[]): void {
    if (markers.length === 0) return
    for (const handler of this.#markers) handler(markers)
    this.network.send(this, { channel: 'markers', markers })
  }

  subscribeReadMarkers(handler: (markers: readonly ReadMarker[]) => void): () => void {
    return add(this.#markers, handler)
  }

  publishControl(message: ControlMessage): void {
    const encoded = JSON.stringify(message)
    if (Buffer.byteLength(encoded) > BUS_MAX_CONTROL_BYTES) {
      throw new Error(`control message of ${Buffer.byteLength(encoded)} bytes exceeds BUS_MAX_CONTROL_BYTES`)
    }
    for (const handler of this.#control) handler(message)
    this.network.send(this, { channel: 'control', message: JSON.parse(encoded) })
  }

  subscribeControl(handler: (message: ControlMessage) => void): () => void {
    return add(this.#control, handler)
  }

  onResync(handler: () => void): () => void {
    return add(this.#resync, handler)
  }

  /** Room events are delivered in order by the network itself: no database reads to scope. */
  watchRooms(_rooms: LocalRooms): () => void {
    return () => {}
  }

  /** The network never loses room-list changes. */
  onRoomListLoss(_handler: () => void): () => void {
    return () => {}
  }

  /** The transport lost messages and is back: what a reconnect does. */
  resync(): void {
    for (const handler of this.#resync) handler()
  }

  /** Stops delivering to this node until `release`. */
  hold(): void {
    this.held ??= []
  }

  /** Hands over what was held (or drops it: `lose`). */
  release({ lose = false } = {}): void {
    const held = this.held ?? []
    this.held = undefined
    if (!lose) for (const delivery of held) this.receive(delivery)
  }

  receive(delivery: Delivery): void {
    if (this.closed) return
    if (this.held) {
      this.held.push(delivery)
      return
    }
    switch (delivery.channel) {
      case 'events':
        for (const handler of this.#events) handler(delivery.events)
        return
      case 'room-list':
        for (const handler of this.#lists) handler(delivery.change)
        return
      case 'markers':
        for (const handler of this.#markers) handler(delivery.markers)
        return
      case 'control':
        // Unvalidated, as read off a wire: the subscriber checks it.
        for (const handler of this.#control) handler(delivery.message as ControlMessage)
        return
    }
  }

  async close(): Promise<void> {
    this.closed = true
    this.#events.clear()
    this.#own.clear()
    this.#lists.clear()
    this.#markers.clear()
    this.#control.clear()
    this.#resync.clear()
  }
}

function add<T>(set: Set<T>, item: T): () => void {
  set.add(item)
  return () => {
    set.delete(item)
  }
}
