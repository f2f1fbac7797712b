import { writeFile } from 'node:fs/promises'
import fastifyCookie from '@fastify/cookie'
import fastifyRateLimit from '@fastify/rate-limit'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Fastify, { type FastifyInstance } from 'fastify'
import type { Kysely } from 'kysely'
import { sql } from 'kysely'
import { HealthResponse } from '../shared/api.ts'
import { LIMITS } from '../shared/limits.ts'
import { ErrorResponse } from '../shared/schemas.ts'
import authRoutes from './auth/auth.routes.ts'
import { loginLimitStore } from './auth/login-limit-store.ts'
import type { Config } from './config.ts'
import type { Database } from './db/database.ts'
import type { DB } from './db/schema.ts'
import { AppError } from './http/app-error.ts'
import { registerCsrfGuard } from './http/csrf.ts'
import { frameworkErrors, registerErrorHandling } from './http/error-handler.ts'
import { registerClient } from './http/static.ts'
import { refuseUnknownQueries, registerValidation } from './http/validation.ts'
import { AppendProfile } from './messages/append-profile.ts'
import { Appender, type AppenderOptions } from './messages/appender.ts'
import messagesRoutes from './messages/messages.routes.ts'
import { registerMetricsRoute } from './metrics/metrics.routes.ts'
import { Metrics, type MetricsSource } from './metrics/metrics.ts'
import { pushRoutes } from './push/push.routes.ts'
import { PushSender } from './push/push-sender.ts'
import { vapidKeySource } from './push/vapid-keys.ts'
import { type Bus, LocalBus } from './realtime/bus.ts'
import { FocusRegistry } from './realtime/focus.ts'
import { SendRateLimiter } from './realtime/rate-limit.ts'
import realtimeRoutes from './realtime/realtime.routes.ts'
import { ReadMarkers } from './rooms/read-markers.ts'
import roomsRoutes from './rooms/rooms.routes.ts'
import searchRoutes from './search/search.routes.ts'

declare module 'fastify' {
  interface FastifyInstance {
    config: Config
    db: Kysely<DB>
    database: Database
    appender: Appender
    /** The per-user send limit, one for HTTP and WebSocket sends together. */
    sendLimiter: SendRateLimiter
    bus: Bus
    /** Read markers from `read` frames and POST …/read, coalesced into one write per interval. */
    readMarkers: ReadMarkers
    /** Who looks at which room now (`focus` frames): no push for it to them (docs/PUSH.md). */
    focus: FocusRegistry
    /** Web Push for committed messages (docs/PUSH.md); its stats and idle() serve tests and benchmarks. */
    pushSender: PushSender
    /** This process's Prometheus metrics (server/metrics/, docs/SCALING.md). */
    metrics: Metrics
  }
}

export interface BuildOptions {
  config: Config
  database: Database
  bus?: Bus
  /** Metrics to record into (main.ts hands the one its bus also records into); a fresh registry when absent. */
  metrics?: Metrics
  /** What GET /metrics (METRICS_TOKEN) answers: this app's registry when absent; a cluster worker passes the primary's aggregate. */
  metricsSource?: MetricsSource
  /** Serve the built client (off in API tests). */
  serveClient?: boolean
  /** The per-user send limiter (tests inject one on a frozen clock). */
  sendLimiter?: SendRateLimiter
  /** Redis key prefix of the shared login limits (tests use one of their own). */
  loginLimitKeyPrefix?: string
  /** Appender tuning (tests inject a small queue bound). */
  appender?: Omit<AppenderOptions, 'onNotStorable'>
}

/** Never log bodies, passwords or cookies. */
const LOG_REDACT = ['req.headers.cookie', 'req.headers.authorization', 'res.headers["set-cookie"]']

export async function buildApp(options: BuildOptions): Promise<FastifyInstance> {
  const { config, database } = options
  const app = Fastify({
    logger: { level: config.logLevel, redact: { paths: LOG_REDACT, censor: '[redacted]' } },
    bodyLimit: LIMITS.httpMaxBodyBytes,
    // Bad URLs and over-long parameters are refused before routing: same error shape as the rest.
    frameworkErrors,
    requestTimeout: 30_000,
    connectionTimeout: 60_000,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    // request.ip, which the login limit keys on, comes from X-Forwarded-For only from trusted peers.
    trustProxy: config.trustProxy,
  }).withTypeProvider<TypeBoxTypeProvider>()

  const bus = options.bus ?? new LocalBus()
  app.decorate('config', config)
  app.decorate('database', database)
  app.decorate('db', database.db)
  app.decorate('bus', bus)
  const metrics = options.metrics ?? new Metrics()
  app.decorate('metrics', metrics)
  // Event-loop lag and the process's resources, where someone may read them.
  if (config.metrics.port !== undefined || config.metrics.token !== undefined) metrics.collectProcessMetrics()
  const profile = config.profileFile ? new AppendProfile() : undefined
  app.decorate(
    'appender',
    new Appender(database.db, bus, {
      ...(profile ? { profile } : {}),
      metrics,
      // The write's ids only: never log a message body.
      onNotStorable: (error, { roomId, authorId, clientId }) =>
        app.log.warn({ err: error, roomId, authorId, clientId }, 'the database refused a write: answered not_storable'),
      ...options.appender,
    }),
  )
  app.decorate(
    'sendLimiter',
    options.sendLimiter ?? new SendRateLimiter(config.realtime.sendRatePerSecond, config.realtime.sendBurst),
  )
  app.decorate('focus', new FocusRegistry())
  app.decorate(
    'readMarkers',
    new ReadMarkers(database.db, bus, app.log, { flushMs: config.realtime.readMarkerFlushMs }),
  )

  // An empty JSON body (logout, join, leave) is "no body", not a parse error.
  const parseJson = app.getDefaultJsonParser('error', 'error')
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (body === '') return done(null, undefined)
    parseJson(request, body as string, done)
  })

  registerErrorHandling(app)
  registerValidation(app)
  refuseUnknownQueries(app)
  await app.register(fastifyCookie)
  // Login limits: shared through Redis when there is one, else per process (docs/SCALING.md).
  const loginStore = config.redisUrl
    ? loginLimitStore(config.redisUrl, app.log, options.loginLimitKeyPrefix)
    : undefined
  if (loginStore) app.addHook('onClose', async () => loginStore.close())
  await app.register(fastifyRateLimit, {
    global: false,
    ...loginStore?.options,
    // The plugin throws what this returns; an AppError keeps the message through the error handler.
    errorResponseBuilder: (_request, context) =>
      new AppError(429, 'rate_limited', `Too many attempts; try again in ${Math.ceil(context.ttl / 1000)} s`),
  })
  registerCsrfGuard(app, config.allowedOrigins)

  app.get(
    '/healthz',
    { schema: { response: { 200: HealthResponse, 503: ErrorResponse } } },
    async (_request, reply) => {
      try {
        await sql`SELECT 1`.execute(database.db)
        return { status: 'ok' as const }
      } catch {
        return reply.status(503).send({ error: { code: 'unavailable', message: 'The database does not answer' } })
      }
    },
  )
  await app.register(authRoutes, { prefix: '/api/auth' })
  await app.register(roomsRoutes, { prefix: '/api/rooms' })
  await app.register(messagesRoutes, { prefix: '/api/rooms' })
  await app.register(realtimeRoutes, { prefix: '/api' })
  await app.register(searchRoutes, { prefix: '/api' })
  // The VAPID pair: from the environment, or generated once and kept in the database (loaded when first needed).
  const vapidKeys = vapidKeySource(database.db, config.push)
  app.decorate(
    'pushSender',
    new PushSender({ db: database.db, bus, focus: app.focus, keys: vapidKeys, config: config.push, log: app.log }),
  )
  metrics.readAtScrape(metrics.pushQueueDepth, () => app.pushSender.queueDepth)
  await app.register(pushRoutes(vapidKeys), { prefix: '/api' })
  registerMetricsRoute(app, config.metrics.token, options.metricsSource ?? (() => metrics.render()))
  if (options.serveClient !== false) await registerClient(app, config.clientDir)

  app.addHook('onClose', async () => {
    // Pushes never hold up shutdown: waiting ones are dropped, running ones aborted.
    app.pushSender.close()
    await app.appender.drain()
    await app.readMarkers.close()
    await bus.close()
    if (profile && config.profileFile) {
      await writeFile(config.profileFile, `${JSON.stringify(profile.summary(), null, 2)}\n`)
    }
  })
  return app
}
