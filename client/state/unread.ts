/**
 * Unread messages when a room opens and while it stays open (issue 8 item 6): where the
 * "N new messages" divider goes, how much history the landing needs, how far the person has
 * read, and the "↓ N new" count of arrivals while they read further up. Pure, so unit-tested.
 */
import type { Room, RoomEvent } from '../../shared/schemas.ts'
import { TIMELINE_MAX } from './reducers.ts'

/**
 * The divider as fixed when the room was opened: it does not move while the person reads, and
 * the next open after reading has none.
 */
export interface Divider {
  /** Distinguishes one opening from the next, so the screen lands once per opening. */
  id: number
  /** The read marker at opening: the divider sits above the first message after it. */
  afterSeq: number
  /** Unread at opening, as the room list counted them. */
  count: number
  /** The history down to the first unread message is in the window (or known not to come). */
  ready: boolean
  /** The first unread message could not be loaded (offline, not on the device): the oldest held one stands in. */
  short: boolean
}

let openings = 0

/** The divider for a room opened now; null when nothing is unread (the room opens at the bottom). */
export function dividerAtOpen(room: Room | undefined): Divider | null {
  if (!room || room.role === null || room.unreadCount <= 0 || room.lastReadSeq >= room.lastSeq) return null
  openings += 1
  return { id: openings, afterSeq: room.lastReadSeq, count: room.unreadCount, ready: false, short: false }
}

/** The room list's `@`: someone mentioned the person in a message they have not read yet. */
export function mentionedUnread(room: Room): boolean {
  return room.role !== null && (room.unreadMentionSeq ?? 0) > room.lastReadSeq
}

/** The badge's cap: past it the exact number helps nobody. */
export const UNREAD_DISPLAY_MAX = 999

export function unreadNumber(count: number): string {
  return count > UNREAD_DISPLAY_MAX ? `${UNREAD_DISPLAY_MAX}+` : String(count)
}

export function dividerText(count: number): string {
  return `${unreadNumber(count)} new message${count === 1 ? '' : 's'}`
}

/** Read messages kept above the divider when landing, so the first unread one has context. */
export const LANDING_CONTEXT = 10

/** Entries to read from the cache when a room opens: the unread span plus context, within the window's bounds. */
export function landingSize(lastSeq: number, divider: Divider | null, page: number): number {
  if (!divider) return page
  return Math.min(TIMELINE_MAX, Math.max(page, lastSeq - divider.afterSeq + LANDING_CONTEXT))
}

/**
 * Whether the window reaches the first unread message: it holds the seq right after the read
 * marker (or older), or nothing older exists at all.
 */
export function reachesFirstUnread(entries: readonly RoomEvent[], hasOlder: boolean, divider: Divider): boolean {
  const first = entries[0]
  if (!first) return !hasOlder
  return first.seq <= divider.afterSeq + 1 || !hasOlder
}

/**
 * Where the divider goes among the shown entries: before the first message after the read
 * marker that someone else wrote (one's own are never unread). -1 when there is none.
 */
export function dividerIndex(
  entries: readonly { kind: string; seq: number; authorId?: string | null }[],
  divider: Divider,
  meId: string,
): number {
  return entries.findIndex((e) => e.seq > divider.afterSeq && e.kind === 'message' && e.authorId !== meId)
}

/**
 * The newest seq read through: rows are in order, each with the seq it shows and where its bottom
 * edge is; a row counts as read once its bottom edge is in view (a message taller than the screen
 * counts when its end is). Null when no row's end is in view.
 */
export function readThrough(rows: readonly { seq: number; bottom: number }[], viewBottom: number): number | null {
  let lo = 0
  let hi = rows.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (rows[mid]!.bottom <= viewBottom + 1) lo = mid + 1
    else hi = mid
  }
  return lo === 0 ? null : rows[lo - 1]!.seq
}

/** Messages from others that arrived while the person was away from the live end. */
export interface Arrivals {
  /** The first of them (where "↓ N new" takes the person). */
  firstSeq: number
  count: number
  /** Highest seq counted, so a replayed event is not counted twice. */
  upTo: number
}

/** The parts of the open room's timeline that the arrivals count reads and writes. */
export interface ArrivalWindow {
  following: boolean
  /** The newest seq when the person left the live end (or opened the room above it); null at the live end. */
  newSince?: number | null
  arrivals?: Arrivals | null
}

/** Counts new messages from others while the person is not at the live end (own ones never count). */
export function countArrivals<T extends ArrivalWindow>(
  t: T,
  events: readonly RoomEvent[],
  meId: string | undefined,
): T {
  const since = t.newSince
  if (t.following || since === null || since === undefined) return t
  let arrivals = t.arrivals ?? null
  const sorted = [...events].sort((a, b) => a.seq - b.seq)
  for (const e of sorted) {
    if (e.kind !== 'message.created' || e.authorId === meId) continue
    if (e.seq <= Math.max(since, arrivals?.upTo ?? 0)) continue
    arrivals = arrivals
      ? { ...arrivals, count: arrivals.count + 1, upTo: e.seq }
      : { firstSeq: e.seq, count: 1, upTo: e.seq }
  }
  return arrivals === (t.arrivals ?? null) ? t : { ...t, arrivals }
}

/** The "↓ N new" button's visible text (its accessible name adds what it does). */
export function arrivalsText(count: number): string {
  return `${unreadNumber(count)} new`
}
