import type { RoomEvent } from '../../shared/schemas.ts'

/**
 * A member's read marker after it moved (docs/PROTOCOL.md, "Read receipts"):
 * written already, so every node tells its sockets: the room's subscribers
 * (`receipts`) and the reader's own sockets (`read_marker`, with the unread
 * count as of the write).
 */
export interface ReadMarker {
  roomId: string
  userId: string
  lastReadSeq: number
  unreadCount: number
}

/**
 * A change to who may list a room, as a pointer (ids only): each node that
 * holds a socket of the user reads the room from the database before it
 * tells the socket, so the database stays the truth across processes too.
 * - `added`: `userId` became a member (created the room, joined, was added);
 * - `removed`: `userId` is no longer a member (left); `visibility` says
 *   whether they may still read it (public) or lost it altogether (private);
 * - `created`: a new public room, for every signed-in user's discover list;
 * - `changed`: the room as `userId` sees it changed (renamed, their role), for a member.
 */
export type RoomListChange =
  | { kind: 'added'; userId: string; roomId: string }
  | { kind: 'removed'; userId: string; roomId: string; visibility: 'public' | 'private' }
  | { kind: 'created'; roomId: string; ownerId: string }
  | { kind: 'changed'; userId: string; roomId: string }

/**
 * Carries committed room events from the node that appended them to every
 * node's hub. Publish happens after commit, once per batch. The in-process
 * bus hands the events over directly; a cross-process bus (PostgreSQL
 * LISTEN/NOTIFY or Redis) would publish `{roomId, seq}` pointers and have each
 * node read the events from the database before calling its handlers: the
 * database stays the truth and the interface stays the same.
 *
 * Room-list changes (the per-user stream, docs/PROTOCOL.md) travel the same
 * way, published after their commit; they are pointers already.
 */
export interface Bus {
  publish(events: readonly RoomEvent[]): void
  subscribe(handler: (events: readonly RoomEvent[]) => void): () => void
  publishRoomList(change: RoomListChange): void
  subscribeRoomList(handler: (change: RoomListChange) => void): () => void
  /** Markers written by one flush, published after its commit. */
  publishReadMarkers(markers: readonly ReadMarker[]): void
  subscribeReadMarkers(handler: (markers: readonly ReadMarker[]) => void): () => void
  close(): Promise<void>
}

export class LocalBus implements Bus {
  readonly #handlers = new Set<(events: readonly RoomEvent[]) => void>()
  readonly #listHandlers = new Set<(change: RoomListChange) => void>()
  readonly #markerHandlers = new Set<(markers: readonly ReadMarker[]) => void>()

  publish(events: readonly RoomEvent[]): void {
    if (events.length === 0) return
    for (const handler of this.#handlers) handler(events)
  }

  subscribe(handler: (events: readonly RoomEvent[]) => void): () => void {
    this.#handlers.add(handler)
    return () => this.#handlers.delete(handler)
  }

  publishRoomList(change: RoomListChange): void {
    for (const handler of this.#listHandlers) handler(change)
  }

  subscribeRoomList(handler: (change: RoomListChange) => void): () => void {
    this.#listHandlers.add(handler)
    return () => this.#listHandlers.delete(handler)
  }

  publishReadMarkers(markers: readonly ReadMarker[]): void {
    if (markers.length === 0) return
    for (const handler of this.#markerHandlers) handler(markers)
  }

  subscribeReadMarkers(handler: (markers: readonly ReadMarker[]) => void): () => void {
    this.#markerHandlers.add(handler)
    return () => this.#markerHandlers.delete(handler)
  }

  async close(): Promise<void> {
    this.#handlers.clear()
    this.#listHandlers.clear()
    this.#markerHandlers.clear()
  }
}
