import { randomUUID } from 'node:crypto'
import type { PresenceUser } from '../../shared/protocol.ts'
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
 * Cluster control messages (issue 11, docs/SCALING.md): what one node must
 * tell every other node that is not a room event. Small JSON: a message's
 * encoded size must stay under BUS_MAX_CONTROL_BYTES (PostgreSQL NOTIFY
 * payloads stop at 8,000 bytes), so state is sent in chunks.
 *
 * Access (issue 11 item 4), published after the change committed:
 * - `session-ended`: logged out or revoked; its sockets close (4001) on every node;
 * - `left-room`: the user may no longer read the private room; their sockets stop following it;
 * - `room-deleted`: every socket following the room stops.
 *
 * Presence, typing and focus (item 3), from the node that holds the sockets:
 * - `presence`: the user's first socket on `nodeId` went live in the room (`present: true`)
 *   or their last one there left it (`false`);
 * - `typing`: relayed by the user's node; `expiresInMs` 0 ends it;
 * - `focus`: the user's first socket on `nodeId` shows the room (`true`) or the last one stopped (`false`);
 * - `node-alive`: every NODE_HEARTBEAT_MS; a node not heard from for NODE_EXPIRY_MS is
 *   gone and its presence and focus are dropped everywhere (kill -9);
 * - `node-gone`: a clean shutdown says so at once;
 * - `state-request`: a node that (re)joined asks every other node for its state;
 * - `node-state`: one chunk of a node's presence and focus, the answer (and sent after a resync).
 */
export type ControlMessage =
  | { kind: 'session-ended'; sessionId: string }
  | { kind: 'left-room'; roomId: string; userId: string }
  | { kind: 'room-deleted'; roomId: string }
  | { kind: 'presence'; nodeId: string; roomId: string; user: PresenceUser; present: boolean }
  | { kind: 'typing'; nodeId: string; roomId: string; user: PresenceUser; expiresInMs: number }
  | { kind: 'focus'; nodeId: string; roomId: string; userId: string; focused: boolean }
  | { kind: 'node-alive'; nodeId: string }
  | { kind: 'node-gone'; nodeId: string }
  | { kind: 'state-request'; nodeId: string }
  | {
      kind: 'node-state'
      nodeId: string
      /** [roomId, userId, username] of each user present through this node. */
      present: [string, string, string][]
      /** [roomId, userId] of each user focused through this node. */
      focused: [string, string][]
    }

/** The largest encoded control message a bus must carry (NOTIFY's limit is 8,000 bytes, with room for the envelope). */
export const BUS_MAX_CONTROL_BYTES = 7_000
/** How often a node says it is alive, and after how long without a word it counts as gone. */
export const NODE_HEARTBEAT_MS = 10_000
export const NODE_EXPIRY_MS = 30_000

/**
 * Carries committed room events from the node that appended them to every
 * node's hub. Publish happens after commit, once per batch. The in-process
 * bus hands the events over directly; a cross-process bus (PostgreSQL
 * LISTEN/NOTIFY or Redis, server/realtime/bus/) publishes pointers, or the
 * events when they are small, and has each node read missing events from the
 * database before calling its handlers: the database stays the truth and the
 * interface stays the same.
 *
 * Delivery promises every implementation keeps:
 * - `subscribe` handlers see each room's events in seq order without gaps,
 *   whichever node committed them (a skipped-ahead pointer is filled from the
 *   database first); a handler may still see a room start at any seq.
 * - The publishing node's own handlers (events, room list, markers, control)
 *   are called synchronously inside `publish*`; the transport's echo of its own
 *   messages is dropped.
 * - `subscribeOwn` handlers see only the events this node committed: work
 *   that must happen once per event in the cluster (Web Push) hangs there.
 * - `onResync` handlers run after the transport lost messages it cannot
 *   account for (a dropped LISTEN connection, a Redis reconnect) and is back:
 *   room events are re-read by the bus itself; handlers re-announce and
 *   re-request state (presence, focus) carried by control messages.
 *
 * Room-list changes (the per-user stream, docs/PROTOCOL.md) travel the same
 * way, published after their commit; they are pointers already.
 */
export interface Bus {
  /** This process's id in the cluster (random per start). */
  readonly nodeId: string
  publish(events: readonly RoomEvent[]): void
  subscribe(handler: (events: readonly RoomEvent[]) => void): () => void
  /** Events committed by this node only (called with the same batches as `subscribe`, after it). */
  subscribeOwn(handler: (events: readonly RoomEvent[]) => void): () => void
  publishRoomList(change: RoomListChange): void
  subscribeRoomList(handler: (change: RoomListChange) => void): () => void
  /** Markers written by one flush, published after its commit. */
  publishReadMarkers(markers: readonly ReadMarker[]): void
  subscribeReadMarkers(handler: (markers: readonly ReadMarker[]) => void): () => void
  publishControl(message: ControlMessage): void
  subscribeControl(handler: (message: ControlMessage) => void): () => void
  onResync(handler: () => void): () => void
  /**
   * The rooms this node's sockets follow (the hub): a cross-process bus reads
   * only these from the database, and starts a room's order from the lowest
   * seq its live sockets were sent. Without a source every room counts.
   */
  watchRooms(rooms: LocalRooms): () => void
  /**
   * Room-list changes or read markers published by another node were lost
   * (the bus dropped and came back meanwhile): sockets must refetch their
   * room list (realtime closes them with 1001 and the clients resume).
   */
  onRoomListLoss(handler: () => void): () => void
  close(): Promise<void>
}

/** What a cross-process bus asks of this node's fan-out (implemented by the Hub). */
export interface LocalRooms {
  /**
   * Whether some socket here follows the room (undefined: none), as a token
   * that stays the same object while it does and is new once nobody did in
   * between: what the bus remembered of the room before is stale then.
   */
  interest(roomId: string): object | undefined
  /**
   * undefined: no socket here follows the room; null: some do, but none is
   * live yet (all still replaying); else the lowest seq a live one was sent.
   */
  lowestSent(roomId: string): number | null | undefined
  /** Every room some socket here follows. */
  rooms(): Iterable<string>
}

/** One process (embedded PGlite, tests): every publish is a direct call; nothing is ever lost, so no resync. */
export class LocalBus implements Bus {
  readonly nodeId = randomUUID()
  readonly #handlers = new Set<(events: readonly RoomEvent[]) => void>()
  readonly #ownHandlers = new Set<(events: readonly RoomEvent[]) => void>()
  readonly #listHandlers = new Set<(change: RoomListChange) => void>()
  readonly #markerHandlers = new Set<(markers: readonly ReadMarker[]) => void>()
  readonly #controlHandlers = new Set<(message: ControlMessage) => void>()

  publish(events: readonly RoomEvent[]): void {
    if (events.length === 0) return
    for (const handler of this.#handlers) handler(events)
    for (const handler of this.#ownHandlers) handler(events)
  }

  subscribe(handler: (events: readonly RoomEvent[]) => void): () => void {
    return subscribeTo(this.#handlers, handler)
  }

  subscribeOwn(handler: (events: readonly RoomEvent[]) => void): () => void {
    return subscribeTo(this.#ownHandlers, handler)
  }

  publishRoomList(change: RoomListChange): void {
    for (const handler of this.#listHandlers) handler(change)
  }

  subscribeRoomList(handler: (change: RoomListChange) => void): () => void {
    return subscribeTo(this.#listHandlers, handler)
  }

  publishReadMarkers(markers: readonly ReadMarker[]): void {
    if (markers.length === 0) return
    for (const handler of this.#markerHandlers) handler(markers)
  }

  subscribeReadMarkers(handler: (markers: readonly ReadMarker[]) => void): () => void {
    return subscribeTo(this.#markerHandlers, handler)
  }

  publishControl(message: ControlMessage): void {
    for (const handler of this.#controlHandlers) handler(message)
  }

  subscribeControl(handler: (message: ControlMessage) => void): () => void {
    return subscribeTo(this.#controlHandlers, handler)
  }

  onResync(_handler: () => void): () => void {
    return () => {}
  }

  watchRooms(_rooms: LocalRooms): () => void {
    return () => {}
  }

  onRoomListLoss(_handler: () => void): () => void {
    return () => {}
  }

  async close(): Promise<void> {
    this.#handlers.clear()
    this.#ownHandlers.clear()
    this.#listHandlers.clear()
    this.#markerHandlers.clear()
    this.#controlHandlers.clear()
  }
}

function subscribeTo<T>(handlers: Set<T>, handler: T): () => void {
  handlers.add(handler)
  return () => {
    handlers.delete(handler)
  }
}
