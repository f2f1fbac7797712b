/**
 * Each room's member list as last loaded from the server (store `members`, version 5), so the
 * Members sheet and `@` autocomplete work offline and after a reload. A copy, never the truth:
 * replaced by every load, read as unknown data (an older or damaged record is ignored), dropped
 * with its room (dropMembership) and with every user store on logout or a switch of user.
 */
import type { Member } from '../../shared/schemas.ts'
import type { FerryDatabase } from './schema.ts'

export async function saveMembers(db: FerryDatabase, roomId: string, members: readonly Member[]): Promise<void> {
  await db.put('members', { roomId, members: [...members] })
}

/** The saved list of `roomId`, or null when there is none or it is not a list of members. */
export async function readMembers(db: FerryDatabase, roomId: string): Promise<Member[] | null> {
  const stored = (await db.get('members', roomId)) as unknown
  if (typeof stored !== 'object' || stored === null) return null
  const list = (stored as { members?: unknown }).members
  return Array.isArray(list) && list.every(isMember) ? (list as Member[]) : null
}

const ROLES = new Set(['owner', 'admin', 'member'])

function isMember(x: unknown): x is Member {
  if (typeof x !== 'object' || x === null) return false
  const m = x as Record<string, unknown>
  return (
    typeof m.userId === 'string' &&
    typeof m.username === 'string' &&
    typeof m.role === 'string' &&
    ROLES.has(m.role) &&
    typeof m.joinedAt === 'string'
  )
}
