import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import {
  EventsQuery,
  EventsResponse,
  HistoryQuery,
  HistoryResponse,
  MessageResponse,
  OperationResponse,
  RoomParams,
  SendMessageBody,
} from '../../shared/api.ts'
import { OperationBody } from '../../shared/conversation/requests.ts'
import { LIMITS } from '../../shared/limits.ts'
import { ErrorResponse } from '../../shared/schemas.ts'
import { requireSession } from '../auth/session-guard.ts'
import { AppError } from '../http/app-error.ts'
import { countSend } from '../metrics/sends.ts'
import { requireReadable } from '../rooms/access.ts'
import type { AppendResult } from './appender.ts'
import { toMessage, toRoomEvent } from './events.ts'
import { aroundPage, historyPage } from './history.ts'
import { eventsAfter } from './messages.repository.ts'
import { appendFailure, sendMessage } from './messages.service.ts'
import { applyOperation } from './operations.service.ts'

const errors = { '4xx': ErrorResponse }

const messagesRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { db, appender, sendLimiter, metrics } = app

  /** An HTTP send's outcome into ferry_sends_total (a throw is `internal`, as the error handler answers it). */
  const counted = async <R extends AppendResult>(result: Promise<R>): Promise<R> => {
    try {
      const outcome = await result
      countSend(metrics, 'http', outcome)
      return outcome
    } catch (error) {
      countSend(metrics, 'http', { ok: false, code: 'internal' })
      throw error
    }
  }

  app.post(
    '/:roomId/messages',
    {
      schema: {
        params: RoomParams,
        body: SendMessageBody,
        response: { 200: MessageResponse, 201: MessageResponse, ...errors, 503: ErrorResponse },
      },
    },
    async (request, reply) => {
      const session = await requireSession(request)
      // The same per-user limit as socket sends: a refused send never reaches the appender.
      const retryAfterMs = sendLimiter.take(session.user.id)
      if (retryAfterMs > 0) {
        countSend(metrics, 'http', { ok: false, code: 'rate_limited' })
        reply.header('retry-after', Math.ceil(retryAfterMs / 1000))
        throw new AppError(429, 'rate_limited', `Too many messages; retry in ${retryAfterMs} ms`)
      }
      const result = await counted(
        sendMessage(db, appender, session, { roomId: request.params.roomId, ...request.body }),
      )
      if (!result.ok) {
        if (result.retryAfterMs !== undefined) reply.header('retry-after', Math.ceil(result.retryAfterMs / 1000))
        throw appendFailure(result)
      }
      reply.status(result.duplicate ? 200 : 201)
      return { message: toMessage(result.event) }
    },
  )

  // Edit, delete, react (issue 9): the HTTP fallback of the socket frames, one route told apart by `type`.
  app.post(
    '/:roomId/operations',
    {
      schema: {
        params: RoomParams,
        body: OperationBody,
        response: { 200: OperationResponse, 201: OperationResponse, ...errors, 503: ErrorResponse },
      },
    },
    async (request, reply) => {
      const session = await requireSession(request)
      const retryAfterMs = sendLimiter.take(session.user.id)
      if (retryAfterMs > 0) {
        countSend(metrics, 'http', { ok: false, code: 'rate_limited' })
        reply.header('retry-after', Math.ceil(retryAfterMs / 1000))
        throw new AppError(429, 'rate_limited', `Too many changes; retry in ${retryAfterMs} ms`)
      }
      const result = await counted(applyOperation(db, appender, session, request.params.roomId, request.body))
      if (!result.ok) {
        if (result.retryAfterMs !== undefined) reply.header('retry-after', Math.ceil(result.retryAfterMs / 1000))
        throw appendFailure(result)
      }
      reply.status(result.duplicate ? 200 : 201)
      return { event: result.event }
    },
  )

  app.get(
    '/:roomId/messages',
    { schema: { params: RoomParams, querystring: HistoryQuery, response: { 200: HistoryResponse, ...errors } } },
    async (request) => {
      const { user } = await requireSession(request)
      // Like a schema error, before the room is looked at.
      const { before, around } = request.query
      if (before !== undefined && around !== undefined)
        throw new AppError(400, 'validation_failed', 'Ask for the page before a message or around one, not both')
      const room = await requireReadable(db, user.id, request.params.roomId)
      const limit = request.query.limit ?? LIMITS.historyPageDefault
      if (around !== undefined) return aroundPage(db, room.id, around, limit)
      return historyPage(db, room.id, before, limit)
    },
  )

  app.get(
    '/:roomId/events',
    { schema: { params: RoomParams, querystring: EventsQuery, response: { 200: EventsResponse, ...errors } } },
    async (request) => {
      const { user } = await requireSession(request)
      const room = await requireReadable(db, user.id, request.params.roomId)
      const limit = request.query.limit ?? LIMITS.catchUpPageDefault
      const rows = await eventsAfter(db, room.id, request.query.after ?? 0, limit + 1)
      const events = rows.slice(0, limit).map(toRoomEvent)
      // The room row was read first; events committed since may go beyond it.
      const lastSeq = Math.max(Number(room.last_seq), events.at(-1)?.seq ?? 0)
      return { events, hasMore: rows.length > limit, lastSeq }
    },
  )
}

export default messagesRoutes
