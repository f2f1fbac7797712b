import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply } from 'fastify'
import { Credentials, LoginBody, NoContent, UserResponse } from '../../shared/api.ts'
import { ErrorResponse } from '../../shared/schemas.ts'
import { AppError } from '../http/app-error.ts'
import { publishAccess } from '../realtime/cluster/access.ts'
import { dummyHash, hashPassword, verifyPassword } from './passwords.ts'
import { requireSession } from './session-guard.ts'
import { createSession, endSession, SESSION_COOKIE } from './sessions.ts'
import { findUserByUsername, insertUser } from './users.repository.ts'

const authRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { db, config } = app
  const rateLimit = { max: config.authRateLimit.max, timeWindow: config.authRateLimit.windowMs }

  async function startSession(reply: FastifyReply, userId: string) {
    // A fresh session id at every login: a planted cookie never becomes a signed-in one.
    const { token, expiresAt } = await createSession(db, userId, config.sessionTtlMs)
    reply.setCookie(SESSION_COOKIE, token, {
      path: '/',
      httpOnly: true,
      sameSite: 'lax',
      secure: config.cookieSecure,
      expires: expiresAt,
    })
  }

  app.post(
    '/signup',
    {
      config: { rateLimit },
      schema: { body: Credentials, response: { 201: UserResponse, '4xx': ErrorResponse } },
    },
    async (request, reply) => {
      const { username, password } = request.body
      const user = await insertUser(db, username, await hashPassword(password))
      if (!user) throw new AppError(409, 'username_taken', `The username "${username}" is taken`)
      await startSession(reply, user.id)
      reply.status(201)
      return { user: { id: user.id, username: user.username, createdAt: user.created_at.toISOString() } }
    },
  )

  app.post(
    '/login',
    {
      config: { rateLimit },
      schema: { body: LoginBody, response: { 200: UserResponse, '4xx': ErrorResponse } },
    },
    async (request, reply) => {
      const { username, password } = request.body
      const user = await findUserByUsername(db, username)
      const ok = await verifyPassword(user?.password_hash ?? (await dummyHash), password)
      if (!user || !ok) throw new AppError(401, 'invalid_credentials', 'Wrong username or password')
      await startSession(reply, user.id)
      return { user: { id: user.id, username: user.username, createdAt: user.created_at.toISOString() } }
    },
  )

  app.post('/logout', { schema: { response: { 204: NoContent, '4xx': ErrorResponse } } }, async (request, reply) => {
    const session = await requireSession(request)
    await endSession(db, session.id)
    // Every node closes this session's sockets (4001), this one before the answer.
    publishAccess(app.bus, request.log, { kind: 'session-ended', sessionId: session.id })
    reply.clearCookie(SESSION_COOKIE, { path: '/' })
    return reply.status(204).send(null)
  })

  app.get('/me', { schema: { response: { 200: UserResponse, '4xx': ErrorResponse } } }, async (request) => {
    const session = await requireSession(request)
    return { user: session.user }
  })
}

export default authRoutes
