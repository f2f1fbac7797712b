/**
 * The bus figures of one offered load, read from Ferry's /metrics
 * (docs/SCALING.md, "Metrics") before and after it: the difference of two
 * scrapes, so counters and histograms cover that load alone (sending window
 * and drain). With workers the scrape is the primary's sum over them, so a
 * histogram's buckets are every worker's together.
 */
import { parseMetrics, sample } from '../../test/support/prometheus.ts'

export type Scrape = Map<string, number>

export interface BusWindow {
  /** Envelopes of room events (one per committed batch's rooms, kind `events`) received from other nodes, all nodes together. */
  eventsReceived: number
  /** Envelopes of room events published, all nodes together. */
  eventsPublished: number
  /** ferry_bus_lag_seconds observations in the window. */
  lagCount: number
  /** p50 / p99 in ms, interpolated inside the bucket as Prometheus' histogram_quantile does. */
  lagP50Ms?: number
  lagP99Ms?: number
  /** The upper bound of the bucket holding the p99 (ms; Infinity past the last bucket). */
  lagP99BucketMs?: number
  /** Room events read from the database by the bus (a pointer skipped ahead or came without its events). */
  gapFills: number
  resyncs: number
  /** Hand-off of a committed batch to this node's sockets (ferry_fanout_seconds), p99 in ms. */
  fanoutP99Ms?: number
}

export function parseScrape(text: string): Scrape {
  return parseMetrics(text)
}

/** Cumulative bucket counts of a histogram (no labels besides `le`), by upper bound, ascending. */
function buckets(s: Scrape, name: string): Array<[number, number]> {
  const out: Array<[number, number]> = []
  const prefix = `${name}_bucket{le="`
  for (const [key, value] of s) {
    if (!key.startsWith(prefix)) continue
    const le = key.slice(prefix.length, key.indexOf('"', prefix.length))
    out.push([le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le), value])
  }
  return out.sort((a, b) => a[0] - b[0])
}

/**
 * The q-quantile of the observations between two scrapes, from cumulative
 * buckets: linear inside the bucket that holds it (lower bound 0 for the
 * first); past the last finite bound, that bound (as histogram_quantile).
 */
export function histogramQuantile(
  before: Array<[number, number]>,
  after: Array<[number, number]>,
  q: number,
): { value: number; bucket: number } | undefined {
  const prior = new Map(before)
  const delta = after.map(([le, n]) => [le, n - (prior.get(le) ?? 0)] as [number, number])
  const total = delta.at(-1)?.[1] ?? 0
  if (total <= 0) return undefined
  const rank = q * total
  let lowerBound = 0
  let lowerCount = 0
  for (const [le, cumulative] of delta) {
    if (cumulative >= rank) {
      if (!Number.isFinite(le)) return { value: lowerBound, bucket: le }
      const inBucket = cumulative - lowerCount
      const value = inBucket > 0 ? lowerBound + ((le - lowerBound) * (rank - lowerCount)) / inBucket : le
      return { value, bucket: le }
    }
    lowerBound = le
    lowerCount = cumulative
  }
  return undefined
}

const ms = (seconds: number | undefined) => (seconds === undefined ? undefined : Math.round(seconds * 10_000) / 10)

/** What happened on the bus between two scrapes. */
export function busWindow(before: Scrape, after: Scrape): BusWindow {
  const diff = (name: string, labels: Record<string, string> = {}) =>
    sample(after, name, labels) - sample(before, name, labels)
  const lagBefore = buckets(before, 'ferry_bus_lag_seconds')
  const lagAfter = buckets(after, 'ferry_bus_lag_seconds')
  const p50 = histogramQuantile(lagBefore, lagAfter, 0.5)
  const p99 = histogramQuantile(lagBefore, lagAfter, 0.99)
  const fanout = histogramQuantile(
    buckets(before, 'ferry_fanout_seconds'),
    buckets(after, 'ferry_fanout_seconds'),
    0.99,
  )
  return {
    eventsReceived: diff('ferry_bus_received_total', { kind: 'events' }),
    eventsPublished: diff('ferry_bus_published_total', { kind: 'events' }),
    lagCount: diff('ferry_bus_lag_seconds_count'),
    lagP50Ms: ms(p50?.value),
    lagP99Ms: ms(p99?.value),
    lagP99BucketMs: p99 ? (Number.isFinite(p99.bucket) ? ms(p99.bucket) : Number.POSITIVE_INFINITY) : undefined,
    gapFills: diff('ferry_bus_gap_fills_total'),
    resyncs: diff('ferry_bus_resyncs_total'),
    fanoutP99Ms: ms(fanout?.value),
  }
}
