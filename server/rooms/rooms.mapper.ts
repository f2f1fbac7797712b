import type { Room } from '../../shared/schemas.ts'
import type { RoomListRow } from './rooms.repository.ts'

export function toRoom(row: RoomListRow): Room {
  return {
    id: row.id,
    name: row.name,
    topic: row.topic,
    visibility: row.visibility,
    ownerId: row.owner_id,
    createdAt: row.created_at.toISOString(),
    lastSeq: Number(row.last_seq),
    role: row.role,
    memberCount: Number(row.member_count),
    unreadCount: Number(row.unread_count),
    lastReadSeq: Number(row.last_read_seq ?? 0),
    unreadMentionSeq: row.unread_mention_seq === null ? null : Number(row.unread_mention_seq),
    lastMessage:
      row.lm_seq === null
        ? null
        : {
            roomId: row.id,
            seq: Number(row.lm_seq),
            clientId: row.lm_client_id ?? '',
            authorId: row.lm_author_id ?? '',
            authorName: row.lm_author_name ?? '',
            body: row.lm_body ?? '',
            createdAt: row.lm_created_at!.toISOString(),
          },
  }
}
