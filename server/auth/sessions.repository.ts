import type { Kysely } from 'kysely'
import type { DB, UserRow } from '../db/schema.ts'

export interface SessionWithUser {
  sessionId: string
  expiresAt: Date
  user: Pick<UserRow, 'id' | 'username' | 'created_at'>
}

export async function insertSession(db: Kysely<DB>, id: string, userId: string, expiresAt: Date): Promise<void> {
  await db.insertInto('sessions').values({ id, user_id: userId, expires_at: expiresAt }).execute()
}

export async function findLiveSession(db: Kysely<DB>, id: string): Promise<SessionWithUser | undefined> {
  const row = await db
    .selectFrom('sessions')
    .innerJoin('users', 'users.id', 'sessions.user_id')
    .select(['sessions.id as sessionId', 'sessions.expires_at', 'users.id', 'users.username', 'users.created_at'])
    .where('sessions.id', '=', id)
    .where('sessions.expires_at', '>', new Date())
    .executeTakeFirst()
  if (!row) return undefined
  return {
    sessionId: row.sessionId,
    expiresAt: row.expires_at,
    user: { id: row.id, username: row.username, created_at: row.created_at },
  }
}

export async function deleteSession(db: Kysely<DB>, id: string): Promise<void> {
  await db.deleteFrom('sessions').where('id', '=', id).execute()
}

export async function deleteExpiredSessions(db: Kysely<DB>): Promise<number> {
  const result = await db.deleteFrom('sessions').where('expires_at', '<=', new Date()).executeTakeFirst()
  return Number(result.numDeletedRows)
}

/** Which of these session ids are still stored (not logged out); expiry is not looked at. */
export async function existingSessionIds(db: Kysely<DB>, ids: readonly string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set()
  const rows = await db
    .selectFrom('sessions')
    .select('id')
    .where('id', 'in', [...ids])
    .execute()
  return new Set(rows.map((row) => row.id))
}
