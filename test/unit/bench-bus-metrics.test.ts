import { describe, expect, it } from 'vitest'
import { busWindow, histogramQuantile, parseScrape } from '../../bench/lib/bus-metrics.ts'
import { redisProblem } from '../../bench/lib/ferry-cluster.ts'
import type { PhaseWithServer, TargetResult } from '../../bench/ws.ts'
import { scaleEstimate } from '../../bench/ws-report.ts'
import { Metrics } from '../../server/metrics/metrics.ts'

/**
 * The ws-scale benchmark reads Ferry's /metrics before and after each offered
 * load and reports the bus lag p99 of that load alone, from the histogram's
 * buckets (bench/lib/bus-metrics.ts). Here the exposition is the server's own
 * registry (prom-client), so the parsing follows what a scrape really returns.
 */
async function scrape(metrics: Metrics) {
  return parseScrape((await metrics.render()).body)
}

describe('busWindow', () => {
  it("reports only the load's own observations: the p99 from the buckets, counters as differences", async () => {
    const metrics = new Metrics()
    // Before the load: slow observations that must not count.
    for (let i = 0; i < 100; i++) metrics.busLagSeconds.observe(2)
    metrics.busGapFills.inc(40)
    metrics.busReceived.inc({ kind: 'events' }, 7)
    const before = await scrape(metrics)

    for (let i = 0; i < 98; i++) metrics.busLagSeconds.observe(0.003)
    metrics.busLagSeconds.observe(0.3)
    metrics.busLagSeconds.observe(0.3)
    metrics.busGapFills.inc(5)
    metrics.busResyncs.inc()
    metrics.busReceived.inc({ kind: 'events' }, 100)
    metrics.busPublished.inc({ kind: 'events' }, 90)
    const after = await scrape(metrics)

    const w = busWindow(before, after)
    expect(w.lagCount).toBe(100)
    // rank 99 of 100: the 99th observation is one of the two in (0.25, 0.5]
    expect(w.lagP99BucketMs).toBe(500)
    expect(w.lagP99Ms).toBeGreaterThan(250)
    expect(w.lagP99Ms).toBeLessThanOrEqual(500)
    // rank 50: in (0.0025, 0.005], where 98 observations sit
    expect(w.lagP50Ms).toBeGreaterThan(2.5)
    expect(w.lagP50Ms).toBeLessThanOrEqual(5)
    expect(w.gapFills).toBe(5)
    expect(w.resyncs).toBe(1)
    expect(w.eventsReceived).toBe(100)
    expect(w.eventsPublished).toBe(90)
  })

  it('has no lag figures when nothing crossed the bus (one process)', async () => {
    const metrics = new Metrics()
    const before = await scrape(metrics)
    const w = busWindow(before, await scrape(metrics))
    expect(w.lagCount).toBe(0)
    expect(w.lagP99Ms).toBeUndefined()
    expect(w.eventsReceived).toBe(0)
  })
})

describe('histogramQuantile', () => {
  it('interpolates inside the bucket and stops at the last finite bound past it', () => {
    const before: Array<[number, number]> = [
      [0.1, 0],
      [1, 0],
      [Number.POSITIVE_INFINITY, 0],
    ]
    // 10 observations in (0, 0.1], 10 in (0.1, 1]
    const after: Array<[number, number]> = [
      [0.1, 10],
      [1, 20],
      [Number.POSITIVE_INFINITY, 20],
    ]
    expect(histogramQuantile(before, after, 0.25)).toEqual({ value: 0.05, bucket: 0.1 })
    expect(histogramQuantile(before, after, 0.75)?.value).toBeCloseTo(0.55, 10)
    const overflow: Array<[number, number]> = [
      [0.1, 0],
      [1, 0],
      [Number.POSITIVE_INFINITY, 5],
    ]
    expect(histogramQuantile(before, overflow, 0.99)).toEqual({ value: 1, bucket: Number.POSITIVE_INFINITY })
  })
})

describe('redisProblem', () => {
  it('names the address and the cause when nothing answers there (the ferry-2w-redis target is then skipped)', async () => {
    const problem = await redisProblem('redis://127.0.0.1:1')
    expect(problem).toContain('Redis not reachable at redis://127.0.0.1:1')
    expect(problem).toContain('ECONNREFUSED')
  })
})

describe('scaleEstimate', () => {
  const phase = (offered: number, cpuPct: number, postgresCpuPct: number, p99 = 20) =>
    ({
      offered,
      sentPerSecond: offered,
      deliveredPct: 100,
      e2eMs: { p50: 5, p90: 10, p99, max: p99 },
      server: { cpuPct, postgresCpuPct, generatorCpuPct: 10 },
    }) as unknown as PhaseWithServer
  const target = (name: TargetResult['target'], phases: PhaseWithServer[]) =>
    ({ target: name, label: name, phases, knee: { rate: 0, kind: 'none' } }) as TargetResult

  it('carries per-message CPU at the highest rate both passed to 16 cores: 16 / (C1 + 15·B)', () => {
    const lines = scaleEstimate([
      // one process: 1,000 µs/msg at 1,000/s; 2,000/s failed (p99 over 100 ms) and is not used
      target('ferry', [phase(500, 60, 20), phase(1000, 100, 30), phase(2000, 190, 60, 400)]),
      // two workers: 1,200 µs/msg at 1,000/s, so B = 200; PostgreSQL 400 µs/msg
      target('ferry-2w', [phase(500, 70, 25), phase(1000, 120, 40), phase(2000, 230, 80)]),
    ])
    const line = lines.find((l) => l.includes('at 1000 msg/s'))
    expect(line).toContain('C1 1000 µs/msg')
    expect(line).toContain('C2 1200')
    expect(line).toContain('B = C2 − C1 200 µs/msg/node')
    // 16e6 / (1000 + 15 × 200) = 4000 msg/s; PostgreSQL 400 µs × 4000/s = 1.6 cores
    expect(line).toContain('≤ 4000 msg/s')
    expect(line).toContain('PostgreSQL would need 1.6 cores')
  })

  it('says so when no rate passed for both', () => {
    const lines = scaleEstimate([target('ferry', [phase(500, 60, 20)]), target('ferry-2w', [phase(500, 70, 25, 300)])])
    expect(lines.join('\n')).toContain('no rate passed for both')
  })
})
