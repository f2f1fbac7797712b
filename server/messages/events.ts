import type { EventKind, Message, RoomEvent } from '../../shared/schemas.ts'
import type { RoomEventRow } from '../db/schema.ts'

export type EventRowWithAuthor = RoomEventRow & { author_name: string | null }

export function toRoomEvent(row: EventRowWithAuthor): RoomEvent {
  return {
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
}

/** A `message.created` event as a history message. */
export function toMessage(event: RoomEvent): Message {
  return {
    roomId: event.roomId,
    seq: event.seq,
    clientId: event.clientId ?? '',
    authorId: event.authorId ?? '',
    authorName: event.authorName ?? '',
    body: event.body ?? '',
    createdAt: event.createdAt,
  }
}
