/** The screen's state, as signals. Fed from IndexedDB first, then the network (through the tab bus). */
import { effect, signal } from '@preact/signals'
import type { PresenceUser } from '../../shared/protocol.ts'
import type { Member, Room, RoomEvent, User } from '../../shared/schemas.ts'
import type { HeldWork } from '../db/rooms.ts'
import type { OutboxItem } from '../db/schema.ts'
import type { ConnStatus } from '../tabs/messages.ts'
import type { Typist } from './reducers.ts'
import type { Arrivals, Divider } from './unread.ts'

/**
 * The room list, one room, Discover (public rooms to join, searched on the server) or the search
 * of messages (issue 12).
 */
export type Route =
  | { name: 'rooms' }
  /**
   * `from: 'discover'`: opened by joining it in Discover, so Back returns there. `at`: a message to
   * open the room at (a notification's, `?at=seq`, issue 10).
   */
  | { name: 'room'; roomId: string; from?: 'discover'; at?: number }
  | { name: 'discover' }
  /**
   * `/search?q=&room=&in=all`: `q` the query as typed; `roomId` the room it was opened from (Back
   * returns there; the scope toggle offers "this room"); `scope` all rooms, or that room (the
   * default when opened from a room). `sort`: `relevance` (best match, `&sort=relevance`); newest
   * first when absent.
   */
  | { name: 'search'; q: string; roomId?: string; scope?: 'room' | 'all'; sort?: 'relevance' }

/**
 * The open room's window on its log: at most TIMELINE_MAX entries (reducers.ts), sorted by seq and
 * without holes of its own making. At the live end new entries are appended and the top is trimmed;
 * while the person reads further up, the newest end is trimmed instead and pages back in on scroll.
 */
export interface Timeline {
  roomId: string
  entries: RoomEvent[]
  /** Older history may exist (in the cache or on the server). */
  hasOlder: boolean
  loadingOlder: boolean
  /** Newer entries than the window's last are in the cache: the window does not reach the live end. */
  hasNewer: boolean
  /**
   * The window is an island around a message far back (issue 12, jump to a message): past its end
   * the device may have a hole, so newer entries come from the device only where it holds the next
   * seq, else from the server, until the window reaches the live range (room-view.ts loadNewer).
   */
  island?: boolean
  /** The person is at the live end (scrolled to the newest); MessageList reports it. */
  following: boolean
  /** "N new messages" as fixed when the room was opened (unread.ts); none when nothing was unread. */
  divider?: Divider | null
  /** The newest seq when the person left the live end; arrivals after it are counted for "↓ N new". */
  newSince?: number | null
  arrivals?: Arrivals | null
}

/** undefined while we do not know yet (first paint), null when signed out. */
export const user = signal<User | null | undefined>(undefined)
/** Signed out after the session ended, with messages (or drafts) of that person still kept on the device for them. */
export const heldFor = signal<HeldWork | null>(null)
export const rooms = signal<Room[]>([])
export const outbox = signal<OutboxItem[]>([])
/** A composer's unsent text as the room list uses it; `at` is when it last changed (null: an older draft without a time). */
export interface DraftNote {
  text: string
  at: string | null
}
/** Unsent text per room (the composer's drafts, from IndexedDB): the room list says "Draft: …". */
export const drafts = signal<Readonly<Record<string, DraftNote>>>({})
/**
 * Public rooms created since this page started (room_created), newest last, at most a page of
 * them: Discover shows those that match its search above its results (state/discover.ts).
 */
export const createdPublicRooms = signal<readonly Room[]>([])
/**
 * A public room opened from a link that the room list does not hold (it keeps one page of rooms
 * to discover, and a refresh may drop it): the room screen still shows it, with Join. Only ever
 * the server's row of a room the list does not hold as a member: set through showVisiting,
 * dropped once the list holds the room as a member (below).
 */
export const visiting = signal<Room | null>(null)

const listedAsMember = (roomId: string) => rooms.peek().some((r) => r.id === roomId && r.role !== null)

/**
 * The server's answer about a room opened from a link. An answer that comes while the list holds
 * the room as a member is older news than the list's row (a GET sent before a join, answered
 * after it) and is dropped.
 */
export function showVisiting(room: Room): void {
  if (!listedAsMember(room.id)) visiting.value = room
}

// Once the list holds the room as a member its row is the truth, kept current by the room-list
// stream. A copy kept here would come back as the room's state when a later refresh drops the row
// (left on another device), with the role it had when fetched: the composer for a person who must
// join again, for good. Without it the screen asks the server again (RoomView's checkRoomExists).
// A row the list holds unjoined (a visited public room, dropped by the next refresh) keeps its
// copy, so the screen stays as it is.
effect(() => {
  const shown = visiting.value
  if (shown && rooms.value.some((r) => r.id === shown.id && r.role !== null)) visiting.value = null
})

export const status = signal<ConnStatus>({ socket: 'idle', retryAt: null, catchingUp: 0, offline: false })
export const route = signal<Route>({ name: 'rooms' })
/** The open room, while nothing of it is on screen and its latest page is on its way (the status says so). */
export const roomLoading = signal<string | null>(null)
export const timeline = signal<Timeline | null>(null)
/** Room links that the server says do not exist (or are private to others): the screen says so. */
export const missingRooms = signal<ReadonlySet<string>>(new Set())
export function markMissing(roomId: string): void {
  if (!missingRooms.peek().has(roomId)) missingRooms.value = new Set([...missingRooms.peek(), roomId])
}
export const presence = signal<Record<string, PresenceUser[]>>({})
/** Room → reader → the highest seq they have read (receipts, from the leader's engine). */
export const receipts = signal<Record<string, Readonly<Record<string, number>>>>({})
export const typists = signal<Record<string, Typist[]>>({})
export const members = signal<Record<string, Member[]>>({})
/** Set when a new service worker waits; calling it activates the update and reloads. */
export const applyUpdate = signal<(() => void) | null>(null)
/**
 * The message a room was opened at (a notification's): MessageList scrolls it into view, focuses
 * and highlights it once per `id`.
 */
export const jumpTarget = signal<{ roomId: string; seq: number; id: number } | null>(null)
/** A short message for the person (an action that failed and why). */
export const notice = signal<string | null>(null)

/** The message the composer's next message replies to (issue 9), set from a message's Reply action. */
export interface ReplyDraft {
  roomId: string
  /** By seq; by clientId for one's own message not acknowledged yet. */
  target: { seq: number } | { clientId: string }
  authorName: string
  firstLine: string
}
export const replyingTo = signal<ReplyDraft | null>(null)
