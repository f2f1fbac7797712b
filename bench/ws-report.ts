/** The ws part's printed report: the comparison table, knees and ratios, then every phase in detail. */
import { comparisonRows, KNEE_DELIVERED_PCT, KNEE_P99_MS, kneeText } from './lib/knee.ts'
import { table } from './lib/stats.ts'
import type { WsResult } from './ws.ts'
import { LABELS } from './ws-targets.ts'

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
  if (w.chart) out.push(`  chart: ${w.chart}`)
  return out
}
