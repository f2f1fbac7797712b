import type { PresenceUser } from '../../shared/protocol.ts'
import type { RoomEvent } from '../../shared/schemas.ts'
import type { Bus, ReadMarker } from './bus.ts'
import { encodeFrame } from './frames.ts'

/** What the hub needs from a socket (implemented by Connection). */
export interface Subscriber {
  readonly user: PresenceUser
  /** Committed events of a room, in seq order; `frame` is the encoded events frame, shared by every subscriber. */
  deliver(roomId: string, events: readonly RoomEvent[], frame: Buffer): void
  /** Whether the room's replay is done on this socket: only then does it get presence and typing. */
  isLive(roomId: string): boolean
  sendShared(frame: Buffer): void
  /** Whether the client knows the frames of PROTOCOL_VERSION 2 (`receipts`, `read_marker`). */
  readonly speaksReceipts: boolean
}

interface PresenceEntry {
  user: PresenceUser
  sockets: number
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
 */
export class Hub {
  readonly #rooms = new Map<string, Set<Subscriber>>()
  readonly #presence = new Map<string, Map<string, PresenceEntry>>()
  readonly #typing = new Map<string, Map<string, TypingEntry>>()
  readonly #stopListening: () => void
  readonly #stopMarkers: () => void

  constructor(
    bus: Bus,
    readonly typingTtlMs: number,
    readonly onError: (error: unknown) => void,
  ) {
    this.#stopListening = bus.subscribe((events) => this.#fanOut(events))
    this.#stopMarkers = bus.subscribeReadMarkers((markers) => this.#fanOutReceipts(markers))
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

  /** Counts one more socket of the user in the room; the room hears `presence_join` for the first. */
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
    this.#broadcast(roomId, { type: 'presence_join', roomId, user: subscriber.user }, subscriber.user.userId)
  }

  /** Counts one socket less; the room hears `presence_leave` when the user's last socket goes. */
  leave(roomId: string, subscriber: Subscriber): void {
    const users = this.#presence.get(roomId)
    const entry = users?.get(subscriber.user.userId)
    if (!users || !entry) return
    if (--entry.sockets > 0) return
    users.delete(subscriber.user.userId)
    if (users.size === 0) this.#presence.delete(roomId)
    this.#stopTyping(roomId, subscriber.user)
    this.#broadcast(roomId, { type: 'presence_leave', roomId, userId: subscriber.user.userId })
  }

  presentUsers(roomId: string): PresenceUser[] {
    return [...(this.#presence.get(roomId)?.values() ?? [])].map((entry) => entry.user)
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
    this.#stopListening()
    this.#stopMarkers()
    for (const users of this.#typing.values()) for (const entry of users.values()) clearTimeout(entry.timer)
    this.#typing.clear()
    this.#presence.clear()
    this.#rooms.clear()
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

  #relayTyping(roomId: string, user: PresenceUser, expiresInMs: number): void {
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
