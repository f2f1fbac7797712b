import { type Kysely, sql } from 'kysely'
import type { DB } from '../db/schema.ts'

/** Unread counts stop counting here, so a room never read costs at most this many index rows. */
export const UNREAD_CAP = 999

export interface RoomListRow {
  id: string
  name: string
  visibility: 'public' | 'private'
  owner_id: string
  created_at: Date
  last_seq: string
  role: 'owner' | 'member' | null
  last_read_seq: string | null
  member_count: string
  unread_count: string
  lm_seq: string | null
  lm_client_id: string | null
  lm_author_id: string | null
  lm_author_name: string | null
  lm_body: string | null
  lm_created_at: Date | null
}

/** Rooms a user can see (public ones and those they belong to), with preview and unread count. */
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
      sql<string>`CASE WHEN m.user_id IS NULL THEN 0 ELSE (
        SELECT count(*) FROM (
          SELECT 1 FROM room_events ue
          WHERE ue.room_id = r.id AND ue.seq > m.last_read_seq
            AND ue.kind = 'message.created' AND ue.author_id IS DISTINCT FROM m.user_id
          LIMIT ${UNREAD_CAP}
        ) unread
      ) END`.as('unread_count'),
    ])
    .where((eb) => eb.or([eb('r.visibility', '=', 'public'), eb('m.user_id', 'is not', null)]))
}

export function listRooms(db: Kysely<DB>, userId: string, limit: number): Promise<RoomListRow[]> {
  return roomsQuery(db, userId)
    .orderBy(sql`coalesce(lm.lm_created_at, r.created_at)`, 'desc')
    .limit(limit)
    .execute() as Promise<RoomListRow[]>
}

export function findVisibleRoom(db: Kysely<DB>, userId: string, roomId: string): Promise<RoomListRow | undefined> {
  return roomsQuery(db, userId).where('r.id', '=', roomId).executeTakeFirst() as Promise<RoomListRow | undefined>
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
  role: 'owner' | 'member' | null
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

/**
 * Returns true when a membership row was created (false: already a member).
 * A new member starts with everything before now marked read: joining a busy
 * room should not greet them with hundreds of unread messages.
 */
export async function addMember(db: Kysely<DB>, roomId: string, userId: string): Promise<boolean> {
  const inserted = await db
    .insertInto('room_members')
    .values({
      room_id: roomId,
      user_id: userId,
      role: 'member',
      last_read_seq: sql<string>`(SELECT last_seq FROM rooms WHERE id = ${roomId})`,
    })
    .onConflict((oc) => oc.columns(['room_id', 'user_id']).doNothing())
    .executeTakeFirst()
  return Number(inserted.numInsertedOrUpdatedRows ?? 0) > 0
}

export async function removeMember(db: Kysely<DB>, roomId: string, userId: string): Promise<void> {
  await db.deleteFrom('room_members').where('room_id', '=', roomId).where('user_id', '=', userId).execute()
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
