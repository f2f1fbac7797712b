/**
 * The one mapping between what the server sends about the log and what the
 * client stores as a log entry (the `messages` store holds `RoomEvent`s, as
 * the wire does). Every path that turns a server answer into an entry goes
 * through here: live `events`, history pages (which carry `Message`s), the
 * ack of a send or an operation (socket or HTTP), and reads of entries stored
 * by older versions of the app.
 */
import type { AckFrame } from '../../shared/protocol.ts'
import type { Message, RoomEvent } from '../../shared/schemas.ts'

/**
 * A history page's message, as the entry that created it. The issue-9 reply
 * and mention fields are read when the server sends them (newer servers do)
 * and left absent otherwise: absent means none, for the fold as on the wire.
 */
export function entryFromMessage(m: Message & { replyTo?: number | null; mentions?: string[] }): RoomEvent {
  const entry: RoomEvent = {
    roomId: m.roomId,
    seq: m.seq,
    kind: 'message.created',
    authorId: m.authorId,
    authorName: m.authorName,
    clientId: m.clientId,
    body: m.body,
    targetSeq: null,
    reaction: null,
    createdAt: m.createdAt,
  }
  if (m.replyTo !== undefined && m.replyTo !== null) entry.replyTo = m.replyTo
  if (m.mentions !== undefined && m.mentions.length > 0) entry.mentions = m.mentions
  return entry
}

/** An operation's ack carries the stored entry itself (shared/conversation/requests.ts `OperationAckFrame`). */
export type AnyAck = AckFrame | { type: 'ack'; roomId: string; clientId: string; seq: number; event: RoomEvent }

/** The entry an ack stores: a send's ack carries a `Message`, an operation's the entry itself. */
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

/** Entries as read from the store: only well-formed ones. */
export function storedEntries(values: readonly unknown[]): RoomEvent[] {
  return values.every(isStoredEntry) ? (values as RoomEvent[]) : values.filter(isStoredEntry)
}

/**
 * The copy of an entry kept once its message is deleted: the text goes, on
 * the device as on the server (the server scrubs the message and its edits).
 */
export function scrubbed(e: RoomEvent): RoomEvent {
  if (e.body === null) return e
  const { mentions: _mentions, ...rest } = e
  return { ...rest, body: null }
}
