import { createHash, randomBytes } from 'node:crypto'
import type { Kysely } from 'kysely'
import type { User } from '../../shared/schemas.ts'
import type { DB } from '../db/schema.ts'
import { deleteSession, findLiveSession, insertSession } from './sessions.repository.ts'

export const SESSION_COOKIE = 'ferry_session'

/** The cookie holds a random token; the database holds only its hash. */
export const sessionIdOf = (token: string) => createHash('sha256').update(token).digest('hex')

export interface Session {
  id: string
  user: User
  expiresAt: Date
}

export async function createSession(
  db: Kysely<DB>,
  userId: string,
  ttlMs: number,
): Promise<{ token: string; expiresAt: Date }> {
  const token = randomBytes(32).toString('base64url')
  const expiresAt = new Date(Date.now() + ttlMs)
  await insertSession(db, sessionIdOf(token), userId, expiresAt)
  return { token, expiresAt }
}

export async function resolveSession(db: Kysely<DB>, token: string | undefined): Promise<Session | undefined> {
  if (!token || token.length > 100) return undefined
  const found = await findLiveSession(db, sessionIdOf(token))
  if (!found) return undefined
  return {
    id: found.sessionId,
    expiresAt: found.expiresAt,
    user: { id: found.user.id, username: found.user.username, createdAt: found.user.created_at.toISOString() },
  }
}

export const endSession = (db: Kysely<DB>, sessionId: string) => deleteSession(db, sessionId)
