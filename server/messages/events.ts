import type { EventKind, Message, RoomEvent } from '../../shared/schemas.ts'
import type { RoomEventRow } from '../db/schema.ts'

/** The columns of a `room_events` row that make its wire entry (the denormalised state is not part of it). */
export type EventRowWithAuthor = Pick<
  RoomEventRow,
  'room_id' | 'seq' | 'kind' | 'author_id' | 'client_id' | 'body' | 'target_seq' | 'reaction' | 'created_at'
> &
  Partial<Pick<RoomEventRow, 'reply_to' | 'mentions' | 'subject_id' | 'topic'>> & {
    author_name: string | null
    /** `member.*`: the subject's name, joined from `users` (null once that account is gone). */
    subject_name?: string | null
  }

/**
 * The one mapping from a row to its wire entry. The issue-9 fields are set
 * only when they hold something (`replyTo` a seq, `mentions` not empty) or
 * by the kinds that use them (`subjectId`/`subjectName` on `member.*`,
 * `topic` on `room.renamed`): absent means null / [] (docs/PROTOCOL.md,
 * "Wire to columns"), so a plain message costs the bytes it did before.
 */
export function toRoomEvent(row: EventRowWithAuthor): RoomEvent {
  const event: RoomEvent = {
    roomId: row.room_id,
    seq: Number(row.seq),
    kind: row.kind as EventKind,
    authorId: row.author_id,
    authorName: row.author_name,
    clientId: row.client_id,
    body: row.body,
    targetSeq: row.target_seq === null ? null : Number(row.target_seq),
    reaction: row.reaction,
    createdAt: row.created_at.toISOString(),
  }
  if (row.reply_to !== null && row.reply_to !== undefined) event.replyTo = Number(row.reply_to)
  if (row.mentions && row.mentions.length > 0) event.mentions = row.mentions
  if (row.kind.startsWith('member.')) {
    event.subjectId = row.subject_id ?? null
    event.subjectName = row.subject_name ?? null
  }
  if (row.kind === 'room.renamed') event.topic = row.topic ?? null
  return event
}

/**
 * A `message.created` event as a message (history, a send's answer), its
 * reply and mentions included when set: the sender confirms its waiting row
 * with what the server stored (e.g. without the @names of non-members).
 */
export function toMessage(event: RoomEvent): Message {
  const message: Message = {
    roomId: event.roomId,
    seq: event.seq,
    clientId: event.clientId ?? '',
    authorId: event.authorId ?? '',
    authorName: event.authorName ?? '',
    body: event.body ?? '',
    createdAt: event.createdAt,
  }
  if (event.replyTo !== undefined && event.replyTo !== null) message.replyTo = event.replyTo
  if (event.mentions !== undefined && event.mentions.length > 0) message.mentions = event.mentions
  return message
}
