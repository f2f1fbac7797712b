/**
 * Issue 3's benchmark, grown into issue 14's comparison: 1,000 sockets in 100
 * rooms of 10, the same open-loop generator (bench/ws-load.ts, one process
 * per server) against Ferry (GET /api/ws, on PostgreSQL) and three baselines
 * in the same run:
 *
 * - peer: ws + PostgreSQL group commit (bench/pg-peer-server.ts), Ferry's fair
 *   peer: durable before ack and fan-out, gap-free seqs, no auth or dedupe;
 * - raw: a raw `ws` broadcast server with no database (bench/raw-ws-server.ts);
 * - socketio: Socket.IO rooms with acks, no database (bench/socketio-server.ts).
 *
 * Offered loads climb a ladder (250, 500, 1000, …), interleaved: every server
 * still below its knee gets rate r before any gets 2r, so machine noise hits
 * them alike. A server that fails a rate (p99 > 100 ms or < 99 % delivered)
 * has passed its knee: it is verified, stopped and offered nothing more.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { LIMITS } from '../shared/limits.ts'
import { busWindow } from './lib/bus-metrics.ts'
import { p99Chart } from './lib/chart.ts'
import { Generator, type PhaseWithServer } from './lib/generator.ts'
import {
  bestPerRate,
  generatorBound,
  type Knee,
  type KneeRatio,
  kneeOf,
  kneeRatio,
  kneeText,
  passes,
} from './lib/knee.ts'
import { quietGate, ROOT } from './lib/proc.ts'
import { round, sleep } from './lib/stats.ts'
import {
  type Cleanup,
  COLORS,
  FERRY_TARGETS,
  LABELS,
  PREPARE,
  type Prepared,
  type TargetName,
  type Verify,
} from './ws-targets.ts'

export type { PhaseWithServer } from './lib/generator.ts'

export interface WsOptions {
  seconds: number
  /** The offered-load ladder, ascending. */
  loads: number[]
  sockets: number
  roomSize: number
  /** Ferry accounts, or 'sockets' for one user per socket. */
  users: number | 'sockets'
  drainMs: number
  bodyBytes: number
  /** 'postgres' (default) or 'pglite' for Ferry's database. */
  ferryDb: 'postgres' | 'pglite'
  /** Ferry only: away members with a push subscription on a local sink (BENCH_WS_PUSH; 0: none). */
  pushSubscribers: number
  targets: TargetName[]
  /** Run a rate that failed once more (after the other servers) before calling the server past its knee. */
  confirmFailures: boolean
  /** Seconds of untimed warm-up at the lowest rate for each server before the ladder (0: none). */
  warmupSeconds: number
  /** Stop climbing the ladder when the next rate would end after this many seconds of the part. */
  budgetSeconds: number
  /** Where to write the chart (relative to the repository), or '' for none. */
  chartPath: string
  /** Ferry serves /metrics on a port of its own, read around every load (bus lag, gap fills): the ws-scale part. */
  metrics?: boolean
  log: (s: string) => void
}

export interface TargetResult {
  target: TargetName
  label: string
  database?: string
  skipped?: string
  error?: string
  pinned?: string
  setupMs?: number
  connectMs?: number
  /** The warm-up load (not part of the knee). */
  warmup?: PhaseWithServer
  /** Every load run, in order; a rate run twice (the first failed) appears twice, the second with `retry`. */
  phases: PhaseWithServer[]
  knee: Knee
  /** Why no higher load was offered: 'past its knee', 'ladder done', 'time budget', or the error. */
  stoppedBecause?: string
  verify?: Verify
  /** Pushes the local sink received over the whole run (BENCH_WS_PUSH). */
  pushesReceived?: number
}

export interface WsResult {
  config: Omit<WsOptions, 'log'>
  users: number
  usersMode: 'one per socket' | 'shared'
  pinning: 'on' | 'off'
  loadAverageBefore: number[]
  /** The machine's busy share (% of all cores) just before the run, from other work. */
  backgroundBusyPct: number
  targets: TargetResult[]
  /** Ferry's knee over each baseline's. */
  kneeRatios: Partial<Record<Exclude<TargetName, 'ferry'>, KneeRatio>>
  /** Each multi-process Ferry's knee over one process's and over raw ws's (when both ran). */
  scaleRatios?: Array<{ target: TargetName; over: TargetName; ratio: KneeRatio }>
  chart?: string
}

const PHASE_GAP_MS = 500

export async function runWs(options: WsOptions): Promise<WsResult> {
  const { log } = options
  const users = options.users === 'sockets' ? options.sockets : Math.min(options.users, options.sockets)
  const started = performance.now()
  const loadAverageBefore = os.loadavg().map((l) => round(l, 2))
  const backgroundBusyPct = await quietGate('ws', log)
  log(
    `ws: ${options.sockets} sockets, rooms of ${options.roomSize}, ${users} Ferry users` +
      ` (${users === options.sockets ? 'one per socket' : 'shared'}), ladder ${options.loads.join(', ')} msg/s,` +
      ` ${options.seconds} s each, servers ${options.targets.join(', ')}, pinning ${process.env.BENCH_PIN === '1' ? 'on' : 'off'},` +
      ` load average ${loadAverageBefore.join(' ')}`,
  )

  const limited = users * LIMITS.sendRatePerSecond
  if (options.targets.includes('ferry') && (options.loads.at(-1) ?? 0) > limited) {
    log(
      `ws: note: with ${users} users Ferry's per-user send limit (${LIMITS.sendRatePerSecond}/s) refuses sends above ${limited} msg/s;` +
        ' BENCH_WS_USERS=sockets (one user per socket) raises it',
    )
  }

  // Everything started is registered here and stopped in reverse order, even when the run fails.
  const cleanups: Array<() => Promise<void>> = []
  const cleanup: Cleanup = (fn) => {
    let done: Promise<void> | undefined
    const once = () => {
      done ??= fn().catch((e) => log(`cleanup failed: ${(e as Error).message}`))
      return done
    }
    cleanups.push(once)
    return once
  }
  const cleanAll = async () => {
    for (const fn of [...cleanups].reverse()) await fn()
  }
  const onSignal = (signal: NodeJS.Signals) => {
    log(`ws: ${signal}: stopping every server and dropping the bench databases`)
    void cleanAll().finally(() => process.exit(130))
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)

  interface Live {
    result: TargetResult
    prepared: Prepared
    generator: Generator
    done: boolean
  }
  const results: TargetResult[] = []
  const live: Live[] = []
  const settings = {
    sockets: options.sockets,
    roomSize: options.roomSize,
    users,
    ferryDb: options.ferryDb,
    pushSubscribers: options.pushSubscribers,
    metrics: options.metrics ?? false,
    log,
  }

  /** Stops offering loads to a target: closes its sockets, verifies its store, stops its server. */
  const finish = async (t: Live, because: string) => {
    if (t.done) return
    t.done = true
    t.result.stoppedBecause = because
    await t.generator.stop()
    if (t.prepared.verify) {
      const acked = t.result.phases.reduce((a, p) => a + p.acks, t.result.warmup?.acks ?? 0)
      try {
        const v = await t.prepared.verify(acked)
        t.result.verify = v
        log(`  ${t.result.target} verify: ${v.storedMessages} stored vs ${v.acked} acked, gap-free ${v.gapFree}`)
      } catch (error) {
        log(`  ${t.result.target} verify failed: ${(error as Error).message}`)
      }
    }
    if (t.prepared.pushesReceived) {
      t.result.pushesReceived = t.prepared.pushesReceived()
      log(`  ${t.result.target} push sink received ${t.result.pushesReceived} pushes (all loads together)`)
    }
    await t.prepared.stop()
  }

  try {
    for (const name of options.targets) {
      const result: TargetResult = { target: name, label: LABELS[name], phases: [], knee: { rate: 0, kind: 'none' } }
      results.push(result)
      const mark = cleanups.length
      try {
        log(`ws/${name}: preparing`)
        const prepared = await PREPARE[name](settings, cleanup)
        if ('skipped' in prepared) {
          result.skipped = prepared.skipped
          log(`ws/${name} skipped: ${prepared.skipped}`)
          continue
        }
        result.database = name === 'ferry' ? options.ferryDb : prepared.database ? 'postgres' : undefined
        result.setupMs = prepared.setupMs
        result.pinned = prepared.pinned
        const generator = new Generator(prepared.pid, prepared.database, prepared.group)
        cleanup(() => generator.stop())
        const connected = await generator.connect({
          url: prepared.url,
          protocol: prepared.protocol,
          origin: prepared.origin,
          sockets: prepared.sockets,
          seconds: options.seconds,
          drainMs: options.drainMs,
          connectConcurrency: 50,
          bodyBytes: options.bodyBytes,
        })
        result.connectMs = connected.ms
        log(`  ${connected.sockets} sockets subscribed in ${connected.ms} ms`)
        live.push({ result, prepared, generator, done: false })
      } catch (error) {
        result.error = (error as Error).message.slice(0, 2000)
        log(`ws/${name} failed: ${result.error}`)
        for (const fn of cleanups.slice(mark).reverse()) await fn()
      }
    }

    const phaseBudgetMs = options.seconds * 1000 + options.drainMs + 60_000
    /** One offered load for one server; a failure to run it ends that server (undefined). */
    const runOne = async (t: Live, offered: number, phaseId: number, retry: boolean) => {
      try {
        // Outside the sending window: a scrape of a cluster asks every worker over IPC.
        const before = await t.prepared.scrape?.()
        const busCpu0 = t.prepared.busServerCpuSeconds?.()
        const p = await t.generator.phase(offered, phaseId, phaseBudgetMs)
        if (busCpu0 !== undefined) {
          // Window and drain together, over the window's length: what it spent per second of sending.
          p.busServerCpuPct = round(((t.prepared.busServerCpuSeconds!() - busCpu0) / p.seconds) * 100, 1)
        }
        if (p.sent === 0) throw new Error('no socket was open: the server closed every connection (did it exit?)')
        if (before && t.prepared.scrape) p.bus = busWindow(before, await t.prepared.scrape())
        if (retry) p.retry = true
        t.result.phases.push(p)
        log(phaseLine(retry ? `${t.result.target} (again)` : t.result.target, p))
        return p
      } catch (error) {
        t.result.error = (error as Error).message.slice(0, 2000)
        log(`ws/${t.result.target} failed at ${offered}/s: ${t.result.error}`)
        await finish(t, `error: ${t.result.error}`)
        return undefined
      } finally {
        await sleep(PHASE_GAP_MS)
      }
    }
    if (options.warmupSeconds > 0 && options.loads.length > 0) {
      for (const t of live) {
        try {
          t.result.warmup = await t.generator.phase(
            options.loads[0]!,
            options.loads.length,
            phaseBudgetMs,
            options.warmupSeconds,
          )
          log(phaseLine(`${t.result.target} warm-up`, t.result.warmup))
        } catch (error) {
          t.result.error = (error as Error).message.slice(0, 2000)
          await finish(t, `error: ${t.result.error}`)
        }
        await sleep(PHASE_GAP_MS)
      }
    }
    for (const [id, offered] of options.loads.entries()) {
      const active = live.filter((t) => !t.done)
      if (active.length === 0) break
      const elapsed = (performance.now() - started) / 1000
      const estimate = active.length * (options.seconds + 3)
      if (elapsed + estimate > options.budgetSeconds) {
        log(`ws: time budget (${options.budgetSeconds} s) reached before ${offered}/s`)
        for (const t of active) await finish(t, 'time budget')
        break
      }
      // Rotate the order per rate so no server always runs first (or right after a loaded one).
      const failed: Live[] = []
      for (let k = 0; k < active.length; k++) {
        const t = active[(k + id) % active.length]!
        const p = await runOne(t, offered, id, false)
        if (p && !passes(p)) {
          if (options.confirmFailures) failed.push(t)
          else await finish(t, 'past its knee')
        }
      }
      // A failed rate is run once more after the others, so one stall of the shared machine does not end a server.
      for (const t of failed) {
        const p = await runOne(t, offered, options.loads.length + 1 + id, true)
        if (p && !passes(p)) await finish(t, 'past its knee')
      }
    }
    for (const t of live) await finish(t, 'ladder done')
  } finally {
    await cleanAll()
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }

  for (const r of results) r.knee = kneeOf(r.phases)
  const ferry = results.find((r) => r.target === 'ferry')
  const kneeRatios: WsResult['kneeRatios'] = {}
  if (ferry && ferry.phases.length > 0) {
    for (const r of results) {
      if (!FERRY_TARGETS.includes(r.target) && r.phases.length > 0) {
        kneeRatios[r.target as Exclude<TargetName, 'ferry'>] = kneeRatio(ferry.knee, r.knee)
      }
    }
  }
  const scaleRatios: NonNullable<WsResult['scaleRatios']> = []
  const ran = (name: TargetName) => results.find((r) => r.target === name && r.phases.length > 0)
  for (const multi of ['ferry-2w', 'ferry-2w-redis'] as const) {
    const m = ran(multi)
    if (!m) continue
    for (const over of ['ferry', 'raw'] as const) {
      const o = ran(over)
      if (o) scaleRatios.push({ target: multi, over, ratio: kneeRatio(m.knee, o.knee) })
    }
  }
  const { log: _log, ...config } = options
  const out: WsResult = {
    config,
    users,
    usersMode: users === options.sockets ? 'one per socket' : 'shared',
    pinning: process.env.BENCH_PIN === '1' ? 'on' : 'off',
    loadAverageBefore,
    backgroundBusyPct,
    targets: results,
    kneeRatios,
    ...(scaleRatios.length > 0 ? { scaleRatios } : {}),
  }
  const series = results
    .filter((r) => r.phases.length > 0)
    .map((r) => ({ label: r.label, color: COLORS[r.target], points: bestPerRate(r.phases) }))
  if (options.chartPath && series.length > 0) {
    const file = path.resolve(ROOT, options.chartPath)
    fs.mkdirSync(path.dirname(file), { recursive: true })
    fs.writeFileSync(
      file,
      p99Chart(series, {
        title: 'WebSocket fan-out: end-to-end p99 against offered load',
        subtitle: [
          `${options.sockets} sockets, rooms of ${options.roomSize}, ${out.usersMode === 'one per socket' ? 'one user per socket' : `${users} users`}, ` +
            `${options.seconds} s per load, pinning ${out.pinning}, load average before ${loadAverageBefore[0]}`,
          `knees: ${results
            .filter((r) => r.phases.length > 0)
            .map((r) => `${r.label} ${kneeText(r.knee)}`)
            .join(', ')}`,
        ],
      }),
    )
    out.chart = options.chartPath
    log(`ws: wrote ${options.chartPath}`)
  }
  return out
}

function phaseLine(target: string, r: PhaseWithServer): string {
  const s = r.server
  return (
    `  ${target} offered ${r.offered}/s: sent ${r.sentPerSecond}/s, delivered ${r.deliveredPct} %, ` +
    `e2e p50 ${r.e2eMs.p50} ms p99 ${r.e2eMs.p99} ms, ack p99 ${r.ackMs.p99} ms, ` +
    `CPU server ${s.cpuPct}% pg ${s.postgresCpuPct}% gen ${s.generatorCpuPct}% other ${s.otherCpuPct}%, ` +
    `RSS ${s.peakRssMiB} MiB, gen loop p99 ${r.generator.eventLoopDelayP99Ms} ms` +
    (Object.keys(r.errors).length ? `, errors ${JSON.stringify(r.errors)}` : '') +
    (r.drained ? '' : `, NOT drained (${r.deliveries}/${r.expectedDeliveries} deliveries, ${r.acks}/${r.sent} acks)`) +
    (r.bus
      ? `, bus: ${r.bus.eventsReceived} envelopes received, lag p50 ${r.bus.lagP50Ms ?? '–'} ms p99 ${r.bus.lagP99Ms ?? '–'} ms` +
        ` (bucket ≤ ${r.bus.lagP99BucketMs ?? '–'}), gap fills ${r.bus.gapFills}, resyncs ${r.bus.resyncs}`
      : '') +
    (passes(r) ? '' : ' — past the knee') +
    (generatorBound(r) ? ' — the generator was saturated' : '')
  )
}
