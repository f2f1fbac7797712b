import type { Kysely } from 'kysely'
import type { DB } from '../db/schema.ts'
import { AppError, notFound } from '../http/app-error.ts'
import { type AccessRow, findRoomAccess } from './rooms.repository.ts'

/**
 * Who may do what:
 * - a public room is readable by every signed-in user; writing needs membership;
 * - a private room is invisible to non-members: every request answers 404
 *   `not_found`, exactly as for a room that does not exist, so ids cannot be probed.
 */
export async function requireReadable(db: Kysely<DB>, userId: string, roomId: string): Promise<AccessRow> {
  const room = await findRoomAccess(db, userId, roomId)
  if (!room || (room.visibility === 'private' && room.role === null)) throw notFound('No such room')
  return room
}

export async function requireMember(db: Kysely<DB>, userId: string, roomId: string): Promise<AccessRow> {
  const room = await requireReadable(db, userId, roomId)
  if (room.role === null) throw new AppError(403, 'not_member', 'Join the room first')
  return room
}

export const canRead = (room: AccessRow | undefined): room is AccessRow =>
  room !== undefined && (room.visibility === 'public' || room.role !== null)
