/**
 * The servers the ws part compares, one function each: it starts the server,
 * prepares what the generator needs (users, rooms, sockets) and says how to
 * verify and stop it. Everything a target starts is registered with
 * `cleanup` as soon as it exists, so a failed run still stops it.
 */
import { randomUUID } from 'node:crypto'
import pg from 'pg'
import WebSocket from 'ws'
import type { Scrape } from './lib/bus-metrics.ts'
import { createRoom, joinRoom, pool, readAllSeqs, signup, startFerry, subscribePush } from './lib/ferry.ts'
import {
  type ClusterShape,
  clusterEnv,
  localRedisPid,
  metricsScraper,
  redisProblem,
  waitForPeers,
} from './lib/ferry-cluster.ts'
import { createTempDatabase, postgresProblem } from './lib/pg.ts'
import {
  freePort,
  pinGroupToCpu,
  pinToCpu,
  processCpuSeconds,
  type Spawned,
  spawnGroup,
  stopGroup,
  waitHealthy,
} from './lib/proc.ts'
import { PushSink } from './lib/push-sink.ts'
import { round } from './lib/stats.ts'
import type { LoadConfig, WireProtocol } from './ws-protocol.ts'

export type TargetName = 'ferry' | 'peer' | 'raw' | 'socketio' | 'ferry-2w' | 'ferry-2w-redis'
/** The ws part's servers when BENCH_WS_TARGETS does not name others. */
export const TARGETS: readonly TargetName[] = ['ferry', 'peer', 'raw', 'socketio']
/** The ws-scale part's: one process, two workers on each bus, and the raw ws ceiling (docs/BENCHMARKS.md, "Several processes"). */
export const SCALE_TARGETS: readonly TargetName[] = ['ferry', 'ferry-2w', 'ferry-2w-redis', 'raw']
export const ALL_TARGETS: readonly TargetName[] = [...TARGETS, 'ferry-2w', 'ferry-2w-redis']
/** The Ferry targets; the others are baselines. */
export const FERRY_TARGETS: readonly TargetName[] = ['ferry', 'ferry-2w', 'ferry-2w-redis']
export const LABELS: Record<TargetName, string> = {
  ferry: 'Ferry',
  peer: 'ws + PG group commit',
  raw: 'raw ws',
  socketio: 'Socket.IO',
  'ferry-2w': 'Ferry 2 workers (PG bus)',
  'ferry-2w-redis': 'Ferry 2 workers (Redis bus)',
}

/** Each server's colour in the chart, the same in every run. */
export const COLORS: Record<TargetName, string> = {
  ferry: '#d62728',
  peer: '#1f77b4',
  raw: '#2ca02c',
  socketio: '#9467bd',
  'ferry-2w': '#ff7f0e',
  'ferry-2w-redis': '#8c564b',
}

export interface TargetSettings {
  sockets: number
  roomSize: number
  /** Ferry accounts; socket i belongs to user i mod users. */
  users: number
  ferryDb: 'postgres' | 'pglite'
  /** Ferry only: away members (no socket) with one push subscription each on a local sink, spread over the rooms. */
  pushSubscribers?: number
  /** Ferry only: serve /metrics on a port of its own and read it around every load (the ws-scale part). */
  metrics?: boolean
  log: (s: string) => void
}

export interface Verify {
  rooms: number
  storedMessages: number
  acked: number
  /** stored = acked (expected only when every load drained; otherwise stored ≥ acked). */
  equal: boolean
  gapFree: boolean
}

export interface Prepared {
  url: string
  protocol: WireProtocol
  origin: string
  sockets: LoadConfig['sockets']
  /** The server process to sample and pin. */
  pid: number
  /** The bench database whose backends' CPU is the server's PostgreSQL CPU. */
  database?: string
  setupMs?: number
  /** Whether the server was pinned to CPU 0 (BENCH_PIN=1), or why not. */
  pinned: string
  /** Checks what was stored against the acks counted by the generator. */
  verify?: (acked: number) => Promise<Verify>
  /** Stops the server and drops its database (idempotent). */
  stop: () => Promise<void>
  /** Pushes the local sink received so far (BENCH_WS_PUSH). */
  pushesReceived?: () => number
  /** `pid` leads a process group (a cluster primary and its workers): CPU and RSS are the group's. */
  group?: boolean
  /** Ferry's /metrics (summed over the workers), read before and after every load. */
  scrape?: () => Promise<Scrape>
  /** CPU seconds so far of the bus's own server (a redis-server on this machine), read around every load. */
  busServerCpuSeconds?: () => number
}

export type Cleanup = (fn: () => Promise<void>) => () => Promise<void>

/** Why the target cannot run here (it is skipped), or a prepared target. */
export type Preparation = { skipped: string } | Prepared

const roomsOf = (s: TargetSettings) => Math.ceil(s.sockets / s.roomSize)
const pinned = (pid: number) => pinToCpu(pid, 0) ?? 'cpu 0'

/** A throwaway database, dropped by the returned cleanup. */
async function tempDatabase(cleanup: Cleanup) {
  const problem = await postgresProblem()
  if (problem) return { problem }
  const db = await createTempDatabase()
  const drop = cleanup(() => db.drop())
  return { db, drop }
}

async function spawnBaseline(script: string, env: Record<string, string>, cleanup: Cleanup) {
  const port = await freePort()
  const spawned: Spawned = spawnGroup(process.execPath, ['--import', 'tsx', script], { PORT: String(port), ...env })
  const stop = cleanup(() => stopGroup(spawned))
  await waitHealthy(`http://127.0.0.1:${port}/healthz`, spawned, performance.now(), 30_000)
  return { port, pid: spawned.child.pid!, stop }
}

/** Anonymous sockets for the baselines: socket i in room floor(i / roomSize). */
function anonymousSockets(s: TargetSettings): LoadConfig['sockets'] {
  const roomIds = Array.from({ length: roomsOf(s) }, () => randomUUID())
  return Array.from({ length: s.sockets }, (_, i) => ({ cookie: '', roomId: roomIds[Math.floor(i / s.roomSize)]! }))
}

export async function prepareRaw(s: TargetSettings, cleanup: Cleanup): Promise<Preparation> {
  const { port, pid, stop } = await spawnBaseline('bench/raw-ws-server.ts', {}, cleanup)
  return {
    url: `ws://127.0.0.1:${port}/api/ws`,
    protocol: 'ferry',
    origin: `http://127.0.0.1:${port}`,
    sockets: anonymousSockets(s),
    pid,
    pinned: pinned(pid),
    stop,
  }
}

export async function prepareSocketIo(s: TargetSettings, cleanup: Cleanup): Promise<Preparation> {
  const { port, pid, stop } = await spawnBaseline('bench/socketio-server.ts', {}, cleanup)
  return {
    url: `http://127.0.0.1:${port}`,
    protocol: 'socketio',
    origin: `http://127.0.0.1:${port}`,
    sockets: anonymousSockets(s),
    pid,
    pinned: pinned(pid),
    stop,
  }
}

export async function preparePeer(s: TargetSettings, cleanup: Cleanup): Promise<Preparation> {
  const tmp = await tempDatabase(cleanup)
  if (!tmp.db) return { skipped: tmp.problem! }
  const { db, drop } = tmp
  const server = await spawnBaseline('bench/pg-peer-server.ts', { DATABASE_URL: db.url }, cleanup)
  const stop = async () => {
    await server.stop()
    await drop()
  }
  return {
    url: `ws://127.0.0.1:${server.port}/api/ws`,
    protocol: 'ferry',
    origin: `http://127.0.0.1:${server.port}`,
    sockets: anonymousSockets(s),
    pid: server.pid,
    database: db.name,
    pinned: pinned(server.pid),
    async verify(acked) {
      const c = new pg.Client({ connectionString: db.url })
      await c.connect()
      try {
        const { rows } = await c.query(
          `SELECT count(*)::int AS rooms, coalesce(sum(n), 0)::int AS stored, coalesce(bool_and(n = top), true) AS gap_free
             FROM (SELECT count(*) AS n, max(seq) AS top FROM peer_messages GROUP BY room_id) r`,
        )
        const r = rows[0]
        return { rooms: r.rooms, storedMessages: r.stored, acked, equal: r.stored === acked, gapFree: r.gap_free }
      } finally {
        await c.end()
      }
    },
    stop,
  }
}

/** 'ok' when /api/ws upgrades (or refuses as an implemented endpoint would), else why not. */
function probeWs(url: string, origin: string, cookie: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers: { cookie, origin } })
    const timer = setTimeout(() => {
      ws.terminate()
      resolve('no answer to the upgrade within 5 s')
    }, 5000)
    ws.on('open', () => {
      clearTimeout(timer)
      ws.close()
      resolve(undefined)
    })
    ws.on('unexpected-response', (_req, res) => {
      clearTimeout(timer)
      resolve(
        res.statusCode === 404
          ? 'GET /api/ws answers 404: the WebSocket endpoint is not implemented yet (server/realtime/realtime.routes.ts)'
          : `GET /api/ws refused the upgrade with HTTP ${res.statusCode}`,
      )
    })
    ws.on('error', (error) => {
      clearTimeout(timer)
      resolve(`GET /api/ws: ${error.message}`)
    })
  })
}

/**
 * Ferry as one process, or (`shape`) as a node:cluster primary with workers
 * on a cross-process bus, which needs PostgreSQL (and Redis for that bus):
 * without them the target is skipped and says why.
 */
export async function prepareFerry(s: TargetSettings, cleanup: Cleanup, shape?: ClusterShape): Promise<Preparation> {
  if (shape && s.ferryDb !== 'postgres') {
    return { skipped: 'several workers need PostgreSQL (FERRY_WORKERS is refused on PGlite); unset BENCH_WS_DB' }
  }
  if (shape?.bus === 'redis') {
    const problem = await redisProblem()
    if (problem) return { skipped: problem }
  }
  let databaseUrl: string | undefined
  let database: string | undefined
  let drop = async () => {}
  if (s.ferryDb === 'postgres') {
    const tmp = await tempDatabase(cleanup)
    if (!tmp.db) {
      return {
        skipped: shape
          ? `${tmp.problem}: several workers need PostgreSQL`
          : `${tmp.problem} (set BENCH_WS_DB=pglite to run on PGlite)`,
      }
    }
    databaseUrl = tmp.db.url
    database = tmp.db.name
    drop = tmp.drop
  }
  s.log(`ws/ferry (${s.ferryDb}${shape ? `, ${shape.workers} workers, ${shape.bus} bus` : ''}): starting server`)
  const sink = (s.pushSubscribers ?? 0) > 0 ? await new PushSink().start() : undefined
  if (sink) cleanup(() => sink.close())
  const metricsPort = shape || s.metrics ? await freePort() : undefined
  const server = await startFerry({
    ...(databaseUrl ? { databaseUrl } : {}),
    env: {
      ...(sink ? { PUSH_ALLOW_PRIVATE_ENDPOINTS: 'true' } : {}),
      ...(metricsPort ? { METRICS_PORT: String(metricsPort) } : {}),
      ...(shape ? clusterEnv(shape) : {}),
    },
  })
  const stopServer = cleanup(() => server.stop())
  const scrape = metricsPort ? metricsScraper(metricsPort) : undefined
  if (shape && scrape) {
    try {
      await waitForPeers(scrape, shape.workers)
    } catch (error) {
      await stopServer()
      await drop()
      throw error
    }
  }
  const stop = async () => {
    await stopServer()
    await drop()
  }
  // As the Ferry client connects (client/sync/connection.ts PROTOCOL_QUERY): receipts snapshots included.
  const url = `ws://127.0.0.1:${server.port}/api/ws?v=2`
  const t0 = performance.now()
  const tag = Math.random().toString(36).slice(2, 8)
  s.log(`  signing up ${s.users} users (argon2id, takes a while)`)
  const accounts = await pool(
    Array.from({ length: s.users }, (_, i) => i),
    4,
    (i) => signup(server.base, `w${tag}_${i}`),
  )
  const problem = await probeWs(url, server.base, accounts[0]!.cookie)
  if (problem) {
    await stop()
    return { skipped: problem }
  }
  // socket i → room floor(i / roomSize), user i % users; each room's sockets belong to distinct users.
  const ownerOf = (r: number) => accounts[(r * s.roomSize) % s.users]!
  const roomIds = await pool(
    Array.from({ length: roomsOf(s) }, (_, r) => r),
    8,
    (r) => createRoom(server.base, ownerOf(r).cookie, `bench-ws-${tag}-${r}`),
  )
  const sockets = Array.from({ length: s.sockets }, (_, i) => ({
    cookie: accounts[i % s.users]!.cookie,
    roomId: roomIds[Math.floor(i / s.roomSize)]!,
  }))
  const joins = new Map<string, { cookie: string; roomId: string }>()
  for (const socket of sockets) joins.set(`${socket.cookie}|${socket.roomId}`, socket)
  await pool([...joins.values()], 16, (j) => joinRoom(server.base, j.cookie, j.roomId))
  if (sink) {
    // Away members: in a room, subscribed to push, never connected, so every message there is pushed to them.
    s.log(`  signing up ${s.pushSubscribers ?? 0} away members with a push subscription each`)
    await pool(
      Array.from({ length: s.pushSubscribers ?? 0 }, (_, i) => i),
      4,
      async (i) => {
        const away = await signup(server.base, `p${tag}_${i}`)
        await joinRoom(server.base, away.cookie, roomIds[i % roomIds.length]!)
        await subscribePush(server.base, away.cookie, sink.subscription(`${tag}-${i}`))
      },
    )
  }
  const setupMs = round(performance.now() - t0, 0)
  s.log(`  setup (${s.users} users, ${roomIds.length} rooms, joins) ${setupMs} ms`)
  return {
    url,
    protocol: 'ferry',
    origin: server.base,
    sockets,
    pid: server.pid,
    database,
    setupMs,
    // A cluster is pinned whole (primary and workers) to CPU 0: the single process's budget.
    pinned: shape ? (pinGroupToCpu(server.pid, 0) ?? 'cpu 0 (primary and workers)') : pinned(server.pid),
    ...(sink ? { pushesReceived: () => sink.received } : {}),
    ...(shape ? { group: true } : {}),
    ...(scrape ? { scrape } : {}),
    ...busServerCpu(shape),
    async verify(acked) {
      // Every acked message is stored, each room's seqs are 1..n.
      let storedMessages = 0
      let gapFree = true
      await pool(roomIds, 8, async (roomId, r) => {
        const { seqs, messages, lastSeq } = await readAllSeqs(server.base, ownerOf(r).cookie, roomId)
        storedMessages += messages
        if (!seqs.every((q, i) => q === i + 1) || lastSeq !== seqs.length) gapFree = false
      })
      return { rooms: roomIds.length, storedMessages, acked, equal: storedMessages === acked, gapFree }
    },
    stop,
  }
}

/** A Redis bus served on this machine: its server's CPU, so the report can put it per message. */
function busServerCpu(shape: ClusterShape | undefined): Pick<Prepared, 'busServerCpuSeconds'> {
  const pid = shape?.bus === 'redis' ? localRedisPid() : undefined
  return pid === undefined ? {} : { busServerCpuSeconds: () => processCpuSeconds(pid) }
}

export const PREPARE: Record<TargetName, (s: TargetSettings, cleanup: Cleanup) => Promise<Preparation>> = {
  ferry: prepareFerry,
  peer: preparePeer,
  raw: prepareRaw,
  socketio: prepareSocketIo,
  'ferry-2w': (s, cleanup) => prepareFerry(s, cleanup, { workers: 2, bus: 'postgres' }),
  'ferry-2w-redis': (s, cleanup) => prepareFerry(s, cleanup, { workers: 2, bus: 'redis' }),
}
