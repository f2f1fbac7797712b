/**
 * Pure functions from what we hold to what the screen shows. No I/O here, so
 * every rule about edits, deletes, order and counts is unit-tested.
 */
import type { PresenceUser } from '../../shared/protocol.ts'
import type { Room, RoomEvent } from '../../shared/schemas.ts'
import type { OutboxItem } from '../db/schema.ts'
import { lastMessageOf } from '../log/entry.ts'
import { carryAmendments, mergedEntry } from '../log/window.ts'
import type { ConnStatus } from '../tabs/messages.ts'

/** Index of the first entry whose seq is >= `seq` (entries sorted by seq). */
function lowerBound(entries: readonly RoomEvent[], seq: number): number {
  let lo = 0
  let hi = entries.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (entries[mid]!.seq < seq) lo = mid + 1
    else hi = mid
  }
  return lo
}

/**
 * Merges log entries by seq, oldest first, without re-sorting: an entry newer
 * than the last is appended, any other is inserted at its place by binary
 * search. A seq already held is ignored (the log never changes what a seq
 * holds; the first copy stored is the one on disk). When nothing is new the
 * same array comes back, so the screen does not re-render for a replay.
 */
export function mergeEntries(current: readonly RoomEvent[], incoming: readonly RoomEvent[]): RoomEvent[] {
  let out: RoomEvent[] | null = null
  for (const e of incoming) {
    const list: readonly RoomEvent[] = out ?? current
    const last = list[list.length - 1]
    if (last === undefined || e.seq > last.seq) {
      out ??= current.slice()
      out.push(e)
      continue
    }
    const at = lowerBound(list, e.seq)
    if (list[at]?.seq === e.seq) {
      // The log never changes what a seq holds, but a message may come back knowing more
      // (a newer server snapshot, amendments held outside the window): that copy replaces it.
      const merged = mergedEntry(list[at]!, e)
      if (merged === null) continue
      out ??= current.slice()
      out[at] = merged
      continue
    }
    out ??= current.slice()
    out.splice(at, 0, e)
  }
  return out ?? (current as RoomEvent[])
}

/**
 * Entries the open room holds in memory at most (about twelve screens). The
 * rest stays in IndexedDB and pages back in on scroll, so a tab open all day
 * stays as fast as a fresh one.
 */
export const TIMELINE_MAX = 600

/** The part of a timeline the window rules look at (store.ts `Timeline` has these and more). */
export interface TimelineWindow {
  entries: RoomEvent[]
  /** Older entries exist beyond the window (in the cache or on the server). */
  hasOlder: boolean
  /** Newer entries exist beyond the window (in the cache): the window does not reach the live end. */
  hasNewer: boolean
  /** The person is at the live end (scrolled to the newest message). */
  following: boolean
}

/**
 * Trims a window longer than `max` from the far end: `keep: 'newest'` drops the
 * oldest entries (the person is at the bottom), `keep: 'oldest'` the newest (the
 * person is reading further up). What was dropped can be paged in again.
 */
export function boundWindow<T extends TimelineWindow>(t: T, keep: 'newest' | 'oldest', max = TIMELINE_MAX): T {
  if (t.entries.length <= max) return t
  if (keep === 'newest') return { ...t, entries: t.entries.slice(t.entries.length - max), hasOlder: true }
  // Edits, deletions and reactions dropped with the newest end still apply to the messages kept.
  const entries = carryAmendments(t.entries.slice(0, max), t.entries.slice(max))
  return { ...t, entries, hasNewer: true, following: false }
}

/**
 * New log entries for the open room. At the live end they are merged and the
 * window trimmed at the top; while the person reads further up the window
 * grows until `max`, then stops short of the newest (`hasNewer`), and entries
 * past its end are left for paging instead of being appended across a hole.
 */
export function withEvents<T extends TimelineWindow>(t: T, events: readonly RoomEvent[], max = TIMELINE_MAX): T {
  const last = t.entries[t.entries.length - 1]
  const usable = t.hasNewer && last ? events.filter((e) => e.seq <= last.seq) : events
  let entries = mergeEntries(t.entries, usable)
  // Past the window's end: not shown as entries, but a change to a message it shows still applies to it.
  if (usable !== events)
    entries = carryAmendments(
      entries,
      events.filter((e) => e.seq > last!.seq),
    )
  if (entries === t.entries) return t
  return boundWindow({ ...t, entries }, t.following ? 'newest' : 'oldest', max)
}

/** Outbox items of one room, oldest first, minus any the log already holds (acked in another tab). */
export function pendingFor(roomId: string, outbox: readonly OutboxItem[], entries: readonly RoomEvent[]): OutboxItem[] {
  const settled = new Set(entries.map((e) => e.clientId).filter((id): id is string => id !== null))
  return outbox.filter((item) => item.roomId === roomId && !settled.has(item.clientId))
}

/** The room list's view of new log entries: preview, last seq and unread count. */
export function applyEventsToRoom(room: Room, events: readonly RoomEvent[], meId: string, viewing: boolean): Room {
  let next = room
  for (const e of [...events].sort((a, b) => a.seq - b.seq)) {
    // The room row already reflects everything up to its lastSeq (counts included).
    if (e.seq <= next.lastSeq) continue
    next = { ...next, lastSeq: e.seq }
    const lastMessage = lastMessageOf(e)
    if (!lastMessage) continue
    next = { ...next, lastMessage }
    if (viewing || e.authorId === meId) next = { ...next, lastReadSeq: Math.max(next.lastReadSeq, e.seq) }
    else if (e.seq > next.lastReadSeq) {
      next = { ...next, unreadCount: next.unreadCount + 1 }
      // The room list's @ (issue 9 item 2): it shows while this seq is above the read marker.
      if (e.mentions?.includes(meId)) next = { ...next, unreadMentionSeq: e.seq }
    }
  }
  if (viewing) next = { ...next, unreadCount: 0 }
  return next
}

/** Rooms ordered by latest activity. */
export function sortRooms(rooms: readonly Room[]): Room[] {
  const activity = (r: Room) => r.lastMessage?.createdAt ?? r.createdAt
  return [...rooms].sort((a, b) => activity(b).localeCompare(activity(a)))
}

export type StatusTone = 'offline' | 'busy' | 'ok' | 'error'

/** Waiting and failed outbox items, counted the one way the status line and the logout question both use. */
export function outboxCounts(outbox: readonly OutboxItem[]): { waiting: number; failed: number } {
  let waiting = 0
  let failed = 0
  for (const item of outbox) {
    if (item.state === 'waiting') waiting += 1
    else if (item.state === 'failed') failed += 1
  }
  return { waiting, failed }
}

/** The question asked before logging out discards the outbox; null when nothing would be lost. */
export function discardQuestion(outbox: readonly OutboxItem[]): string | null {
  const { waiting, failed } = outboxCounts(outbox)
  const parts: string[] = []
  if (waiting > 0) parts.push(`${waiting} message${waiting === 1 ? '' : 's'} waiting to send`)
  if (failed > 0) parts.push(`${failed} failed message${failed === 1 ? '' : 's'}`)
  if (parts.length === 0) return null
  return `${parts.join(' and ')} will be discarded. Log out anyway?`
}

/** The sign-in screen's line about what an ended session left on the device (see expireSession). */
export function heldText(held: { user: { username: string }; unsent: number; drafts: number }): string {
  const name = held.user.username
  const n = held.unsent
  if (n === 0) {
    return `Unfinished drafts by ${name} are kept on this device until ${name} logs in again; logging in as someone else discards them.`
  }
  const one = n === 1
  return `${n} message${one ? '' : 's'} by ${name} ${one ? 'was' : 'were'} not sent yet. ${one ? 'It is' : 'They are'} kept on this device and sent when ${name} logs in again; logging in as someone else discards ${one ? 'it' : 'them'}.`
}

/**
 * The status as one tab shows it: the leader's link status, with this tab's open room counted
 * as catching up while nothing of it is loaded yet (it is not up to date with an empty screen).
 */
export function withOpenRoom(status: ConnStatus, openRoomLoading: boolean): ConnStatus {
  return openRoomLoading ? { ...status, catchingUp: status.catchingUp + 1 } : status
}

/** The status line: always the truth about the link and the queue. */
export function statusLine(status: ConnStatus, outbox: readonly OutboxItem[]): { text: string; tone: StatusTone } {
  const { waiting, failed } = outboxCounts(outbox)
  let link: string
  let tone: StatusTone
  if (status.socket === 'ended') [link, tone] = ['Signed out', 'error']
  else if (status.offline) [link, tone] = ['Offline', 'offline']
  else if (status.socket === 'open' && status.catchingUp === 0) [link, tone] = ['Up to date', 'ok']
  else if (status.socket === 'open') [link, tone] = ['Catching up…', 'busy']
  else [link, tone] = ['Connecting…', 'busy']
  const parts = [link]
  if (waiting > 0) parts.push(`${waiting} waiting to send`)
  if (failed > 0) {
    parts.push(`${failed} failed`)
    tone = 'error'
  }
  return { text: parts.join(' · '), tone }
}

export function presenceJoin(users: readonly PresenceUser[], user: PresenceUser): PresenceUser[] {
  return users.some((u) => u.userId === user.userId) ? users.slice() : [...users, user]
}

export function presenceLeave(users: readonly PresenceUser[], userId: string): PresenceUser[] {
  return users.filter((u) => u.userId !== userId)
}

export interface Typist {
  userId: string
  username: string
  until: number
}

export function addTypist(typists: readonly Typist[], typist: Typist): Typist[] {
  return [...typists.filter((t) => t.userId !== typist.userId), typist]
}

export function activeTypists(typists: readonly Typist[], now: number, meId: string | undefined): Typist[] {
  return typists.filter((t) => t.until > now && t.userId !== meId)
}

export function typingText(typists: readonly Typist[]): string {
  const names = typists.map((t) => t.username)
  if (names.length === 0) return ''
  if (names.length === 1) return `${names[0]} is typing…`
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`
  return 'Several people are typing…'
}
