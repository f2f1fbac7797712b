/**
 * `npm run bench [-- startup|http|ws|ws-scale ...]`: runs the benchmarks, prints tables
 * and writes bench/results/latest.json. A part that cannot run here (no
 * PostgreSQL, no /api/ws yet) says why and is skipped; the run still exits 0.
 * Environment knobs are listed in docs/BENCHMARKS.md.
 */
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { type CatchUpResult, runCatchUp } from './catch-up.ts'
import { type ClientResult, runClient } from './client.ts'
import { type HttpResult, runHttp } from './http.ts'
import { type IdleResult, runIdle } from './idle.ts'
import { ladder } from './lib/knee.ts'
import { ROOT, type WindowStats } from './lib/proc.ts'
import { table } from './lib/stats.ts'
import { type PgAppendRow, type PgAppendSet, pgAppendMedians, runPgAppend } from './pg-append.ts'
import { type ReceiptsResult, runReceipts } from './receipts.ts'
import { type RoomsListResult, runRoomsList } from './rooms-list.ts'
import { runSearch, type SearchBenchResult } from './search.ts'
import { runSearchDevice, type SearchDeviceResult } from './search-device.ts'
import { runStartup, type StartupRun } from './startup.ts'
import { runWs, type WsResult } from './ws.ts'
import { wsReport } from './ws-report.ts'
import { ALL_TARGETS, SCALE_TARGETS, TARGETS, type TargetName } from './ws-targets.ts'

const PARTS = [
  'startup',
  'http',
  'ws',
  'ws-scale',
  'rooms',
  'pg-append',
  'client',
  'idle',
  'receipts',
  'catch-up',
  'search',
  'search-device',
] as const
type Part = (typeof PARTS)[number]

function envNumber(name: string, fallback: number): number {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isFinite(value) || value <= 0) {
    console.error(`${name} must be a positive number, got "${raw}"`)
    process.exit(2)
  }
  return value
}

const args = process.argv.slice(2).filter((a) => a !== '--')
const unknown = args.filter((a) => !PARTS.includes(a as Part))
if (unknown.length > 0) {
  console.error(`unknown part(s): ${unknown.join(', ')}; choose from ${PARTS.join(', ')}`)
  process.exit(2)
}
// ws-scale (several Ferry processes) only when named: it is the ws ladder again, three Ferry targets long.
const selected: Part[] = args.length > 0 ? (args as Part[]) : PARTS.filter((p) => p !== 'ws-scale')
const seconds = process.env.BENCH_SECONDS ? envNumber('BENCH_SECONDS', 10) : undefined
const log = (s: string) => console.log(`[bench] ${s}`)

const results: {
  startedAt: string
  commit?: string
  machine: Record<string, unknown>
  parts: Part[]
  startup?: StartupRun | { error: string }
  http?: HttpResult[] | { error: string }
  ws?: WsResult | { error: string }
  wsScale?: WsResult | { error: string }
  rooms?: RoomsListResult[] | { error: string }
  pgAppend?: { rows: PgAppendRow[]; skipped?: string } | { error: string }
  idle?: IdleResult[] | { error: string }
  receipts?: ReceiptsResult[] | { error: string }
  catchUp?: CatchUpResult | { error: string }
  search?: SearchBenchResult | { error: string }
  searchDevice?: SearchDeviceResult | { error: string }
  client?: ClientResult | { error: string }
} = {
  startedAt: new Date().toISOString(),
  machine: {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${os.type()} ${os.release()}`,
  },
  parts: selected,
}
try {
  results.commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim()
} catch {}

async function part<T>(name: Part, fn: () => Promise<T>): Promise<T | { error: string }> {
  const t0 = performance.now()
  log(`== ${name} ==`)
  try {
    return await fn()
  } catch (error) {
    log(`${name} failed: ${(error as Error).stack ?? error}`)
    return { error: (error as Error).message }
  } finally {
    log(`${name} took ${Math.round((performance.now() - t0) / 1000)} s`)
  }
}

if (selected.includes('startup')) results.startup = await part('startup', () => runStartup(log))
if (selected.includes('http')) {
  results.http = await part('http', () =>
    runHttp({ seconds: seconds ?? 10, clients: envNumber('BENCH_HTTP_CLIENTS', 10), log }),
  )
}
/**
 * The ws part's options from the environment. `scale`: the ws-scale part
 * (docs/BENCHMARKS.md, "Several processes"): one process, two workers on the
 * PostgreSQL bus, two on Redis and raw ws unless BENCH_WS_TARGETS names
 * others, each Ferry's /metrics read around every load, its own chart.
 */
function wsOptions(scale: boolean): Parameters<typeof runWs>[0] {
  const explicit = process.env.BENCH_WS_LOADS
  const loads = explicit
    ? explicit.split(',').map((x) => Number(x.trim()))
    : ladder(envNumber('BENCH_WS_MIN_LOAD', 250), envNumber('BENCH_WS_MAX_LOAD', 8000))
  if (loads.some((n) => !Number.isFinite(n) || n <= 0)) {
    console.error('BENCH_WS_LOADS must be a comma-separated list of positive numbers')
    process.exit(2)
  }
  const fallback = scale ? SCALE_TARGETS : TARGETS
  const targets = (process.env.BENCH_WS_TARGETS ?? fallback.join(',')).split(',').map((x) => x.trim())
  const badTarget = targets.find((x) => !ALL_TARGETS.includes(x as TargetName))
  if (badTarget) {
    console.error(`BENCH_WS_TARGETS: unknown server "${badTarget}"; choose from ${ALL_TARGETS.join(', ')}`)
    process.exit(2)
  }
  return {
    seconds: seconds ?? 15,
    loads: loads.sort((a, b) => a - b),
    sockets: envNumber('BENCH_WS_SOCKETS', 1000),
    roomSize: envNumber('BENCH_WS_ROOM_SIZE', 10),
    users: (process.env.BENCH_WS_USERS ?? 'sockets') === 'sockets' ? 'sockets' : envNumber('BENCH_WS_USERS', 1),
    drainMs: envNumber('BENCH_DRAIN_MS', 10_000),
    bodyBytes: envNumber('BENCH_BODY_BYTES', 64),
    ferryDb: process.env.BENCH_WS_DB === 'pglite' ? 'pglite' : 'postgres',
    pushSubscribers: process.env.BENCH_WS_PUSH ? envNumber('BENCH_WS_PUSH', 0) : 0,
    targets: targets as TargetName[],
    confirmFailures: process.env.BENCH_WS_CONFIRM !== '0',
    warmupSeconds: process.env.BENCH_WS_WARMUP_S === '0' ? 0 : envNumber('BENCH_WS_WARMUP_S', 3),
    budgetSeconds: envNumber('BENCH_WS_BUDGET_S', scale ? 3600 : 1800),
    chartPath: process.env.BENCH_WS_CHART ?? (scale ? 'docs/bench-ws-scale-p99.svg' : 'docs/bench-ws-p99.svg'),
    metrics: scale,
    log,
  }
}

if (selected.includes('ws')) results.ws = await part('ws', () => runWs(wsOptions(false)))
if (selected.includes('ws-scale')) results.wsScale = await part('ws-scale', () => runWs(wsOptions(true)))

if (selected.includes('rooms')) {
  results.rooms = await part('rooms', () =>
    runRoomsList({
      rooms: envNumber('BENCH_ROOMS', 10_000),
      memberOf: envNumber('BENCH_ROOMS_MEMBER_OF', 20),
      calls: envNumber('BENCH_ROOMS_CALLS', 50),
      log,
    }),
  )
}

if (selected.includes('search')) {
  results.search = await part('search', () =>
    runSearch({
      messages: envNumber('BENCH_SEARCH_MESSAGES', 1_000_000),
      rooms: envNumber('BENCH_SEARCH_ROOMS', 1_000),
      calls: envNumber('BENCH_SEARCH_CALLS', 30),
      log,
    }),
  )
}

if (selected.includes('pg-append')) {
  results.pgAppend = await part('pg-append', () =>
    runPgAppend({
      writesPerCase: envNumber('BENCH_PG_APPEND_WRITES', 3000),
      rounds: envNumber('BENCH_PG_APPEND_ROUNDS', 1),
      sets: (process.env.BENCH_PG_APPEND_SET ?? 'default').split(',').map((x) => x.trim() as PgAppendSet),
      pglite: process.env.BENCH_PG_APPEND_PGLITE !== '0',
      slice: envNumber('BENCH_PG_APPEND_SLICE', 0),
      log,
    }),
  )
}

if (selected.includes('client')) {
  results.client = await part('client', () =>
    runClient({
      runs: envNumber('BENCH_CLIENT_RUNS', 10),
      traceRuns: envNumber('BENCH_CLIENT_TRACE_RUNS', 5),
      baselineDir: process.env.BENCH_CLIENT_BASELINE || undefined,
      lighthouse: process.env.BENCH_CLIENT_LIGHTHOUSE !== '0',
      log,
    }),
  )
}

if (selected.includes('idle')) {
  results.idle = await part('idle', () =>
    runIdle({
      sockets: envNumber('BENCH_IDLE_SOCKETS', 5000),
      roomSize: envNumber('BENCH_WS_ROOM_SIZE', 10),
      users: (process.env.BENCH_WS_USERS ?? 'sockets') === 'sockets' ? 'sockets' : envNumber('BENCH_WS_USERS', 1),
      targets: (process.env.BENCH_IDLE_TARGETS ?? 'ferry,raw,peer,socketio')
        .split(',')
        .map((x) => x.trim()) as TargetName[],
      settleSeconds: envNumber('BENCH_IDLE_SETTLE_S', 5),
      log,
    }),
  )
}

if (selected.includes('receipts')) {
  results.receipts = await part('receipts', () =>
    runReceipts({
      people: envNumber('BENCH_RECEIPTS_PEOPLE', 50),
      messages: envNumber('BENCH_RECEIPTS_MESSAGES', 100),
      intervalMs: envNumber('BENCH_RECEIPTS_INTERVAL_MS', 150),
      log,
    }),
  )
}

if (selected.includes('catch-up')) {
  results.catchUp = await part('catch-up', () => runCatchUp({ runs: envNumber('BENCH_CATCHUP_RUNS', 3), log }))
}
if (selected.includes('search-device')) {
  results.searchDevice = await part('search-device', () =>
    runSearchDevice({
      messages: envNumber('BENCH_SEARCH_MESSAGES', 20_000),
      runs: envNumber('BENCH_SEARCH_RUNS', 15),
      throttle: envNumber('BENCH_SEARCH_THROTTLE', 4),
      log,
    }),
  )
}

// ---- report -----------------------------------------------------------------

function cpuSplit(s: WindowStats): string {
  return `${s.cpuPct}/${s.postgresCpuPct}/${s.generatorCpuPct}/${s.otherCpuPct}`
}

const out: string[] = [
  '',
  `Ferry benchmarks — ${results.machine.cpus} cores, ${results.machine.memoryGiB} GiB, Node ${process.version}`,
]
const s = results.startup
if (s) {
  out.push('', 'Start-up (spawn → first 200 from /healthz)')
  if ('error' in s) out.push(`  failed: ${s.error}`)
  else {
    out.push(
      table([
        ['command', 'engine', 'first start ms', 'restart ms', 'bg busy %', 'note'],
        ...s.startup.map((r) => [
          r.command,
          r.engine,
          r.firstRunMs ?? '–',
          r.secondRunMs ?? '–',
          r.backgroundBusyPct ?? '–',
          r.error ? `FAILED: ${r.error.split('\n')[0]}` : '',
        ]),
      ]),
    )
    out.push(
      '  (first start: PGlite creates its cluster in a fresh DATA_DIR / PostgreSQL migrates an empty database; restart: the same directory / database again)',
    )
    out.push(
      s.serverBuild.ok
        ? `server build (npm run build:server): ${s.serverBuild.ms} ms`
        : `server build FAILED: ${s.serverBuild.error}`,
    )
    out.push(s.build.ok ? `client build (npx vite build): ${s.build.ms} ms` : `client build FAILED: ${s.build.error}`)
  }
}
const h = results.http
if (h) {
  out.push('', 'HTTP send: POST /api/rooms/:id/messages, one room, closed loop')
  if ('error' in h) out.push(`  failed: ${h.error}`)
  else {
    out.push(
      table([
        [
          'engine',
          'clients',
          'msg/s',
          'p50 ms',
          'p99 ms',
          '2xx',
          'non-2xx',
          'stored',
          'equal',
          'gap-free',
          'CPU% srv/pg/gen/other',
          'RSS MiB',
          'bg busy %',
        ],
        ...h
          .filter((r) => !r.skipped && !r.error)
          .map((r) => [
            r.engine,
            r.clients!,
            r.messagesPerSecond!,
            r.latencyMs!.p50,
            r.latencyMs!.p99,
            r.ok2xx!,
            r.non2xx! + r.errors!,
            r.stored!,
            r.storedEqualsOk ? 'yes' : 'NO',
            r.gapFree ? 'yes' : 'NO',
            cpuSplit(r.cpu!),
            r.cpu!.peakRssMiB,
            r.backgroundBusyPct ?? '–',
          ]),
      ]),
    )
  }
}
if (h && !('error' in h)) {
  for (const r of h)
    if (r.skipped || r.error) out.push(`  ${r.engine} ${r.skipped ? 'skipped' : 'FAILED'}: ${r.skipped ?? r.error}`)
}
const w = results.ws
if (w) {
  out.push('', 'WebSocket fan-out: sockets in rooms, offered msg/s, each message delivered to every socket in its room')
  if ('error' in w) out.push(`  failed: ${w.error}`)
  else out.push(...wsReport(w))
}
const ws2 = results.wsScale
if (ws2) {
  out.push(
    '',
    'WebSocket fan-out, several Ferry processes: one process, 2 workers on the PostgreSQL bus, 2 on Redis, raw ws',
  )
  if ('error' in ws2) out.push(`  failed: ${ws2.error}`)
  else out.push(...wsReport(ws2))
}
const rl = results.rooms
if (rl) {
  out.push('', 'Room list: GET /api/rooms for a user in some of many public rooms (in process, no network)')
  if ('error' in rl) out.push(`  failed: ${rl.error}`)
  else {
    out.push(
      table([
        [
          'engine',
          'rooms',
          'member of',
          'calls',
          'p50 ms',
          'p99 ms',
          'max ms',
          'listed',
          'listed mine',
          'bytes',
          'bg busy %',
        ],
        ...rl
          .filter((r) => !r.skipped && !r.error)
          .map((r) => [
            r.engine,
            r.rooms,
            r.memberOf,
            r.calls,
            r.p50Ms!,
            r.p99Ms!,
            r.maxMs!,
            r.listed!,
            r.listedMember!,
            r.responseBytes!,
            r.backgroundBusyPct ?? '–',
          ]),
      ]),
    )
    for (const r of rl)
      if (r.skipped || r.error) out.push(`  ${r.engine} ${r.skipped ? 'skipped' : 'FAILED'}: ${r.skipped ?? r.error}`)
    out.push('', 'Discover search: GET /api/rooms/discover?limit=20&q=… over the same public rooms')
    out.push(
      table([
        ['engine', 'rooms', 'q', 'found', 'p50 ms', 'p99 ms'],
        ...rl.flatMap((r) => (r.discover ?? []).map((d) => [r.engine, r.rooms, d.search, d.found, d.p50Ms, d.p99Ms])),
      ]),
    )
  }
}
const sr = results.search
if (sr) {
  out.push('', 'Search: GET /api/search for a member of every room, PostgreSQL (in process, no network)')
  if ('error' in sr && sr.error) out.push(`  failed: ${sr.error}`)
  else if ('skipped' in sr && sr.skipped) out.push(`  skipped: ${sr.skipped}`)
  else if ('queries' in sr) {
    out.push(
      `  ${sr.messages} messages in ${sr.rooms} rooms, seeded in ${sr.seedSeconds} s; GIN index ${sr.indexMb} MB, ` +
        `room_events ${sr.tableMb} MB; background busy ${sr.backgroundBusyPct ?? '–'} %`,
    )
    out.push(
      table([
        ['query', 'q', 'matching', 'hits', 'p50 ms', 'p99 ms'],
        ...(sr.queries ?? []).map((r) => [r.name, r.q, r.matching, r.hits, r.p50Ms, r.p99Ms]),
      ]),
    )
  }
}
const pa = results.pgAppend
if (pa) {
  out.push('', 'Append statement alone: database CPU per stored write (µs), one transaction per call')
  if ('error' in pa) out.push(`  failed: ${pa.error}`)
  else {
    out.push(
      table([
        ['engine', 'variant', 'batch', 'writes', 'CPU µs/write', 'ms/call'],
        ...pa.rows.map((r) => [r.engine, r.variant, r.batch, r.writes, r.cpuUsPerWrite, r.msPerCall]),
      ]),
    )
    if (pa.skipped) out.push(`  postgres skipped: ${pa.skipped}`)
    const medians = pgAppendMedians(pa.rows)
    const batches = [...new Set(pa.rows.map((r) => r.batch))]
    out.push('', 'Median (min–max) over the rounds, CPU µs per write, by batch size')
    out.push(
      table([
        ['engine', 'variant', ...batches.map((b) => `batch ${b}`)],
        ...medians.map((m) => [m.engine, m.variant, ...batches.map((b) => m.byBatch[b] ?? '–')]),
      ]),
    )
  }
}
const cl = results.client
if (cl) {
  out.push('', `Client in Chromium: 390×844 mobile, CPU 4×, median (min–max) of ${'error' in cl ? '?' : cl.runs} runs`)
  if ('error' in cl) out.push(`  failed: ${cl.error}`)
  else {
    const lh = (v: ClientResult['variants'][number], page: string) => {
      if ('skipped' in v.lighthouse) return `skipped (${v.lighthouse.skipped})`
      const r = v.lighthouse.find((x) => x.page === page)
      if (!r) return '–'
      if (r.error) return `failed: ${r.error}`
      return [r.performance, r.accessibility, r.bestPractices].map((x) => x ?? '–').join(' / ')
    }
    const installable = (v: ClientResult['variants'][number]) =>
      Object.entries(v.installability)
        .map(([page, errors]) => `${page}: ${errors.length === 0 ? 'yes' : errors.join(',')}`)
        .join('; ')
    out.push(
      table([
        ['build', 'initial JS gz KiB', 'cold offline paint ms', 'warm tap → messages ms', 'installable'],
        ...cl.variants.map((v) => [
          v.name,
          v.initialJsGzipKiB,
          `${v.coldOfflinePaintMs.median} (${v.coldOfflinePaintMs.min}–${v.coldOfflinePaintMs.max})`,
          `${v.warmTapMs.median} (${v.warmTapMs.min}–${v.warmTapMs.max})`,
          installable(v),
        ]),
      ]),
    )
    out.push(
      '  Main thread from the first-screen read to the painted frame (traced runs, medians, ms): unthrottled; busy and longest task are wall time, the rest thread CPU time',
    )
    out.push(
      table([
        ['build', 'busy', 'longest task', 'tasks', 'cpu', 'script', 'style', 'layout', 'paint', 'other', 'runs'],
        ...cl.variants.map((v) => {
          const m = v.renderMainThread.median
          const n = v.renderMainThread.runs.length
          if (!m) return [v.name, '–', '–', '–', '–', '–', '–', '–', '–', '–', n]
          return [
            v.name,
            m.busyMs,
            m.longestTaskMs,
            m.tasks,
            m.cpuMs,
            m.scriptMs,
            m.styleMs,
            m.layoutMs,
            m.paintMs,
            m.otherMs,
            n,
          ]
        }),
      ]),
    )
    out.push('  Lighthouse 12.8 performance / accessibility / best practices:')
    for (const v of cl.variants) out.push(`    ${v.name}: room list ${lh(v, 'room list')}; room ${lh(v, 'room')}`)
    out.push(
      `  throttle check: a fixed busy loop takes ${cl.throttleCheck.busyLoopThrottledMs} ms at 4×, ${cl.throttleCheck.busyLoopUnthrottledMs} ms unthrottled`,
    )
  }
}
const idle = results.idle
if (idle) {
  out.push('', 'Idle connections: server RSS before and after opening and subscribing idle sockets')
  if ('error' in idle) out.push(`  failed: ${idle.error}`)
  else {
    const raw = idle.find((r) => r.target === 'raw')?.perConnectionKiB
    out.push(
      table([
        ['server', 'sockets', 'RSS before MiB', 'RSS after MiB', 'KiB per connection', '× raw ws'],
        ...idle
          .filter((r) => r.perConnectionKiB !== undefined)
          .map((r) => [
            r.label,
            r.sockets!,
            r.rssBeforeMiB!,
            r.rssAfterMiB!,
            r.perConnectionKiB!,
            raw ? Math.round((r.perConnectionKiB! / raw) * 100) / 100 : '–',
          ]),
      ]),
    )
    for (const r of idle)
      if (r.skipped || r.error) out.push(`  ${r.label} ${r.skipped ? 'skipped' : 'FAILED'}: ${r.skipped ?? r.error}`)
  }
}
const receipts = results.receipts
if (receipts) {
  out.push('', 'Read receipts: every member of one room reads every message, one `read` frame per message')
  if ('error' in receipts) out.push(`  failed: ${receipts.error}`)
  else {
    out.push(
      table([
        [
          'engine',
          'people',
          'reads',
          'statements',
          'rows',
          'receipts frames',
          'read_marker frames',
          'all read',
          'naive writes / frames',
        ],
        ...receipts
          .filter((r) => r.readFrames !== undefined)
          .map((r) => [
            r.engine,
            r.people,
            r.readFrames!,
            r.writeStatements!,
            r.rowsWritten!,
            r.receiptsFrames!,
            r.readMarkerFrames!,
            r.allRead ? 'yes' : 'NO',
            `${r.naiveWrites} / ${r.naiveFrames}`,
          ]),
      ]),
    )
    for (const r of receipts)
      if (r.skipped || r.error) out.push(`  ${r.engine} ${r.skipped ? 'skipped' : 'FAILED'}: ${r.skipped ?? r.error}`)
  }
}
const catchUp = results.catchUp
if (catchUp) {
  out.push('', 'Catch-up: a client that missed 1,000 mixed entries of one room shows their current state')
  if ('error' in catchUp) out.push(`  failed: ${catchUp.error}`)
  else {
    const m = catchUp.missed
    out.push(
      `  missed ${m.messages} messages, ${m.reactions} reactions, ${m.edits} edits, ${m.deletes} deletes (reset path, ${catchUp.engine})`,
      `  reconnect → correct state on screen: median ${catchUp.medianMs} ms, runs ${catchUp.ms.join(' / ')} ms`,
      `  checked: ${catchUp.checkedMessages} messages on screen (${catchUp.checkedKinds.edited} edited, ${catchUp.checkedKinds.deleted} deleted, ${catchUp.checkedKinds.reacted} with reactions)`,
      `  load average before ${catchUp.loadavgBefore.join(' ')}, after ${catchUp.loadavgAfter.join(' ')}`,
    )
  }
}
const searchDevice = results.searchDevice
if (searchDevice) {
  out.push('', 'Offline search on the device (390×844 mobile Chromium, CPU throttled)')
  if ('error' in searchDevice) out.push(`  failed: ${searchDevice.error}`)
  else {
    const s = searchDevice
    const kb = (n: number) => `${Math.round(n / 1024)} KiB`
    out.push(
      `  ${s.messages} messages (${s.entries} entries with edits and deletions), ${s.indexed} indexed, CPU ${s.cpuThrottle}× slower, ${s.runs} runs per query`,
      `  v7 → v8 upgrade (openFerryDb): ${s.upgradeMs} ms; background fill: ${s.fillMs} ms in ${s.fillChunks} chunks (longest ${s.fillChunkMaxMs} ms); history page of 50 through storeEvents: median ${s.storePageMs.median} ms, p95 ${s.storePageMs.p95} ms`,
      `  storage.estimate: messages ${kb(s.usageMessagesBytes)}, index ${kb(s.usageIndexBytes)}; JSON rows: messages ${kb(s.jsonMessagesBytes)}, index records ${kb(s.jsonIndexBytes)} (${s.terms} term entries)`,
      '',
      table([
        ['query', 'q', 'hits', 'median ms', 'p95 ms', 'max ms'],
        ...s.queries.map((q) => [q.label, JSON.stringify(q.q), q.hits, q.medianMs, q.p95Ms, q.maxMs]),
      ])
        .split('\n')
        .map((line) => `  ${line}`)
        .join('\n'),
    )
  }
}
console.log(out.join('\n'))

const file = path.join(ROOT, 'bench/results/latest.json')
fs.mkdirSync(path.dirname(file), { recursive: true })
fs.writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`)
console.log(`\nwrote ${path.relative(ROOT, file)}`)
process.exit(0)
