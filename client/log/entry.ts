/**
 * The one mapping between what the server sends about the log and what the
 * client stores as a log entry (the `messages` store holds `RoomEvent`s, as
 * the wire does). Every path that turns a server answer into an entry goes
 * through here: live `events`, history pages (which carry `Message`s), the
 * ack of a send or an operation (socket or HTTP), and reads of entries stored
 * by older versions of the app.
 */
import type { MessageState } from '../../shared/conversation/fold.ts'
import type { OperationAckFrame } from '../../shared/conversation/requests.ts'
import type { AckFrame } from '../../shared/protocol.ts'
import type { Message, Room, RoomEvent } from '../../shared/schemas.ts'

/**
 * A stored `message.created` may carry `state`: the message's current state
 * as the server folded it for a history page (its `through` says up to which
 * seq every entry about the message is in it). A client that was away past
 * the reset bound never reads the edits, deletions and reactions it missed;
 * the snapshot is how it still shows them (docs/CLIENT.md, "Current state").
 */
export type StoredEntry = RoomEvent & { state?: MessageState }

/**
 * An entry as the open room's window holds it: a message may also carry the
 * amendments (edits, deletions, reactions) the device holds for it outside the
 * window (read through the `by-target` index, or heard while the window did not
 * reach them), so the one fold sees every change it has, wherever it sits in the log.
 */
export type WindowEntry = StoredEntry & { amendments?: readonly RoomEvent[] }

/** The server's snapshot a stored entry carries, if any. */
export const snapshotOf = (e: RoomEvent): MessageState | undefined => (e as StoredEntry).state

/** The amendments held for a message outside the window, if any. */
export const amendmentsOf = (e: RoomEvent): readonly RoomEvent[] => (e as WindowEntry).amendments ?? []

/**
 * A history page's message, as the entry that created it. The issue-9 reply
 * and mention fields are read when the server sends them (newer servers do)
 * and left absent otherwise: absent means none, for the fold as on the wire.
 */
export function entryFromMessage(m: Message & { replyTo?: number | null; mentions?: string[] }): StoredEntry {
  const state = m.state as MessageState | undefined
  const snapshot = state && state.roomId === m.roomId && state.seq === m.seq ? state : undefined
  const entry: StoredEntry = {
    roomId: m.roomId,
    seq: m.seq,
    kind: 'message.created',
    authorId: m.authorId,
    authorName: m.authorName,
    clientId: m.clientId,
    // A deleted message's text leaves the device, as it left the server's row.
    body: snapshot?.deleted ? null : m.body,
    targetSeq: null,
    reaction: null,
    createdAt: m.createdAt,
  }
  if (snapshot) {
    entry.state = snapshot
    if (snapshot.replyTo !== null) entry.replyTo = snapshot.replyTo
  }
  if (m.replyTo !== undefined && m.replyTo !== null) entry.replyTo = m.replyTo
  if (m.mentions !== undefined && m.mentions.length > 0) entry.mentions = m.mentions
  return entry
}

/** An operation's ack carries the stored entry itself (shared/conversation/requests.ts `OperationAckFrame`). */
export type AnyAck = AckFrame | OperationAckFrame

/**
 * The entry an ack stores, confirming the waiting row with the server's view:
 * a send's ack carries a `Message` with the `replyTo` and `mentions` the
 * server stored (a reply by clientId resolved to its seq, only members'
 * @names), an operation's ack the entry itself.
 */
export function entryFromAck(ack: AnyAck): RoomEvent {
  return 'event' in ack ? ack.event : entryFromMessage(ack.message)
}

/**
 * An entry read back from IndexedDB. Entries stored before issue 9 lack
 * `replyTo`/`mentions`/`subjectId`…; they are valid as they are (absent means
 * none). A row that is not an entry at all (a damaged store) is dropped rather
 * than allowed to break the screen.
 */
export function isStoredEntry(value: unknown): value is RoomEvent {
  if (typeof value !== 'object' || value === null) return false
  const e = value as Record<string, unknown>
  return (
    typeof e.roomId === 'string' &&
    typeof e.seq === 'number' &&
    typeof e.kind === 'string' &&
    typeof e.createdAt === 'string' &&
    (e.body === null || typeof e.body === 'string') &&
    (e.targetSeq === null || e.targetSeq === undefined || typeof e.targetSeq === 'number')
  )
}

const isArray = Array.isArray
const nullOr = (v: unknown, type: string) => v === null || typeof v === type

/**
 * A snapshot read back from IndexedDB is checked as far as the fold relies
 * on it; a damaged one is dropped (the entry stays, as the message it was).
 */
export function isSnapshot(value: unknown, e: RoomEvent): value is MessageState {
  if (typeof value !== 'object' || value === null) return false
  const s = value as Record<string, unknown>
  return (
    s.roomId === e.roomId &&
    s.seq === e.seq &&
    typeof s.through === 'number' &&
    s.through >= e.seq &&
    typeof s.createdAt === 'string' &&
    nullOr(s.body, 'string') &&
    nullOr(s.authorId, 'string') &&
    nullOr(s.replyTo, 'number') &&
    isArray(s.mentions) &&
    nullOr(s.edited, 'object') &&
    nullOr(s.deleted, 'object') &&
    isArray(s.reactions) &&
    (s.reactions as unknown[]).every(
      (r) =>
        typeof r === 'object' &&
        r !== null &&
        typeof (r as { emoji?: unknown }).emoji === 'string' &&
        isArray((r as { holders?: unknown }).holders) &&
        (r as { holders: unknown[] }).holders.length > 0,
    )
  )
}

const extras = (e: RoomEvent) => (e as WindowEntry).state !== undefined || (e as WindowEntry).amendments !== undefined

/** Drops a damaged snapshot (and, on a window's copy, carried amendments that are not entries). */
function checked(e: RoomEvent): RoomEvent {
  const held = e as WindowEntry
  let out: WindowEntry = held
  if (held.state !== undefined && !isSnapshot(held.state, e)) {
    const { state: _damaged, ...rest } = out
    out = rest
  }
  if (held.amendments !== undefined) {
    const list: unknown = held.amendments
    const kept = Array.isArray(list) ? list.filter((a) => isStoredEntry(a) && a.roomId === e.roomId) : []
    if (kept.length !== (Array.isArray(list) ? list.length : -1)) out = { ...out, amendments: kept }
  }
  return out
}

/** Entries as read from the store: only well-formed ones (a damaged snapshot is dropped from its entry). */
export function storedEntries(values: readonly unknown[]): RoomEvent[] {
  const valid = values.every(isStoredEntry) ? (values as RoomEvent[]) : values.filter(isStoredEntry)
  return valid.some(extras) ? valid.map(checked) : valid
}

/**
 * The copy of an entry kept once its message is deleted: the text goes, on
 * the device as on the server (the server scrubs the message and its edits).
 */
export function scrubbed(e: RoomEvent): RoomEvent {
  const state = snapshotOf(e)
  if (e.body === null && (!state || state.body === null)) return e
  const { mentions: _mentions, ...rest } = e as StoredEntry
  if (!state) return { ...rest, body: null } as RoomEvent
  // The snapshot holds the text too; it becomes a tombstone (the deletion's details come with the deletion).
  const deleted = state.deleted ?? { seq: null, at: null, by: null }
  const tomb: StoredEntry = {
    ...rest,
    body: null,
    state: { ...state, body: null, mentions: [], edited: null, reactions: [], deleted },
  }
  return tomb
}

/** The room row's preview of an entry: a message with its author, else null (nothing to preview). */
export function lastMessageOf(e: RoomEvent | null): Room['lastMessage'] {
  if (e?.kind !== 'message.created' || e.authorId === null || e.clientId === null) return null
  return {
    roomId: e.roomId,
    seq: e.seq,
    clientId: e.clientId,
    authorId: e.authorId,
    authorName: e.authorName ?? '',
    body: e.body ?? '',
    createdAt: e.createdAt,
  }
}
