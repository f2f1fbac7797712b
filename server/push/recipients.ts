import { type Kysely, sql } from 'kysely'
import type { DB } from '../db/schema.ts'
import { unreadCount } from '../rooms/unread.ts'

/** A committed message, as far as choosing its recipients goes. */
export interface PushedMessage {
  roomId: string
  seq: number
  authorId: string
  mentions: readonly string[]
}

/** One device to notify of one message, with what its payload needs. */
export interface Recipient {
  roomId: string
  seq: number
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
  room_id: string
  seq: string
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
 * The devices to notify of a batch of messages (docs/PUSH.md), in one
 * statement: for each message, the room's members except its author whose
 * level allows it (`all`; `mentions` only when mentioned; `none` never),
 * each of their subscriptions whose session is still live, with that
 * member's unread count in the room as of that message. Who is looking at
 * the room (focus) is the caller's to skip: it lives in memory. Each room's
 * rows come in seq order, so a device's pushes queue oldest first (PushQueue
 * also keeps the newest when they do not).
 */
export async function findRecipients(db: Kysely<DB>, messages: readonly PushedMessage[]): Promise<Recipient[]> {
  if (messages.length === 0) return []
  const { rows } = await sql<RecipientRow>`
    WITH msg AS (
      SELECT v.room_id, v.author_id, v.seq, string_to_array(v.mentions, ',')::uuid[] AS mentions
        FROM unnest(${messages.map((m) => m.roomId)}::uuid[], ${messages.map((m) => m.authorId)}::uuid[],
                    ${messages.map((m) => m.seq)}::bigint[], ${messages.map((m) => m.mentions.join(','))}::text[])
             AS v(room_id, author_id, seq, mentions)
    ), members AS (
      SELECT msg.room_id, msg.seq, m.user_id, m.last_read_seq, m.user_id = ANY(msg.mentions) AS mention
        FROM msg JOIN room_members m ON m.room_id = msg.room_id
       WHERE m.user_id <> msg.author_id
         AND (m.notify_level = 'all' OR (m.notify_level = 'mentions' AND m.user_id = ANY(msg.mentions)))
         AND EXISTS (SELECT 1 FROM push_subscriptions s WHERE s.user_id = m.user_id)
    ), counted AS (
      SELECT members.*,
             ${unreadCount(sql.ref('members.room_id'), sql.ref('members.user_id'), sql.ref('members.last_read_seq'), sql.ref('members.seq'))} AS unread
        FROM members
    )
    SELECT c.room_id, c.seq, s.id AS subscription_id, c.user_id, s.endpoint, s.p256dh, s.auth, s.failures,
           c.mention, c.unread, r.name AS room_name
      FROM counted c
      JOIN rooms r ON r.id = c.room_id
      JOIN push_subscriptions s ON s.user_id = c.user_id
      JOIN sessions ss ON ss.id = s.session_id AND ss.expires_at > now()
     ORDER BY c.room_id, c.seq`.execute(db)
  return rows.map((row) => ({
    roomId: row.room_id,
    seq: Number(row.seq),
    subscriptionId: row.subscription_id,
    userId: row.user_id,
    endpoint: row.endpoint,
    p256dh: row.p256dh,
    auth: row.auth,
    failures: row.failures,
    roomName: row.room_name,
    mention: row.mention,
    unread: Number(row.unread),
  }))
}
