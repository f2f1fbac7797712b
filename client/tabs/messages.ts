import type { PresenceUser } from '../../shared/protocol.ts'
import type { Room, RoomEvent } from '../../shared/schemas.ts'

/** What the socket is doing, as the leader tab sees it. */
export interface ConnStatus {
  socket: 'idle' | 'connecting' | 'open' | 'waiting' | 'ended'
  /** When the next reconnect attempt is due (epoch ms). */
  retryAt: number | null
  /** Rooms subscribed but not caught up yet (replay or gap fetch running). */
  catchingUp: number
  /** The browser reports no network. */
  offline: boolean
}

/** Messages between tabs (BroadcastChannel) and from the engine to this tab's state. */
export type TabMessage =
  | { type: 'events'; roomId: string; events: RoomEvent[] }
  | { type: 'room-reset'; roomId: string }
  | { type: 'rooms-changed' }
  /** The room-list stream sent the room again (room_added: a rename, a role change, a hand-over): an open member list reloads. */
  | { type: 'room-changed'; roomId: string }
  /** A public room was just created (room_created): an open Discover lists it. */
  | { type: 'room-created'; room: Room }
  | { type: 'outbox-changed' }
  | { type: 'status'; status: ConnStatus }
  | { type: 'presence'; roomId: string; users: PresenceUser[] }
  | { type: 'presence-join'; roomId: string; user: PresenceUser }
  | { type: 'presence-leave'; roomId: string; userId: string }
  /** How far each member has read the room (userId → seq), the highest heard of each. */
  | { type: 'receipts'; roomId: string; readers: Record<string, number> }
  | { type: 'typing'; roomId: string; userId: string; username: string; expiresInMs: number }
  | { type: 'signed-out' }
  | { type: 'session-ended' }
  // follower → leader
  | { type: 'flush' }
  | { type: 'send-typing'; roomId: string }
  /** A read marker waits on the room's row (`readPending`); `now`: the room was hidden or closed. */
  | { type: 'read'; roomId: string; now?: boolean }
  | { type: 'resubscribe' }
  | { type: 'who-leads' }
  /** Issue 10: this tab shows that room, visible (null: hidden, closed, or no room open); the leader sends `focus`. */
  | { type: 'focus'; tabId: string; roomId: string | null }
  /** A new leader asks every tab for its focus. */
  | { type: 'focus-ask' }
  /** A room's notification level changed on the device (state/room-levels.ts). */
  | { type: 'room-levels-changed' }
  // leader → followers
  | { type: 'heartbeat'; at: number }
