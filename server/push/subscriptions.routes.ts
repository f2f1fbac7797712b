import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { NoContent } from '../../shared/api.ts'
import { LIMITS } from '../../shared/limits.ts'
import {
  PushKeyResponse,
  PushSubscriptionBody,
  PushSubscriptionParams,
  PushSubscriptionResponse,
} from '../../shared/push/contract.ts'
import { ErrorResponse } from '../../shared/schemas.ts'
import { requireSession } from '../auth/session-guard.ts'
import { AppError, notFound } from '../http/app-error.ts'
import { checkEndpoint, EndpointRefused } from './endpoint-guard.ts'
import { subscriptionKeysProblem } from './subscription-keys.ts'
import { deleteOwnSubscription, registerSubscription } from './subscriptions.repository.ts'
import type { VapidKeySource } from './vapid-keys.ts'

const errors = { '4xx': ErrorResponse }

/** GET /api/push/key, POST /api/push/subscriptions, DELETE /api/push/subscriptions/:subscriptionId (docs/API.md). */
export function subscriptionsRoutes(keys: VapidKeySource): FastifyPluginAsyncTypebox {
  return async (app) => {
    const { db, config } = app

    app.get('/key', { schema: { response: { 200: PushKeyResponse, ...errors } } }, async (request) => {
      await requireSession(request)
      return { publicKey: (await keys()).publicKey }
    })

    app.post(
      '/subscriptions',
      {
        schema: {
          body: PushSubscriptionBody,
          response: { 200: PushSubscriptionResponse, 201: PushSubscriptionResponse, ...errors },
        },
      },
      async (request, reply) => {
        const session = await requireSession(request)
        const { endpoint, keys: subscriptionKeys } = request.body
        const keysProblem = subscriptionKeysProblem(subscriptionKeys)
        if (keysProblem) throw new AppError(400, 'validation_failed', keysProblem)
        try {
          await checkEndpoint(endpoint, config.push.allowPrivateEndpoints)
        } catch (error) {
          if (error instanceof EndpointRefused) throw new AppError(400, 'validation_failed', error.message)
          throw error
        }
        const { id, created } = await registerSubscription(
          db,
          { userId: session.user.id, sessionId: session.id, endpoint, ...subscriptionKeys },
          LIMITS.pushSubscriptionsPerUserMax,
        )
        app.pushSender.subscriptionStored()
        reply.status(created ? 201 : 200)
        return { subscription: { id } }
      },
    )

    app.delete(
      '/subscriptions/:subscriptionId',
      { schema: { params: PushSubscriptionParams, response: { 204: NoContent, ...errors } } },
      async (request, reply) => {
        const { user } = await requireSession(request)
        // Another user's subscription answers exactly as a missing one: ids cannot be probed.
        if (!(await deleteOwnSubscription(db, user.id, request.params.subscriptionId))) {
          throw notFound('No such subscription')
        }
        return reply.status(204).send(null)
      },
    )
  }
}
