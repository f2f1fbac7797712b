/** Small statistics and formatting helpers for the benchmarks. */

/** Percentile (nearest rank) of an unsorted sample; NaN when empty. Sorts a copy. */
export function percentiles(sample: readonly number[], ps: readonly number[]): number[] {
  if (sample.length === 0) return ps.map(() => Number.NaN)
  const sorted = Float64Array.from(sample).sort()
  return ps.map((p) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!)
}

export function round(value: number, digits = 1): number {
  if (!Number.isFinite(value)) return value
  const f = 10 ** digits
  return Math.round(value * f) / f
}

/** A plain-text table: first row is the header. */
export function table(rows: ReadonlyArray<ReadonlyArray<string | number>>): string {
  const cells = rows.map((row) => row.map((c) => (typeof c === 'number' ? fmt(c) : c)))
  const widths: number[] = []
  for (const row of cells) {
    for (const [i, c] of row.entries()) widths[i] = Math.max(widths[i] ?? 0, c.length)
  }
  const line = (row: string[]) => row.map((c, i) => c.padEnd(widths[i]!)).join('  ')
  const out = [line(cells[0]!), widths.map((w) => '-'.repeat(w)).join('  ')]
  for (const row of cells.slice(1)) out.push(line(row))
  return out.join('\n')
}

export function fmt(n: number): string {
  if (!Number.isFinite(n)) return '–'
  if (Number.isInteger(n)) return String(n)
  return Math.abs(n) >= 100 ? n.toFixed(0) : n.toFixed(1)
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/**
 * An event-loop delay in ms from a `monitorEventLoopDelay` reading (ns). The
 * histogram records the whole interval between two runs of its timer, the
 * resolution included (an idle loop at resolution 10 reads ~10.1 ms), so the
 * delay is what lies beyond the resolution.
 */
export function loopDelayMs(nanoseconds: number, resolutionMs: number): number {
  return Math.max(0, nanoseconds / 1e6 - resolutionMs)
}
