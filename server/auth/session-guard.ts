import type { FastifyRequest } from 'fastify'
import { unauthorized } from '../http/app-error.ts'
import { resolveSession, SESSION_COOKIE, type Session } from './sessions.ts'

const resolved = new WeakMap<FastifyRequest, Session | undefined>()

/** The request's live session, or undefined. Looked up once per request. */
export async function currentSession(request: FastifyRequest): Promise<Session | undefined> {
  if (resolved.has(request)) return resolved.get(request)
  const session = await resolveSession(request.server.db, request.cookies[SESSION_COOKIE])
  resolved.set(request, session)
  return session
}

export async function requireSession(request: FastifyRequest): Promise<Session> {
  const session = await currentSession(request)
  if (!session) throw unauthorized()
  return session
}
