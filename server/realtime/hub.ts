import type { PresenceUser } from '../../shared/protocol.ts'
import type { RoomEvent } from '../../shared/schemas.ts'
import type { Bus, LocalRooms, ReadMarker } from './bus.ts'
import { type PresenceChange, PresenceDirectory } from './cluster/presence-directory.ts'
import { encodeFrame } from './frames.ts'

/** What the hub needs from a socket (implemented by Connection). */
export interface Subscriber {
  readonly user: PresenceUser
  /** Committed events of a room, in seq order; `frame` is the encoded events frame, shared by every subscriber. */
  deliver(roomId: string, events: readonly RoomEvent[], frame: Buffer): void
  /** Whether the room's replay is done on this socket: only then does it get presence and typing. */
  isLive(roomId: string): boolean
  /** The highest seq this socket was sent for the room, when it takes live events as they come (undefined while it holds them back: replaying). */
  sentUpTo(roomId: string): number | undefined
  sendShared(frame: Buffer): void
  /** Whether the client knows the frames of PROTOCOL_VERSION 2 (`receipts`, `read_marker`). */
  readonly speaksReceipts: boolean
}

interface PresenceEntry {
  user: PresenceUser
  sockets: number
}

/** Another node's typing signal as relayed, kept until it expires so the node's end can end it. */
interface RemoteTyping {
  roomId: string
  user: PresenceUser
  /** By `now()`. */
  until: number
}

/** Another node's running typing signals kept before the expired ones are swept out. */
const REMOTE_TYPING_PRUNE_AT = 256

export interface HubOptions {
  /** Milliseconds, for remote typing signals' expiry (injected by tests with the cluster clock). */
  now?: () => number
  /** Told how long each delivered batch took to reach this node's sockets (ferry_fanout_seconds). */
  onFanOut?: (seconds: number) => void
}

interface TypingEntry {
  timer: ReturnType<typeof setTimeout>
  relayedAt: number
}

function groupByRoom(events: readonly RoomEvent[]): Map<string, RoomEvent[]> {
  const rooms = new Map<string, RoomEvent[]>()
  for (const event of events) {
    const list = rooms.get(event.roomId)
    if (list) list.push(event)
    else rooms.set(event.roomId, [event])
  }
  return rooms
}

/**
 * This node's fan-out: bus events to the sockets subscribed to each room
 * (serialised once per room and batch), presence counted per user across all
 * of their sockets, and typing signals that live only in memory and expire.
 *
 * Across processes (docs/SCALING.md): this node counts its own sockets and
 * announces a user's first and last one per room with a `presence` control
 * message; the cluster-wide answer, who is present through any node, is the
 * PresenceDirectory, fed with this node's changes directly and with other
 * nodes' by the ClusterNode (server/realtime/cluster/). Typing is relayed to
 * the other nodes too, and they hand it to their sockets.
 */
export class Hub implements LocalRooms {
  readonly #rooms = new Map<string, Set<Subscriber>>()
  /** This node's sockets, counted per room and user. */
  readonly #presence = new Map<string, Map<string, PresenceEntry>>()
  readonly #directory = new PresenceDirectory()
  readonly #typing = new Map<string, Map<string, TypingEntry>>()
  /** nodeId → `roomId userId` → the node's typing signal still running. */
  readonly #remoteTyping = new Map<string, Map<string, RemoteTyping>>()
  readonly #stopListening: () => void
  readonly #stopMarkers: () => void
  readonly #now: () => number
  /** Off after the node said `node-gone`: what its closing sockets do is no longer news. */
  #announcing = true
  readonly #stopWatching: () => void
  readonly #onFanOut: ((seconds: number) => void) | undefined

  constructor(
    readonly bus: Bus,
    readonly typingTtlMs: number,
    readonly onError: (error: unknown) => void,
    options: HubOptions = {},
  ) {
    this.#now = options.now ?? Date.now
    this.#onFanOut = options.onFanOut
    this.#stopListening = bus.subscribe((events) => this.#fanOut(events))
    this.#stopMarkers = bus.subscribeReadMarkers((markers) => this.#fanOutReceipts(markers))
    this.#stopWatching = bus.watchRooms(this)
  }

  /** LocalRooms (a cross-process bus): the room's subscriber set, new each time the room is followed again after nobody did. */
  interest(roomId: string): object | undefined {
    return this.#rooms.get(roomId)
  }

  /** LocalRooms (a cross-process bus): the lowest seq a live socket here was sent; null when every one still replays. */
  lowestSent(roomId: string): number | null | undefined {
    const subscribers = this.#rooms.get(roomId)
    if (!subscribers) return undefined
    let lowest: number | null = null
    for (const subscriber of subscribers) {
      const sent = subscriber.sentUpTo(roomId)
      if (sent !== undefined && (lowest === null || sent < lowest)) lowest = sent
    }
    return lowest
  }

  rooms(): Iterable<string> {
    return this.#rooms.keys()
  }

  attach(roomId: string, subscriber: Subscriber): void {
    let subscribers = this.#rooms.get(roomId)
    if (!subscribers) {
      subscribers = new Set()
      this.#rooms.set(roomId, subscribers)
    }
    subscribers.add(subscriber)
  }

  detach(roomId: string, subscriber: Subscriber): void {
    const subscribers = this.#rooms.get(roomId)
    if (!subscribers) return
    subscribers.delete(subscriber)
    if (subscribers.size === 0) this.#rooms.delete(roomId)
  }

  /**
   * Counts one more socket of the user in the room. The first on this node is
   * announced to the cluster; the room hears `presence_join` when no node had
   * the user before.
   */
  join(roomId: string, subscriber: Subscriber): void {
    let users = this.#presence.get(roomId)
    if (!users) {
      users = new Map()
      this.#presence.set(roomId, users)
    }
    const entry = users.get(subscriber.user.userId)
    if (entry) {
      entry.sockets++
      return
    }
    users.set(subscriber.user.userId, { user: subscriber.user, sockets: 1 })
    this.#tell(this.#directory.add(this.bus.nodeId, roomId, subscriber.user))
    this.#announce({ kind: 'presence', nodeId: this.bus.nodeId, roomId, user: subscriber.user, present: true })
  }

  /** Counts one socket less; the room hears `presence_leave` when the user's last socket on the last node goes. */
  leave(roomId: string, subscriber: Subscriber): void {
    const users = this.#presence.get(roomId)
    const entry = users?.get(subscriber.user.userId)
    if (!users || !entry) return
    if (--entry.sockets > 0) return
    users.delete(subscriber.user.userId)
    if (users.size === 0) this.#presence.delete(roomId)
    this.#stopTyping(roomId, subscriber.user)
    this.#tell(this.#directory.remove(this.bus.nodeId, roomId, subscriber.user.userId))
    this.#announce({ kind: 'presence', nodeId: this.bus.nodeId, roomId, user: subscriber.user, present: false })
  }

  /** Who is present in the room through any node: the snapshot a socket gets when it goes live. */
  presentUsers(roomId: string): PresenceUser[] {
    return this.#directory.users(roomId)
  }

  // ---- other nodes (called by the ClusterNode with validated control messages) ----

  /** Another node's user came or went in the room. */
  remotePresence(nodeId: string, roomId: string, user: PresenceUser, present: boolean): void {
    if (nodeId === this.bus.nodeId) return
    this.#tell(
      present ? this.#directory.add(nodeId, roomId, user) : this.#directory.remove(nodeId, roomId, user.userId),
    )
  }

  /** A full state of another node arrived: its users it no longer lists leave. */
  retainPresence(nodeId: string, keep: (roomId: string, userId: string) => boolean): void {
    if (nodeId === this.bus.nodeId) return
    for (const change of this.#directory.retainOnly(nodeId, keep)) this.#tell(change)
  }

  /** Another node's user types (or stopped: `expiresInMs` 0): this node's live sockets in the room hear it. */
  remoteTyping(nodeId: string, roomId: string, user: PresenceUser, expiresInMs: number): void {
    if (nodeId === this.bus.nodeId) return
    let running = this.#remoteTyping.get(nodeId)
    const key = `${roomId} ${user.userId}`
    if (expiresInMs > 0) {
      if (!running) {
        running = new Map()
        this.#remoteTyping.set(nodeId, running)
      }
      const now = this.#now()
      // Ends that never arrived (a lost `expiresInMs` 0) are let go here, not kept until the node goes.
      if (running.size >= REMOTE_TYPING_PRUNE_AT) {
        for (const [entryKey, entry] of running) if (entry.until <= now) running.delete(entryKey)
      }
      running.set(key, { roomId, user, until: now + expiresInMs })
    } else if (running?.delete(key) && running.size === 0) {
      this.#remoteTyping.delete(nodeId)
    }
    this.#sendTyping(roomId, user, expiresInMs)
  }

  /** The node is gone: its users leave where no other node has them, and their typing ends now. */
  dropNode(nodeId: string): void {
    if (nodeId === this.bus.nodeId) return
    for (const change of this.#directory.dropNode(nodeId)) this.#tell(change)
    const now = this.#now()
    for (const { roomId, user, until } of this.#remoteTyping.get(nodeId)?.values() ?? []) {
      if (until > now) this.#sendTyping(roomId, user, 0)
    }
    this.#remoteTyping.delete(nodeId)
  }

  /** [roomId, userId, username] of the users present through this node: its `node-state`. */
  localPresence(): [string, string, string][] {
    return this.#directory.entriesOf(this.bus.nodeId)
  }

  /** The node is shutting down and said `node-gone`: its sockets' goodbyes are not published one by one. */
  stopAnnouncing(): void {
    this.#announcing = false
  }

  /**
   * "User is typing in room": relayed to the room's other users at once, then
   * at most every half TTL while renewed; without renewal it ends after the
   * TTL with a `typing` notice whose expiresInMs is 0.
   */
  typing(roomId: string, user: PresenceUser): void {
    let users = this.#typing.get(roomId)
    if (!users) {
      users = new Map()
      this.#typing.set(roomId, users)
    }
    const now = performance.now()
    const entry = users.get(user.userId)
    if (entry) clearTimeout(entry.timer)
    const relay = !entry || now - entry.relayedAt >= this.typingTtlMs / 2
    users.set(user.userId, {
      timer: setTimeout(() => this.#stopTyping(roomId, user), this.typingTtlMs),
      relayedAt: relay ? now : entry!.relayedAt,
    })
    if (relay) this.#relayTyping(roomId, user, this.typingTtlMs)
  }

  close(): void {
    this.#announcing = false
    this.#stopListening()
    this.#stopMarkers()
    this.#stopWatching()
    for (const users of this.#typing.values()) for (const entry of users.values()) clearTimeout(entry.timer)
    this.#typing.clear()
    this.#remoteTyping.clear()
    this.#presence.clear()
    this.#rooms.clear()
  }

  /** A cluster-wide change, to this node's live sockets in the room (not the joining user's own). */
  #tell(change: PresenceChange | undefined): void {
    if (!change) return
    if (change.kind === 'join') {
      this.#broadcast(
        change.roomId,
        { type: 'presence_join', roomId: change.roomId, user: change.user },
        change.user.userId,
      )
    } else {
      this.#broadcast(change.roomId, { type: 'presence_leave', roomId: change.roomId, userId: change.userId })
    }
  }

  /** To the other nodes; a bus that fails to publish costs the cluster a presence change, never this node's socket. */
  #announce(message: Parameters<Bus['publishControl']>[0]): void {
    if (!this.#announcing) return
    this.#guard(() => this.bus.publishControl(message))
  }

  #stopTyping(roomId: string, user: PresenceUser): void {
    const users = this.#typing.get(roomId)
    const entry = users?.get(user.userId)
    if (!users || !entry) return
    clearTimeout(entry.timer)
    users.delete(user.userId)
    if (users.size === 0) this.#typing.delete(roomId)
    this.#relayTyping(roomId, user, 0)
  }

  /** This node's user: to this node's sockets at once, and to the other nodes. */
  #relayTyping(roomId: string, user: PresenceUser, expiresInMs: number): void {
    this.#sendTyping(roomId, user, expiresInMs)
    this.#announce({ kind: 'typing', nodeId: this.bus.nodeId, roomId, user, expiresInMs })
  }

  #sendTyping(roomId: string, user: PresenceUser, expiresInMs: number): void {
    this.#broadcast(
      roomId,
      { type: 'typing', roomId, userId: user.userId, username: user.username, expiresInMs },
      user.userId,
    )
  }

  /** To every live socket in the room, except those of `exceptUserId` (and those `skip` names). */
  #broadcast(
    roomId: string,
    frame: Parameters<typeof encodeFrame>[0],
    exceptUserId?: string,
    skip?: (subscriber: Subscriber) => boolean,
  ): void {
    const subscribers = this.#rooms.get(roomId)
    if (!subscribers) return
    let encoded: Buffer | undefined
    for (const subscriber of subscribers) {
      if (subscriber.user.userId === exceptUserId || !subscriber.isLive(roomId) || skip?.(subscriber)) continue
      encoded ??= Buffer.from(encodeFrame(frame))
      this.#guard(() => subscriber.sendShared(encoded!))
    }
  }

  /** One `receipts` frame per room of a flush, to the room's live sockets that know the frame. */
  #fanOutReceipts(markers: readonly ReadMarker[]): void {
    const byRoom = new Map<string, { userId: string; lastReadSeq: number }[]>()
    for (const { roomId, userId, lastReadSeq } of markers) {
      const readers = byRoom.get(roomId)
      if (readers) readers.push({ userId, lastReadSeq })
      else byRoom.set(roomId, [{ userId, lastReadSeq }])
    }
    for (const [roomId, readers] of byRoom) {
      this.#guard(() =>
        this.#broadcast(roomId, { type: 'receipts', roomId, readers }, undefined, (s) => !s.speaksReceipts),
      )
    }
  }

  /** Called by the appender right after a commit: nothing may throw back into it. */
  #fanOut(events: readonly RoomEvent[]): void {
    const started = performance.now()
    try {
      for (const [roomId, roomEvents] of groupByRoom(events)) {
        const subscribers = this.#rooms.get(roomId)
        if (!subscribers) continue
        const frame = Buffer.from(encodeFrame({ type: 'events', roomId, events: roomEvents }))
        for (const subscriber of subscribers) {
          try {
            subscriber.deliver(roomId, roomEvents, frame)
          } catch (error) {
            this.onError(error)
          }
        }
      }
      this.#onFanOut?.((performance.now() - started) / 1000)
    } catch (error) {
      this.onError(error)
    }
  }

  #guard(action: () => void): void {
    try {
      action()
    } catch (error) {
      this.onError(error)
    }
  }
}
