import type { FastifyBaseLogger } from 'fastify'
import type { Kysely } from 'kysely'
import type { ServerFrame } from '../../shared/protocol.ts'
import type { DB } from '../db/schema.ts'
import { toRoom } from '../rooms/rooms.mapper.ts'
import { findPublicRoom, findVisibleRoom } from '../rooms/rooms.repository.ts'
import type { Bus, ReadMarker, RoomListChange } from './bus.ts'
import { encodeFrame } from './frames.ts'
import { Groups } from './groups.ts'

/** What the user stream needs from a socket (implemented by Connection). */
export interface ListSubscriber {
  readonly user: { userId: string }
  send(frame: ServerFrame): void
  sendShared(frame: Buffer): void
  /** The user lost the room (left it): stop following it; `readable` false also says `not_found`. */
  dropRoom(roomId: string, readable: boolean): void
  /** The user became a member: a socket already following the room (public, unjoined) counts them present. */
  joinedRoom(roomId: string): void
  /** Whether the client knows `read_marker` (PROTOCOL_VERSION 2). */
  readonly speaksReceipts: boolean
}

/**
 * This node's per-user room-list stream (docs/PROTOCOL.md, "Room list"):
 * room-list changes from the bus to the sockets of the user they concern.
 * Each change is a pointer; the room is read when it is delivered, so what a
 * socket is told is what the database holds then, never a private room the
 * user is not in. Changes of one user are delivered one at a time, in bus
 * order, so a quick join-then-leave cannot arrive as leave-then-join.
 */
export class UserStream {
  readonly #byUser = new Groups<ListSubscriber>()
  readonly #all = new Set<ListSubscriber>()
  /** The tail of each user's delivery chain. */
  readonly #queues = new Map<string, Promise<void>>()
  readonly #stopListening: () => void
  readonly #stopMarkers: () => void

  constructor(
    bus: Bus,
    private readonly db: Kysely<DB>,
    private readonly log: FastifyBaseLogger,
  ) {
    this.#stopListening = bus.subscribeRoomList((change) => this.#receive(change))
    this.#stopMarkers = bus.subscribeReadMarkers((markers) => this.#tellReaders(markers))
  }

  /** Registered before the socket's `hello`: a change committed after that reaches it, one before is in the list it fetches. */
  add(subscriber: ListSubscriber): void {
    this.#all.add(subscriber)
    this.#byUser.add(subscriber.user.userId, subscriber)
  }

  remove(subscriber: ListSubscriber): void {
    this.#all.delete(subscriber)
    this.#byUser.delete(subscriber.user.userId, subscriber)
  }

  close(): void {
    this.#stopListening()
    this.#stopMarkers()
    this.#all.clear()
    this.#byUser.clear()
  }

  /**
   * A reader's marker moved (on any of their devices): every socket of theirs
   * hears it with the unread count, so the room list's badge and the "new
   * messages" divider agree across devices within a flush.
   */
  #tellReaders(markers: readonly ReadMarker[]): void {
    for (const { roomId, userId, lastReadSeq, unreadCount } of markers) {
      for (const socket of this.#byUser.get(userId)) {
        if (!socket.speaksReceipts) continue
        try {
          socket.send({ type: 'read_marker', roomId, lastReadSeq, unreadCount })
        } catch (error) {
          this.log.error({ err: error, userId }, 'read marker not delivered')
        }
      }
    }
  }

  #receive(change: RoomListChange): void {
    // A new public room concerns everyone but its owner (told by `added`); its key is its own queue.
    const key = change.kind === 'created' ? `created:${change.roomId}` : change.userId
    if (change.kind !== 'created' && !this.#byUser.has(change.userId)) return
    const previous = this.#queues.get(key) ?? Promise.resolve()
    const next = previous
      .then(() => this.#deliver(change))
      .catch((error: unknown) => this.log.error({ err: error, change }, 'room-list change not delivered'))
      .finally(() => {
        if (this.#queues.get(key) === next) this.#queues.delete(key)
      })
    this.#queues.set(key, next)
  }

  async #deliver(change: RoomListChange): Promise<void> {
    switch (change.kind) {
      case 'added': {
        const row = await findVisibleRoom(this.db, change.userId, change.roomId)
        // Left again meanwhile: the `removed` behind this one says so; nothing stale is sent.
        if (!row || row.role === null) return
        const frame: ServerFrame = { type: 'room_added', room: toRoom(row) }
        for (const socket of this.#byUser.get(change.userId)) {
          socket.joinedRoom(change.roomId)
          socket.send(frame)
        }
        return
      }
      case 'changed': {
        // The whole row again, as `room_added` (idempotent on the client): name, topic, role.
        const row = await findVisibleRoom(this.db, change.userId, change.roomId)
        if (!row || row.role === null) return
        const frame: ServerFrame = { type: 'room_added', room: toRoom(row) }
        for (const socket of this.#byUser.get(change.userId)) socket.send(frame)
        return
      }
      case 'removed':
        for (const socket of this.#byUser.get(change.userId)) {
          socket.dropRoom(change.roomId, change.visibility === 'public')
          socket.send({ type: 'room_removed', roomId: change.roomId, visibility: change.visibility })
        }
        return
      case 'created': {
        if (this.#all.size === 0) return
        const row = await findPublicRoom(this.db, change.roomId)
        if (!row) return
        // Encoded once, the same bytes to every socket: O(sockets on this node) per public room created.
        const frame = Buffer.from(encodeFrame({ type: 'room_created', room: toRoom(row) }))
        for (const socket of this.#all) if (socket.user.userId !== change.ownerId) socket.sendShared(frame)
        return
      }
    }
  }
}
