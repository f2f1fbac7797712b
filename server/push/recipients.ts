import { type Kysely, sql } from 'kysely'
import type { DB } from '../db/schema.ts'
import { unreadCount } from '../rooms/unread.ts'

/** One device to notify of a message, with what its payload needs. */
export interface Recipient {
  subscriptionId: string
  userId: string
  endpoint: string
  p256dh: string
  auth: string
  failures: number
  roomName: string
  mention: boolean
  unread: number
}

interface RecipientRow {
  subscription_id: string
  user_id: string
  endpoint: string
  p256dh: string
  auth: string
  failures: number
  room_name: string
  mention: boolean
  unread: string
}

/**
 * The devices to notify of a message (docs/PUSH.md): members of the room
 * except the author and the users looking at it now (`skip`), whose level
 * allows it (`all`; `mentions` only when mentioned; `none` never), each of
 * their subscriptions whose session is still live, with that member's unread
 * count in the room. One statement.
 */
export async function findRecipients(
  db: Kysely<DB>,
  message: { roomId: string; authorId: string; mentions: readonly string[] },
  skip: readonly string[],
): Promise<Recipient[]> {
  const { roomId, authorId, mentions } = message
  const { rows } = await sql<RecipientRow>`
    WITH members AS (
      SELECT m.user_id, m.room_id, m.last_read_seq, m.user_id = ANY(${mentions}::uuid[]) AS mention
        FROM room_members m
       WHERE m.room_id = ${roomId} AND m.user_id <> ${authorId}
         AND m.user_id <> ALL(${skip}::uuid[])
         AND (m.notify_level = 'all' OR (m.notify_level = 'mentions' AND m.user_id = ANY(${mentions}::uuid[])))
         AND EXISTS (SELECT 1 FROM push_subscriptions s WHERE s.user_id = m.user_id)
    ), counted AS (
      SELECT members.*, ${unreadCount(sql.ref('members.room_id'), sql.ref('members.user_id'), sql.ref('members.last_read_seq'))} AS unread
        FROM members
    )
    SELECT s.id AS subscription_id, c.user_id, s.endpoint, s.p256dh, s.auth, s.failures, c.mention, c.unread,
           (SELECT name FROM rooms WHERE id = ${roomId}) AS room_name
      FROM counted c
      JOIN push_subscriptions s ON s.user_id = c.user_id
      JOIN sessions ss ON ss.id = s.session_id AND ss.expires_at > now()`.execute(db)
  return rows.map((row) => ({
    subscriptionId: row.subscription_id,
    userId: row.user_id,
    endpoint: row.endpoint,
    p256dh: row.p256dh,
    auth: row.auth,
    failures: row.failures,
    roomName: row.room_name ?? '',
    mention: row.mention,
    unread: Number(row.unread),
  }))
}
