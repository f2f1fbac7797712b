import type { ServerResponse } from 'node:http'
import fastifyWebsocket from '@fastify/websocket'
import type { FastifyBaseLogger, FastifyPluginAsync, FastifyRequest } from 'fastify'
import type { WebSocket } from 'ws'
import { LIMITS } from '../../shared/limits.ts'
import { requireSession } from '../auth/session-guard.ts'
import { existingSessionIds } from '../auth/sessions.repository.ts'
import type { Session } from '../auth/sessions.ts'
import { AppError } from '../http/app-error.ts'
import { isAllowedOrigin } from '../http/csrf.ts'
import { LocalBus } from './bus.ts'
import { ClusterNode } from './cluster/cluster-node.ts'
import { SessionAudit } from './cluster/session-audit.ts'
import { Connection, type ConnectionDeps } from './connection.ts'
import { ConnectionRegistry } from './connections.ts'
import { FrameLimits } from './frame-limits.ts'
import { Hub } from './hub.ts'
import { UserStream } from './user-stream.ts'

/** How long shutdown waits for clients to answer the 1001 close before dropping them. */
const SHUTDOWN_GRACE_MS = 2_000
const RATE_LIMIT_SWEEP_MS = 60_000

/** ws has already started its own close (1009 too big, 1007 bad UTF-8…) when the socket is no longer open. */
function onSocketError(log: FastifyBaseLogger, error: Error, socket: WebSocket): void {
  log.debug({ err: error }, 'websocket error')
  if (socket.readyState === socket.OPEN) socket.terminate()
}

/**
 * The client's protocol version, `?v=` on the socket URL (absent: 1): frames
 * added since version 1 (`receipts`, `read_marker`) go only to clients that
 * know them, because a client refuses a frame its schema does not know.
 */
function speaksReceipts(query: unknown): boolean {
  const v = (query as Record<string, unknown> | undefined)?.v
  return typeof v === 'string' && /^[0-9]{1,3}$/.test(v) && Number(v) >= 2
}

/** What the upgrade's hooks found, for its handler. */
interface Upgrade {
  session: Session
  response: ServerResponse
}

/**
 * After the upgrade, nothing may hold the HTTP request: the response the
 * socket was assigned to for routing, and the error listener the websocket
 * plugin adds (its closure holds the Fastify request and reply), would keep
 * request, reply, headers and logger alive as long as the socket, ~3.4 KB
 * each (heap snapshot, docs/BENCHMARKS.md "Idle connections").
 */
function releaseUpgrade(socket: WebSocket, request: FastifyRequest, response: ServerResponse, log: FastifyBaseLogger) {
  response.detachSocket(request.raw.socket)
  socket.removeAllListeners('error')
  socket.on('error', (error) => onSocketError(log, error, socket))
}

/**
 * GET /api/ws: the WebSocket sync protocol (docs/PROTOCOL.md). The session
 * cookie and the Origin are checked before the upgrade, so a refused
 * handshake is a plain 401/403 JSON response and never a socket.
 */
const realtimeRoutes: FastifyPluginAsync = async (app) => {
  const { db, appender, bus, config } = app
  const settings = config.realtime
  const hub = new Hub(bus, settings.typingTtlMs, (error) => app.log.error({ err: error }, 'realtime fan-out failed'), {
    onFanOut: (seconds) => app.metrics.fanOutSeconds.observe(seconds),
  })
  const userStream = new UserStream(bus, db, app.log)
  // Shared with HTTP sends (app.ts): one per-user send limit.
  const limiter = app.sendLimiter
  const frameLimits = new FrameLimits()
  const registry = new ConnectionRegistry(settings.pingIntervalMs)
  const sweeper = setInterval(() => {
    limiter.sweep()
    frameLimits.sweep()
  }, RATE_LIMIT_SWEEP_MS).unref()
  // Presence, typing and focus across processes, and access changes from any node (docs/SCALING.md).
  const cluster = new ClusterNode({
    bus,
    hub,
    focus: app.focus,
    log: app.log,
    metrics: app.metrics,
    access: {
      sessionEnded: (sessionId) => registry.endSession(sessionId),
      leftRoom: (roomId, userId) => registry.revokeRoom(roomId, userId),
      roomDeleted: (roomId) => registry.revokeRoomForAll(roomId),
    },
  })
  app.metrics.readAtScrape(app.metrics.clusterPeers, () => cluster.peers.length)
  // Across processes only: a session-ended message the bus lost still closes the session's sockets within a minute.
  const audit =
    bus instanceof LocalBus
      ? undefined
      : new SessionAudit({
          sessions: () => registry.sessionIds(),
          existing: (ids) => existingSessionIds(db, ids),
          end: (sessionId) => registry.endSession(sessionId),
          log: app.log,
        })
  // Once the app is ready (the bus too): the state-request's answers need a listening bus.
  app.addHook('onReady', async () => {
    cluster.start()
    audit?.start()
  })
  // Room-list changes or read markers lost on the bus: every socket here reconnects and refetches (docs/SCALING.md, "Bus").
  const stopListLoss = bus.onRoomListLoss(() => registry.reconnectAll())

  await app.register(fastifyWebsocket, {
    options: { maxPayload: LIMITS.wsMaxFrameBytes },
    errorHandler(error, socket, request) {
      onSocketError(request.log, error, socket)
    },
    // Graceful shutdown: answer the sends already queued, then close every socket with 1001.
    async preClose() {
      // First: the other nodes drop this one's presence and focus at once, not one socket at a time.
      cluster.stop()
      audit?.stop()
      stopListLoss()
      clearInterval(sweeper)
      await appender.drain()
      await registry.closeAll(SHUTDOWN_GRACE_MS)
      hub.close()
      userStream.close()
      await new Promise<void>((resolve) => app.websocketServer.close(() => resolve()))
    },
  })

  const upgrades = new WeakMap<FastifyRequest, Upgrade>()
  // One for all sockets: each connection logs its own userId.
  const deps: ConnectionDeps = {
    db,
    appender,
    readMarkers: app.readMarkers,
    focus: app.focus,
    hub,
    limiter,
    frameLimits,
    settings,
    log: app.log,
    metrics: app.metrics,
    onClosed: (closed) => {
      registry.remove(closed)
      userStream.remove(closed)
    },
  }

  app.get(
    '/ws',
    {
      websocket: true,
      preValidation: async (request, reply) => {
        if (!isAllowedOrigin(request.headers.origin, config.allowedOrigins)) {
          throw new AppError(403, 'forbidden', 'WebSocket connections from this origin are not allowed')
        }
        upgrades.set(request, { session: await requireSession(request), response: reply.raw })
      },
    },
    (socket, request) => {
      const { session, response } = upgrades.get(request)!
      upgrades.delete(request)
      releaseUpgrade(socket, request, response, app.log)
      const connection = new Connection(socket, session, deps, speaksReceipts(request.query))
      registry.add(connection)
      // Before `hello`: the client fetches its room list after it, so no change falls between the two.
      userStream.add(connection)
      connection.start()
    },
  )
}

export default realtimeRoutes
