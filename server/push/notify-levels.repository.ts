import type { Kysely } from 'kysely'
import type { NotifyLevel, RoomNotifySetting } from '../../shared/push/contract.ts'
import type { DB } from '../db/schema.ts'

/** Sets the member's level; false when they are not a member (any more). */
export async function setNotifyLevel(db: Kysely<DB>, roomId: string, userId: string, level: NotifyLevel) {
  const result = await db
    .updateTable('room_members')
    .set({ notify_level: level })
    .where('room_id', '=', roomId)
    .where('user_id', '=', userId)
    .executeTakeFirst()
  return result.numUpdatedRows > 0n
}

/** The user's rooms whose level is not the default `all`. */
export async function listNotifySettings(db: Kysely<DB>, userId: string): Promise<RoomNotifySetting[]> {
  const rows = await db
    .selectFrom('room_members')
    .select(['room_id', 'notify_level'])
    .where('user_id', '=', userId)
    .where('notify_level', '<>', 'all')
    .orderBy('room_id')
    .execute()
  return rows.map((row) => ({ roomId: row.room_id, level: row.notify_level }))
}
