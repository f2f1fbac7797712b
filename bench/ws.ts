/**
 * Issue 3's benchmark: 1,000 sockets in 100 rooms of 10, offered loads of
 * messages/s for a fixed time each, first against Ferry (GET /api/ws, on
 * PostgreSQL), then against a raw `ws` broadcast server with no database,
 * through the same generator process (bench/ws-load.ts). Server RSS and CPU
 * are read from /proc while each load runs.
 */
import { fork } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import WebSocket from 'ws'
import { createRoom, type FerryServer, joinRoom, pool, readAllSeqs, signup, startFerry } from './lib/ferry.ts'
import { ActivitySampler, type ActivitySummary, createTempDatabase, postgresProblem } from './lib/pg.ts'
import {
  freePort,
  quietGate,
  ROOT,
  roundStats,
  Sampler,
  type Spawned,
  spawnGroup,
  stopGroup,
  type WindowStats,
  waitHealthy,
} from './lib/proc.ts'
import { round } from './lib/stats.ts'
import type { ChildMessage, LoadConfig, PhaseResult } from './ws-protocol.ts'

export interface WsOptions {
  seconds: number
  loads: number[]
  sockets: number
  roomSize: number
  users: number
  drainMs: number
  bodyBytes: number
  /** 'postgres' (default) or 'pglite' for Ferry's database. */
  ferryDb: 'postgres' | 'pglite'
  log: (s: string) => void
}

export interface PhaseWithServer extends PhaseResult {
  /** Server process RSS/CPU and the machine's CPU split during the sending window. */
  server: WindowStats
  /** Where the server's PostgreSQL connections spent the window (Ferry on PostgreSQL only). */
  postgres?: ActivitySummary
}

export interface TargetResult {
  target: 'ferry' | 'raw'
  database?: string
  skipped?: string
  error?: string
  setupMs?: number
  connectMs?: number
  phases?: PhaseWithServer[]
  serverPeakRssMiB?: number
  serverRssAfterConnectMiB?: number
  /** The machine's busy share (% of all cores) just before the target ran, from other work. */
  backgroundBusyPct?: number
  verify?: { rooms: number; storedMessages: number; acked: number; equal: boolean; gapFree: boolean }
}

export interface WsResult {
  config: Omit<WsOptions, 'log'>
  ferry: TargetResult
  raw: TargetResult
  ratios: Array<{ offered: number; deliveriesPerSecond: number; e2eP99: number; ackP99: number }>
}

/** Forks the generator and drives one full run against `url`, sampling the server `pid`. */
function runLoad(config: LoadConfig, pid: number, database: string | undefined, log: (s: string) => void) {
  return new Promise<Pick<TargetResult, 'connectMs' | 'phases' | 'serverPeakRssMiB' | 'serverRssAfterConnectMiB'>>(
    (resolve, reject) => {
      const child = fork(path.join(ROOT, 'bench/ws-load.ts'), [], {
        cwd: ROOT,
        execArgv: ['--import', 'tsx'],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      })
      const overall = new Sampler(pid)
      overall.start(250)
      let phaseSampler: Sampler | undefined
      let activity: ActivitySampler | undefined
      let activityStarted: Promise<void> | undefined
      let activitySummary: Promise<ActivitySummary> | undefined
      const pendingSummaries: Array<Promise<void>> = []
      const out: Pick<TargetResult, 'connectMs' | 'phases' | 'serverPeakRssMiB' | 'serverRssAfterConnectMiB'> = {
        phases: [],
      }
      let serverStats: PhaseWithServer['server'] | undefined
      let finished = false
      const budgetMs = 180_000 + config.loads.length * (config.seconds * 1000 + config.drainMs + 5000)
      const timer = setTimeout(() => finish(new Error(`load generator did not finish within ${budgetMs} ms`)), budgetMs)
      const finish = (error?: Error) => {
        if (finished) return
        finished = true
        clearTimeout(timer)
        out.serverPeakRssMiB = round(overall.stop().peakRssMiB, 0)
        if (child.exitCode === null) child.kill('SIGKILL')
        if (error) reject(error)
        else resolve(out)
      }
      child.on('message', (message: ChildMessage) => {
        switch (message.type) {
          case 'connected':
            out.connectMs = message.ms
            out.serverRssAfterConnectMiB = round(overall.peakRss, 0)
            log(
              `  ${message.sockets} sockets subscribed in ${message.ms} ms` +
                (message.failures ? ` (${message.failures} failures: ${message.firstFailure})` : ''),
            )
            break
          case 'phase-start':
            phaseSampler = new Sampler(pid, child.pid, database)
            phaseSampler.start(200)
            if (database) {
              activity = new ActivitySampler(database)
              activityStarted = activity.start(50).catch(() => {})
            }
            break
          case 'phase-end': {
            serverStats = roundStats(phaseSampler!.stop())
            if (activity) {
              const a = activity
              activitySummary = activityStarted!.then(() => a.stop())
            }
            break
          }
          case 'phase': {
            const r = message.result
            const phase: PhaseWithServer = { ...r, server: serverStats! }
            out.phases!.push(phase)
            if (activitySummary) {
              pendingSummaries.push(
                activitySummary.then((summary) => {
                  phase.postgres = summary
                  log(`    PostgreSQL connections during ${r.offered}/s: ${JSON.stringify(summary)}`)
                }),
              )
            }
            log(
              `  offered ${r.offered}/s: sent ${r.sentPerSecond}/s, deliveries ${r.deliveriesPerSecond}/s, ` +
                `e2e p50 ${r.e2eMs.p50} ms p99 ${r.e2eMs.p99} ms, ack p99 ${r.ackMs.p99} ms, ` +
                `CPU server ${serverStats?.cpuPct}% pg ${serverStats?.postgresCpuPct}% gen ${serverStats?.generatorCpuPct}% ` +
                `other ${serverStats?.otherCpuPct}%, RSS ${serverStats?.peakRssMiB} MiB, gen loop p99 ${r.generator.eventLoopDelayP99Ms} ms` +
                (Object.keys(r.errors).length ? `, errors ${JSON.stringify(r.errors)}` : '') +
                (r.drained
                  ? ''
                  : `, NOT drained (${r.deliveries}/${r.expectedDeliveries} deliveries, ${r.acks}/${r.sent} acks)`),
            )
            break
          }
          case 'done':
            void Promise.all(pendingSummaries).then(() => finish())
            break
          case 'fatal':
            finish(new Error(message.message))
            break
        }
      })
      child.on('exit', (code) => {
        if (code === 0) void Promise.all(pendingSummaries).then(() => finish())
        else finish(new Error(`load generator exited with ${code}`))
      })
      child.send({ type: 'run', config })
    },
  )
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

async function runFerry(options: WsOptions): Promise<TargetResult> {
  const result: TargetResult = { target: 'ferry', database: options.ferryDb }
  let server: FerryServer | undefined
  let drop: (() => Promise<void>) | undefined
  try {
    let databaseUrl: string | undefined
    let dbName: string | undefined
    if (options.ferryDb === 'postgres') {
      const problem = await postgresProblem()
      if (problem) return { ...result, skipped: `${problem} (set BENCH_WS_DB=pglite to run on PGlite)` }
      const tmp = await createTempDatabase()
      drop = tmp.drop
      databaseUrl = tmp.url
      dbName = tmp.name
    }
    options.log(`ws/ferry (${options.ferryDb}): starting server`)
    server = await startFerry({ databaseUrl })
    const url = `ws://127.0.0.1:${server.port}/api/ws`
    const origin = server.base

    const t0 = performance.now()
    const tag = Math.random().toString(36).slice(2, 8)
    const users = Math.min(options.users, options.sockets)
    options.log(`  signing up ${users} users (argon2id, takes a while)`)
    const accounts = await pool(
      Array.from({ length: users }, (_, i) => i),
      4,
      (i) => signup(server!.base, `w${tag}_${i}`),
    )
    const problem = await probeWs(url, origin, accounts[0]!.cookie)
    if (problem) {
      options.log(`ws/ferry skipped: ${problem}`)
      return { ...result, skipped: problem }
    }
    // socket i → room floor(i / roomSize), user i % users; each room's sockets belong to distinct users.
    const roomCount = Math.ceil(options.sockets / options.roomSize)
    const ownerOf = (r: number) => accounts[(r * options.roomSize) % users]!
    const roomIds = await pool(
      Array.from({ length: roomCount }, (_, r) => r),
      8,
      (r) => createRoom(server!.base, ownerOf(r).cookie, `bench-ws-${tag}-${r}`),
    )
    const sockets = Array.from({ length: options.sockets }, (_, i) => ({
      cookie: accounts[i % users]!.cookie,
      roomId: roomIds[Math.floor(i / options.roomSize)]!,
    }))
    const joins = new Map<string, { cookie: string; roomId: string }>()
    for (const s of sockets) joins.set(`${s.cookie}|${s.roomId}`, s)
    await pool([...joins.values()], 16, (s) => joinRoom(server!.base, s.cookie, s.roomId))
    result.setupMs = round(performance.now() - t0, 0)
    options.log(`  setup (users, ${roomCount} rooms, joins) ${result.setupMs} ms`)

    Object.assign(result, await runLoad(loadConfig(options, url, origin, sockets), server.pid, dbName, options.log))

    // Every acked message is stored, each room's seqs are 1..n.
    const acked = (result.phases ?? []).reduce((a, p) => a + p.acks, 0)
    let storedMessages = 0
    let gapFree = true
    await pool(roomIds, 8, async (roomId, r) => {
      const { seqs, messages, lastSeq } = await readAllSeqs(server!.base, ownerOf(r).cookie, roomId)
      storedMessages += messages
      if (!seqs.every((s, i) => s === i + 1) || lastSeq !== seqs.length) gapFree = false
    })
    result.verify = { rooms: roomIds.length, storedMessages, acked, equal: storedMessages === acked, gapFree }
    options.log(`  verify: ${storedMessages} stored vs ${acked} acked, gap-free ${gapFree}`)
  } catch (error) {
    result.error = (error as Error).message.slice(0, 2000)
    options.log(`ws/ferry failed: ${result.error}`)
  } finally {
    await server?.stop()
    await drop?.().catch((e) => options.log(`could not drop the bench database: ${e.message}`))
  }
  return result
}

async function runRaw(options: WsOptions): Promise<TargetResult> {
  const result: TargetResult = { target: 'raw' }
  let spawned: Spawned | undefined
  try {
    const port = await freePort()
    options.log('ws/raw: starting raw ws broadcast server')
    spawned = spawnGroup(process.execPath, ['--import', 'tsx', 'bench/raw-ws-server.ts'], { PORT: String(port) })
    await waitHealthy(`http://127.0.0.1:${port}/healthz`, spawned, performance.now(), 30_000)
    const roomIds = Array.from({ length: Math.ceil(options.sockets / options.roomSize) }, () => randomUUID())
    const sockets = Array.from({ length: options.sockets }, (_, i) => ({
      cookie: '',
      roomId: roomIds[Math.floor(i / options.roomSize)]!,
    }))
    const url = `ws://127.0.0.1:${port}/api/ws`
    Object.assign(
      result,
      await runLoad(
        loadConfig(options, url, `http://127.0.0.1:${port}`, sockets),
        spawned.child.pid!,
        undefined,
        options.log,
      ),
    )
  } catch (error) {
    result.error = (error as Error).message.slice(0, 2000)
    options.log(`ws/raw failed: ${result.error}`)
  } finally {
    if (spawned) await stopGroup(spawned)
  }
  return result
}

function loadConfig(options: WsOptions, url: string, origin: string, sockets: LoadConfig['sockets']): LoadConfig {
  return {
    url,
    origin,
    sockets,
    loads: options.loads,
    seconds: options.seconds,
    drainMs: options.drainMs,
    connectConcurrency: 50,
    bodyBytes: options.bodyBytes,
  }
}

export async function runWs(options: WsOptions): Promise<WsResult> {
  if (!fs.existsSync(path.join(ROOT, 'bench/ws-load.ts'))) throw new Error('bench/ws-load.ts missing')
  const ferryIdle = await quietGate('ws/ferry', options.log)
  const ferry = { ...(await runFerry(options)), backgroundBusyPct: ferryIdle }
  const rawIdle = await quietGate('ws/raw', options.log)
  const raw = { ...(await runRaw(options)), backgroundBusyPct: rawIdle }
  const ratios: WsResult['ratios'] = []
  for (const f of ferry.phases ?? []) {
    const r = raw.phases?.find((p) => p.offered === f.offered)
    if (!r) continue
    ratios.push({
      offered: f.offered,
      deliveriesPerSecond: round(f.deliveriesPerSecond / r.deliveriesPerSecond, 2),
      e2eP99: round(f.e2eMs.p99 / r.e2eMs.p99, 1),
      ackP99: round(f.ackMs.p99 / r.ackMs.p99, 1),
    })
  }
  const { log: _log, ...config } = options
  return { config, ferry, raw, ratios }
}
