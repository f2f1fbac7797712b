import type { Kysely, Transaction } from 'kysely'
import type { Role } from '../../shared/schemas.ts'
import type { DB } from '../db/schema.ts'
import { AppError, forbidden, notFound } from '../http/app-error.ts'
import type { Appender } from '../messages/appender.ts'
import { changeRoom, type LockedRoom } from './room-log.ts'

/**
 * Membership, roles and renames (issue 9, docs/API.md "Members and roles"):
 * each change and its log entry (`member.joined`, `member.left`,
 * `member.removed`, `room.renamed`) commit in one transaction under the room's
 * lock (room-log.ts), and the rights are checked under that lock too, so two
 * moderators acting at once cannot both pass on a state the other changed.
 * A change that changes nothing (joining twice) writes nothing.
 */
export interface RoomWriter {
  db: Kysely<DB>
  appender: Appender
}

const MODERATORS: readonly Role[] = ['owner', 'admin']

function existing(room: LockedRoom | undefined): LockedRoom {
  if (!room) throw notFound('No such room')
  return room
}

async function roleOf(trx: Transaction<DB>, roomId: string, userId: string): Promise<Role | null> {
  const row = await trx
    .selectFrom('room_members')
    .select('role')
    .where('room_id', '=', roomId)
    .where('user_id', '=', userId)
    .executeTakeFirst()
  return row?.role ?? null
}

/** The actor's role, which must be one of `allowed` (a non-member: not_member). */
async function actorRole(
  trx: Transaction<DB>,
  roomId: string,
  actorId: string,
  allowed: readonly Role[],
  why: string,
): Promise<Role> {
  const role = await roleOf(trx, roomId, actorId)
  if (role === null) throw new AppError(403, 'not_member', 'Join the room first')
  if (!allowed.includes(role)) throw forbidden(why)
  return role
}

/**
 * `userId` becomes a member, by joining (`actorId` the same) or added by
 * `actorId`; `member.joined` is written. Their read marker starts at that
 * entry: a busy room does not greet them with hundreds of unread messages.
 * False: they were a member already (nothing written).
 */
export function admitMember(writer: RoomWriter, roomId: string, actorId: string, userId: string): Promise<boolean> {
  return changeRoom(writer.db, writer.appender, roomId, async (trx, room, log) => {
    existing(room)
    if (actorId !== userId) await actorRole(trx, roomId, actorId, MODERATORS, 'Only the owner or an admin adds members')
    const inserted = await trx
      .insertInto('room_members')
      .values({ room_id: roomId, user_id: userId, role: 'member', last_read_seq: await log.nextSeq() })
      .onConflict((oc) => oc.columns(['room_id', 'user_id']).doNothing())
      .executeTakeFirst()
    if (Number(inserted.numInsertedOrUpdatedRows ?? 0) === 0) return false
    await log.append({ kind: 'member.joined', authorId: actorId, subjectId: userId })
    return true
  })
}

/**
 * `userId` leaves: `member.left`. The owner may leave only as the last member,
 * and then the room is deleted with its log (nobody could moderate it, and
 * `rooms.owner_id` is never null); while others remain they must transfer
 * ownership first (`owner_cannot_leave`).
 */
export function leaveRoom(writer: RoomWriter, roomId: string, userId: string): Promise<'left' | 'deleted'> {
  return changeRoom(writer.db, writer.appender, roomId, async (trx, room, log) => {
    existing(room)
    const role = await actorRole(trx, roomId, userId, ['owner', 'admin', 'member'], '')
    if (role === 'owner') {
      const others = await trx
        .selectFrom('room_members')
        .select('user_id')
        .where('room_id', '=', roomId)
        .where('user_id', '<>', userId)
        .limit(1)
        .execute()
      if (others.length > 0) {
        throw new AppError(409, 'owner_cannot_leave', 'Make another member the owner before leaving the room')
      }
      // room_events has no foreign key (migration 2026-12-07T15-00-00): its log
      // goes explicitly, under the room lock changeRoom holds, so no append
      // can slip in between (it waits for the lock, then finds no member).
      await trx.deleteFrom('room_events').where('room_id', '=', roomId).execute()
      await trx.deleteFrom('rooms').where('id', '=', roomId).execute()
      return 'deleted'
    }
    await trx.deleteFrom('room_members').where('room_id', '=', roomId).where('user_id', '=', userId).execute()
    await log.append({ kind: 'member.left', authorId: userId, subjectId: userId })
    return 'left'
  })
}

/**
 * `actorId` (owner or admin) removes `userId`: `member.removed`. Nobody removes
 * the owner (the owner removing themself: `owner_cannot_leave`, as for leave);
 * an admin removes members only, not another admin (nor themself: they leave).
 */
export function removeMember(writer: RoomWriter, roomId: string, actorId: string, userId: string): Promise<void> {
  return changeRoom(writer.db, writer.appender, roomId, async (trx, room, log) => {
    existing(room)
    const actor = await actorRole(trx, roomId, actorId, MODERATORS, 'Only the owner or an admin removes members')
    const target = await roleOf(trx, roomId, userId)
    if (target === null) throw notFound('No such member in this room')
    if (target === 'owner') {
      if (userId === actorId) throw new AppError(409, 'owner_cannot_leave', 'The owner cannot leave their room')
      throw forbidden('Nobody removes the owner')
    }
    if (target === 'admin' && actor !== 'owner') throw forbidden('Only the owner removes an admin')
    await trx.deleteFrom('room_members').where('room_id', '=', roomId).where('user_id', '=', userId).execute()
    await log.append({ kind: 'member.removed', authorId: actorId, subjectId: userId })
  })
}

/**
 * The owner sets a member's role. `owner` transfers the ownership: the member
 * becomes the owner and the previous owner an admin. Returns every member to
 * tell (empty: nothing changed): not only those whose role changed, as every
 * member's list shows roles and an open member screen refreshes on the room's
 * `room_added`. No log entry: roles are not part of the conversation; the
 * members list and the room-list stream carry them.
 */
export function setRole(
  writer: RoomWriter,
  roomId: string,
  actorId: string,
  userId: string,
  role: Role,
): Promise<string[]> {
  return changeRoom(writer.db, writer.appender, roomId, async (trx, room) => {
    existing(room)
    await actorRole(trx, roomId, actorId, ['owner'], 'Only the owner changes roles')
    const current = await roleOf(trx, roomId, userId)
    if (current === null) throw notFound('No such member in this room')
    if (current === role) return []
    if (userId === actorId) throw forbidden('The owner hands the room over by making another member the owner')
    const set = (user: string, to: Role) =>
      trx
        .updateTable('room_members')
        .set({ role: to })
        .where('room_id', '=', roomId)
        .where('user_id', '=', user)
        .execute()
    await set(userId, role)
    if (role === 'owner') {
      await set(actorId, 'admin')
      await trx.updateTable('rooms').set({ owner_id: userId }).where('id', '=', roomId).execute()
    }
    const members = await trx.selectFrom('room_members').select('user_id').where('room_id', '=', roomId).execute()
    return members.map((member) => member.user_id)
  })
}

/**
 * The owner or an admin renames the room: `room.renamed` with the whole new
 * name and topic ("" for none, stored as null), and `rooms.name`/`rooms.topic`
 * in the same transaction. Returns the members to tell (empty: nothing changed,
 * nothing written).
 */
export function renameRoom(
  writer: RoomWriter,
  roomId: string,
  actorId: string,
  name: string,
  topic: string | null,
): Promise<string[]> {
  return changeRoom(writer.db, writer.appender, roomId, async (trx, room, log) => {
    existing(room)
    await actorRole(trx, roomId, actorId, MODERATORS, 'Only the owner or an admin renames the room')
    const before = await trx
      .selectFrom('rooms')
      .select(['name', 'topic'])
      .where('id', '=', roomId)
      .executeTakeFirstOrThrow()
    if (before.name === name && before.topic === topic) return []
    await trx.updateTable('rooms').set({ name, topic }).where('id', '=', roomId).execute()
    await log.append({ kind: 'room.renamed', authorId: actorId, body: name, topic })
    const members = await trx.selectFrom('room_members').select('user_id').where('room_id', '=', roomId).execute()
    return members.map((member) => member.user_id)
  })
}
