/** The ws part's printed report: the comparison table, knees and ratios, then every phase in detail. */
import { bestPerRate, comparisonRows, KNEE_DELIVERED_PCT, KNEE_P99_MS, kneeText, passes } from './lib/knee.ts'
import { table } from './lib/stats.ts'
import type { PhaseWithServer, TargetResult, WsResult } from './ws.ts'
import { FERRY_TARGETS, LABELS } from './ws-targets.ts'

export function wsReport(w: WsResult): string[] {
  const c = w.config
  const out: string[] = [
    `  ${c.sockets} sockets, rooms of ${c.roomSize}, ${w.users} Ferry users (${w.usersMode}), ${c.seconds} s per load, ` +
      `Ferry on ${c.ferryDb}, pinning ${w.pinning} (server → CPU 0, generator → CPU 1), ` +
      `load average before ${w.loadAverageBefore.join(' ')}, background busy ${w.backgroundBusyPct} %`,
  ]
  const ran = w.targets.filter((t) => t.phases.length > 0)
  out.push(
    '',
    `e2e latency by offered load (✗ = past the knee: p99 > ${KNEE_P99_MS} ms or < ${KNEE_DELIVERED_PCT} % delivered;` +
      ' G = the generator used ≥ 90 % of a core, so that figure may be its limit;' +
      ' "run n of 2" = the rate failed once and was run again, the better run shown)',
    table(
      comparisonRows(
        c.loads,
        ran.map((t) => ({ label: t.label, points: t.phases })),
      ),
    ),
    '',
    table([
      ['server', 'knee', 'stopped because', 'pinned'],
      ...w.targets.map((t) => [
        t.label,
        t.skipped ? 'skipped' : kneeText(t.knee),
        t.skipped ?? t.stoppedBecause ?? t.error ?? '',
        t.pinned ?? '–',
      ]),
    ]),
  )
  const ratios = Object.entries(w.kneeRatios)
  if (ratios.length > 0) {
    out.push(
      '',
      `knee ratios: ${ratios.map(([k, r]) => `Ferry / ${LABELS[k as keyof typeof LABELS]} ${r!.text}`).join(', ')}`,
    )
  }
  const rows: Array<Array<string | number>> = [
    [
      'server',
      'offered/s',
      'sent/s',
      'deliv/s',
      'delivered %',
      'e2e p50',
      'e2e p99',
      'ack p50',
      'ack p99',
      'complete',
      'errors',
      'CPU% srv/pg/gen/other',
      'srv RSS MiB',
      'gen lag p99',
      'load1',
    ],
  ]
  for (const t of ran) {
    for (const p of t.phases) {
      const errors = Object.entries(p.errors)
        .map(([k, v]) => `${k}:${v}`)
        .join(' ')
      const s = p.server
      rows.push([
        p.retry ? `${t.target} (again)` : t.target,
        p.offered,
        p.sentPerSecond,
        p.deliveriesPerSecond,
        p.deliveredPct,
        p.e2eMs.p50,
        p.e2eMs.p99,
        p.ackMs.p50,
        p.ackMs.p99,
        p.drained ? 'yes' : `${p.deliveries}/${p.expectedDeliveries}`,
        errors || '0',
        `${s.cpuPct}/${s.postgresCpuPct}/${s.generatorCpuPct}/${s.otherCpuPct}`,
        s.peakRssMiB,
        p.generator.eventLoopDelayP99Ms,
        s.loadAvg1,
      ])
    }
  }
  out.push(
    '',
    table(rows),
    '  (latencies in ms; CPU% is % of one core for: the server process / the PostgreSQL backends of its bench database /',
    "   the load generator / everything else on the machine; 2 cores = 200%. gen lag = the generator's event-loop delay p99 in ms, beyond its 10 ms sampling interval)",
  )
  for (const t of w.targets) {
    if (t.skipped) out.push(`  ${t.label} skipped: ${t.skipped}`)
    if (t.error) out.push(`  ${t.label} FAILED: ${t.error}`)
    if (t.verify) {
      const v = t.verify
      out.push(
        `  ${t.label} store check: ${v.storedMessages} messages stored in ${v.rooms} rooms vs ${v.acked} acked ` +
          `(${v.equal ? 'equal' : 'NOT equal'}), seqs gap-free: ${v.gapFree ? 'yes' : 'NO'}`,
      )
    }
  }
  out.push(...perMessage(w))
  if (w.chart) out.push(`  chart: ${w.chart}`)
  return out
}

/** CPU µs per message sent, from a % of one core over the window and the rate sent. */
const usPer = (pct: number, perSecond: number) => (perSecond > 0 ? Math.round((pct / 100 / perSecond) * 1e6) : '–')

/**
 * The multi-process view (the ws-scale part, or any run with a `ferry-2w*`
 * target): per message, what the server (all its processes) and PostgreSQL
 * spent, and what the bus did, so the figures can be carried to a machine
 * with more cores (docs/BENCHMARKS.md, "Several processes").
 */
function perMessage(w: WsResult): string[] {
  const ferry = w.targets.filter((t) => FERRY_TARGETS.includes(t.target) && t.phases.length > 0)
  const multi = ferry.some((t) => t.target !== 'ferry')
  if (ferry.length === 0 || (!multi && !w.config.metrics)) return []
  const out: string[] = []
  const ratios = w.scaleRatios ?? []
  if (ratios.length > 0) {
    out.push(
      '',
      `multi-process knee ratios: ${ratios.map((r) => `${LABELS[r.target]} / ${LABELS[r.over]} ${r.ratio.text}`).join(', ')}`,
    )
  }
  const rows: Array<Array<string | number>> = [
    [
      'server',
      'offered/s',
      'sent/s',
      'e2e p50 / p99',
      'srv CPU µs/msg',
      'CPU% per process',
      'pg CPU µs/msg',
      'redis CPU µs/msg',
      'bus envelopes recv',
      'bus lag p50',
      'bus lag p99 (bucket)',
      'gap fills',
      'resyncs',
      'fan-out p99',
    ],
  ]
  for (const t of ferry) {
    for (const p of t.phases) {
      const b = p.bus
      rows.push([
        p.retry ? `${t.target} (again)` : t.target,
        p.offered,
        p.sentPerSecond,
        `${p.e2eMs.p50} / ${p.e2eMs.p99}`,
        usPer(p.server.cpuPct, p.sentPerSecond),
        p.server.processesCpuPct?.join(' / ') ?? '–',
        usPer(p.server.postgresCpuPct, p.sentPerSecond),
        p.busServerCpuPct !== undefined ? usPer(p.busServerCpuPct, p.sentPerSecond) : '–',
        b ? b.eventsReceived : '–',
        b?.lagP50Ms ?? '–',
        b?.lagP99Ms !== undefined ? `${b.lagP99Ms} (≤ ${b.lagP99BucketMs})` : '–',
        b ? b.gapFills : '–',
        b ? b.resyncs : '–',
        b?.fanoutP99Ms ?? '–',
      ])
    }
  }
  out.push(
    '',
    'Per message (Ferry targets): CPU over the sending window ÷ messages sent; bus figures over the window and its drain, from /metrics',
    table(rows),
    "  (srv = the server process, or a cluster's primary and workers together; CPU% per process = a cluster's primary / worker /",
    "   worker, % of one core; pg = the bench database's backends, the bus's LISTEN",
    "   and NOTIFY sessions included; redis = a redis-server on this machine, window and drain (anyone else's use included);",
    '   bus lag = ferry_bus_lag_seconds, publish → receipt on another worker, ms, p99 interpolated',
    "   in its bucket as histogram_quantile does, the bucket's upper bound in brackets; gap fills = events read from the",
    '   database by the bus; bus envelopes = room-event envelopes received from another worker, one per committed batch;',
    '   one process has no bus, so its columns stay 0 or –; at low rates the idle cost (timers, heartbeats) inflates µs/msg)',
  )
  out.push(...scaleEstimate(ferry))
  return out
}

/** Cores of the machine the estimate carries the figures to (docs/BENCHMARKS.md, "Several processes"). */
const ESTIMATE_CORES = 16

/**
 * A CPU-bound estimate for a bigger machine, from per-message CPU at the
 * highest rate both one process and a cluster passed (lower rates carry the
 * idle cost): C1 = one process's server µs/msg, C2 = the 2-worker cluster's,
 * B = C2 − C1 the bus's cost per message per extra node; every worker
 * receives every envelope, so N workers spend C1 + (N − 1)·B per message and
 * N cores carry at most N / (C1 + (N − 1)·B) messages per second, while
 * PostgreSQL needs pg µs/msg × that rate of its own cores. An upper bound on
 * the Node side, not a knee: latency, the notification queue and Redis's one
 * thread are not in it.
 */
export function scaleEstimate(ferry: readonly TargetResult[]): string[] {
  const one = ferry.find((t) => t.target === 'ferry')
  if (!one) return []
  const out: string[] = []
  const us = (p: PhaseWithServer, pct: number) => (pct / 100 / p.sentPerSecond) * 1e6
  for (const multi of ferry.filter((t) => t.target !== 'ferry')) {
    const passed = (t: TargetResult) =>
      new Map(
        bestPerRate(t.phases)
          .filter(passes)
          .map((p) => [p.offered, p]),
      )
    const a = passed(one)
    const b = passed(multi)
    const rate = [...a.keys()].filter((r) => b.has(r)).sort((x, y) => y - x)[0]
    if (rate === undefined) {
      out.push(
        `  ${LABELS[multi.target]}: no rate passed for both it and one process, so no ${ESTIMATE_CORES}-core estimate`,
      )
      continue
    }
    const p1 = a.get(rate)!
    const p2 = b.get(rate)!
    const c1 = us(p1, p1.server.cpuPct)
    const c2 = us(p2, p2.server.cpuPct)
    const bus = c2 - c1
    const pg = us(p2, p2.server.postgresCpuPct)
    const n = ESTIMATE_CORES
    const ceiling = bus > 0 ? (n * 1e6) / (c1 + (n - 1) * bus) : (n * 1e6) / c1
    out.push(
      `  ${LABELS[multi.target]} at ${rate} msg/s: C1 ${Math.round(c1)} µs/msg (one process), C2 ${Math.round(c2)} (2 workers), ` +
        (bus > 0
          ? `bus B = C2 − C1 ${Math.round(bus)} µs/msg/node`
          : 'C2 ≤ C1: the bus cost is within the noise (B taken as 0)') +
        `, pg ${Math.round(pg)} µs/msg → ${n} workers on ${n} cores: ≤ ${Math.round(ceiling)} msg/s (CPU bound),` +
        ` PostgreSQL would need ${Math.round(((pg * ceiling) / 1e6) * 10) / 10} cores for that` +
        (p2.busServerCpuPct !== undefined ? `; Redis ${Math.round(us(p2, p2.busServerCpuPct))} µs/msg at 2 nodes` : ''),
    )
  }
  if (out.length === 0) return []
  return [
    '',
    `CPU-bound estimate for ${ESTIMATE_CORES} cores (not a knee: every worker receives every envelope, so N workers spend C1 + (N − 1)·B per message)`,
    ...out,
  ]
}
