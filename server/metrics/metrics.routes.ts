import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { AppError } from '../http/app-error.ts'
import { sendNotFound } from '../http/error-handler.ts'
import type { MetricsSource } from './metrics.ts'

/** Equal-length digests: timingSafeEqual tells nothing about the token, not even its length. */
const digest = (value: string) => createHash('sha256').update(value).digest()

/**
 * GET /metrics on the main port. With METRICS_TOKEN: only to
 * `Authorization: Bearer <token>` (compared in constant time), else 401.
 * Without: a 404 like any unknown route, also when the client is served
 * (whose catch-all would otherwise answer with the page shell).
 */
export function registerMetricsRoute(app: FastifyInstance, token: string | undefined, source: MetricsSource): void {
  const expected = token === undefined ? undefined : digest(token)
  app.get('/metrics', async (request, reply) => {
    if (!expected) return sendNotFound(request, reply)
    const given = /^Bearer (\S+)$/.exec(request.headers.authorization ?? '')?.[1]
    if (given === undefined || !timingSafeEqual(digest(given), expected)) {
      reply.header('www-authenticate', 'Bearer')
      throw new AppError(401, 'unauthorized', 'Metrics need Authorization: Bearer <METRICS_TOKEN>')
    }
    let text: Awaited<ReturnType<MetricsSource>>
    try {
      text = await source()
    } catch (error) {
      request.log.warn({ err: error }, 'metrics scrape failed')
      throw new AppError(503, 'unavailable', 'Metrics are not available right now')
    }
    return reply.header('cache-control', 'no-store').type(text.contentType).send(text.body)
  })
}
