import { type Kysely, sql } from 'kysely'
import type { Role } from '../../shared/schemas.ts'
import type { DB } from '../db/schema.ts'
import { unreadCount } from './unread.ts'

export interface RoomListRow {
  id: string
  name: string
  topic: string | null
  visibility: 'public' | 'private'
  owner_id: string
  created_at: Date
  last_seq: string
  role: Role | null
  last_read_seq: string | null
  member_count: string
  unread_count: string
  unread_mention_seq: string | null
  lm_seq: string | null
  lm_client_id: string | null
  lm_author_id: string | null
  lm_author_name: string | null
  lm_body: string | null
  lm_created_at: Date | null
}

/**
 * Room rows with the user's membership, last message, member count and unread
 * count. Callers narrow it (by id, by membership, to a page of public rooms)
 * before anything else: the per-room parts cost a few index reads per row.
 */
function roomsQuery(db: Kysely<DB>, userId: string) {
  return db
    .selectFrom('rooms as r')
    .leftJoin('room_members as m', (join) => join.onRef('m.room_id', '=', 'r.id').on('m.user_id', '=', userId))
    .leftJoinLateral(
      (eb) =>
        eb
          .selectFrom('room_events as e')
          .leftJoin('users as u', 'u.id', 'e.author_id')
          .select([
            'e.seq as lm_seq',
            'e.client_id as lm_client_id',
            'e.author_id as lm_author_id',
            'u.username as lm_author_name',
            'e.body as lm_body',
            'e.created_at as lm_created_at',
          ])
          .whereRef('e.room_id', '=', 'r.id')
          .where('e.kind', '=', 'message.created')
          .orderBy('e.seq', 'desc')
          .limit(1)
          .as('lm'),
      (join) => join.onTrue(),
    )
    .select([
      'r.id',
      'r.name',
      'r.topic',
      'r.visibility',
      'r.owner_id',
      'r.created_at',
      'r.last_seq',
      'm.role',
      'm.last_read_seq',
      'lm.lm_seq',
      'lm.lm_client_id',
      'lm.lm_author_id',
      'lm.lm_author_name',
      'lm.lm_body',
      'lm.lm_created_at',
      sql<string>`(SELECT count(*) FROM room_members mc WHERE mc.room_id = r.id)`.as('member_count'),
      sql<string>`CASE WHEN m.user_id IS NULL THEN 0 ELSE ${unreadCount(sql.ref('r.id'), sql.ref('m.user_id'), sql.ref('m.last_read_seq'))} END`.as(
        'unread_count',
      ),
      // The room list's @ (issue 9 item 2): the newest message by someone else after the marker
      // that mentions the caller. Deleting a message scrubs its mentions, so it stops counting.
      // The kind and mentions conditions match room_events_mentions_idx's, which holds only such rows.
      sql<string | null>`CASE WHEN m.user_id IS NULL THEN NULL ELSE (
        SELECT me.seq FROM room_events me
        WHERE me.room_id = r.id AND me.seq > m.last_read_seq
          AND me.kind = 'message.created' AND me.mentions <> '{}'
          AND me.mentions @> ARRAY[m.user_id] AND me.author_id IS DISTINCT FROM m.user_id
        ORDER BY me.seq DESC LIMIT 1
      ) END`.as('unread_mention_seq'),
    ])
}

/**
 * The rooms the user belongs to, most recently active first. Starts from the
 * user's memberships (room_members_user_id_idx), so rooms they are not in cost nothing.
 */
export async function listMyRooms(db: Kysely<DB>, userId: string, limit: number): Promise<RoomListRow[]> {
  const mine = db.selectFrom('room_members').select('room_id').where('user_id', '=', userId)
  return (await roomsQuery(db, userId)
    .where('r.id', 'in', mine)
    .orderBy(sql`coalesce(lm.lm_created_at, r.created_at)`, 'desc')
    .orderBy('r.id')
    .limit(limit)
    .execute()) as RoomListRow[]
}

/**
 * A LIKE pattern matching names that contain `text` literally: its own %, _ and backslash are escaped.
 * Both sides go through SQL's lower(), so the case folding is the database's on each side.
 */
export function containsPattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`
}

/**
 * One page of public rooms the user is not in, newest first, after the room
 * `before` (the last room id of the previous page). Walks rooms_public_newest_idx and
 * stops after `limit` rows, skipping only rooms the user is in. With `search`, only names
 * containing it (case-insensitive) count: checked on each row along the same walk, so a page
 * still costs one index walk that stops at `limit` matches (a search matching nothing walks
 * the public rooms once: measured in BENCHMARKS.md, "discover search").
 */
export async function listDiscoverableRooms(
  db: Kysely<DB>,
  userId: string,
  limit: number,
  before?: string,
  search?: string,
): Promise<RoomListRow[]> {
  let page = db
    .selectFrom('rooms as p')
    .select('p.id')
    .where('p.visibility', '=', 'public')
    .where((eb) =>
      eb.not(
        eb.exists(
          eb
            .selectFrom('room_members as pm')
            .select('pm.room_id')
            .whereRef('pm.room_id', '=', 'p.id')
            .where('pm.user_id', '=', userId),
        ),
      ),
    )
    .orderBy('p.created_at', 'desc')
    .orderBy('p.id', 'desc')
    .limit(limit)
  const words = search?.trim()
  if (words) page = page.where(sql<boolean>`lower(p.name) LIKE lower(${containsPattern(words)}) ESCAPE '\\'`)
  // Compared in SQL: timestamptz has microseconds, a JavaScript Date only milliseconds.
  // A cursor that is not a public room matches nothing, so the page is empty.
  if (before) {
    page = page.where(
      sql<boolean>`(p.created_at, p.id) < (SELECT c.created_at, c.id FROM rooms c WHERE c.id = ${before} AND c.visibility = 'public')`,
    )
  }
  const ids = (await page.execute()).map((row) => row.id)
  if (ids.length === 0) return []
  return (await roomsQuery(db, userId)
    .where('r.id', 'in', ids)
    .orderBy('r.created_at', 'desc')
    .orderBy('r.id', 'desc')
    .execute()) as RoomListRow[]
}

export function findVisibleRoom(db: Kysely<DB>, userId: string, roomId: string): Promise<RoomListRow | undefined> {
  return roomsQuery(db, userId)
    .where('r.id', '=', roomId)
    .where((eb) => eb.or([eb('r.visibility', '=', 'public'), eb('m.user_id', 'is not', null)]))
    .executeTakeFirst() as Promise<RoomListRow | undefined>
}

export async function insertRoom(
  db: Kysely<DB>,
  ownerId: string,
  name: string,
  visibility: 'public' | 'private',
): Promise<string> {
  return db.transaction().execute(async (trx) => {
    const room = await trx
      .insertInto('rooms')
      .values({ name, visibility, owner_id: ownerId })
      .returning('id')
      .executeTakeFirstOrThrow()
    await trx.insertInto('room_members').values({ room_id: room.id, user_id: ownerId, role: 'owner' }).execute()
    return room.id
  })
}

export interface AccessRow {
  id: string
  visibility: 'public' | 'private'
  owner_id: string
  last_seq: string
  role: Role | null
}

/** The room and the user's membership in one read; undefined when the room does not exist. */
export function findRoomAccess(db: Kysely<DB>, userId: string, roomId: string): Promise<AccessRow | undefined> {
  return db
    .selectFrom('rooms as r')
    .leftJoin('room_members as m', (join) => join.onRef('m.room_id', '=', 'r.id').on('m.user_id', '=', userId))
    .select(['r.id', 'r.visibility', 'r.owner_id', 'r.last_seq', 'm.role'])
    .where('r.id', '=', roomId)
    .executeTakeFirst()
}

/** findRoomAccess for many rooms in one read; rooms that do not exist are absent from the result. */
export async function findRoomsAccess(
  db: Kysely<DB>,
  userId: string,
  roomIds: readonly string[],
): Promise<Map<string, AccessRow>> {
  if (roomIds.length === 0) return new Map()
  const rows = await db
    .selectFrom('rooms as r')
    .leftJoin('room_members as m', (join) => join.onRef('m.room_id', '=', 'r.id').on('m.user_id', '=', userId))
    .select(['r.id', 'r.visibility', 'r.owner_id', 'r.last_seq', 'm.role'])
    .where('r.id', 'in', roomIds)
    .execute()
  return new Map(rows.map((row) => [row.id, row]))
}

export function listMembers(db: Kysely<DB>, roomId: string) {
  return db
    .selectFrom('room_members as m')
    .innerJoin('users as u', 'u.id', 'm.user_id')
    .select(['m.user_id', 'u.username', 'm.role', 'm.joined_at'])
    .where('m.room_id', '=', roomId)
    .orderBy('m.joined_at')
    .orderBy('u.username')
    .execute()
}

export function findMember(db: Kysely<DB>, roomId: string, userId: string) {
  return db
    .selectFrom('room_members as m')
    .innerJoin('users as u', 'u.id', 'm.user_id')
    .select(['m.user_id', 'u.username', 'm.role', 'm.joined_at'])
    .where('m.room_id', '=', roomId)
    .where('m.user_id', '=', userId)
    .executeTakeFirstOrThrow()
}

/** Moves the read marker forward only (never back), capped at the room's last seq. */
export async function markRead(db: Kysely<DB>, roomId: string, userId: string, seq: number): Promise<void> {
  await db
    .updateTable('room_members')
    .set({
      last_read_seq: sql<string>`GREATEST(last_read_seq, LEAST(${seq}::bigint, (SELECT last_seq FROM rooms WHERE id = ${roomId})))`,
    })
    .where('room_id', '=', roomId)
    .where('user_id', '=', userId)
    .execute()
}

/** No user has this id (ids are random UUIDs): the room as someone who is not a member sees it. */
const NOBODY = '00000000-0000-0000-0000-000000000000'

/** A public room as every non-member sees it (role null, nothing unread): one read, shared by every socket told of it. */
export function findPublicRoom(db: Kysely<DB>, roomId: string): Promise<RoomListRow | undefined> {
  return roomsQuery(db, NOBODY)
    .where('r.id', '=', roomId)
    .where('r.visibility', '=', 'public')
    .executeTakeFirst() as Promise<RoomListRow | undefined>
}
