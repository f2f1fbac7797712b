/**
 * The knee of a server under an offered-load ladder, the ratios between
 * knees, and the comparison table. Knee = the highest offered rate at which
 * end-to-end p99 ≤ 100 ms and ≥ 99 % of the intended deliveries arrived.
 */
import { fmt } from './stats.ts'

export const KNEE_P99_MS = 100
export const KNEE_DELIVERED_PCT = 99

export interface LoadPoint {
  offered: number
  e2eMs: { p50: number; p99: number }
  deliveredPct: number
  /** The generator's CPU during the window, % of one core. */
  server?: { generatorCpuPct: number }
  /** A second run of this rate (the first failed). */
  retry?: boolean
}

/** One point per offered rate: a run that passed if any did, else the one with the lower p99. Ascending. */
export function bestPerRate<P extends LoadPoint>(points: readonly P[]): P[] {
  const best = new Map<number, P>()
  for (const p of points) {
    const b = best.get(p.offered)
    // passing first; then more delivered; then the lower p99 (a NaN p99 never wins)
    const better =
      !b ||
      (passes(p) && !passes(b)) ||
      (passes(p) === passes(b) &&
        (p.deliveredPct > b.deliveredPct || (p.deliveredPct === b.deliveredPct && p.e2eMs.p99 < b.e2eMs.p99)))
    if (better) best.set(p.offered, p)
  }
  return [...best.values()].sort((a, b) => a.offered - b.offered)
}

/** The generator used ≥ 90 % of its core: the figure may be the generator's limit, not the server's. */
export function generatorBound(p: LoadPoint): boolean {
  return (p.server?.generatorCpuPct ?? 0) >= 90
}

export function passes(p: LoadPoint): boolean {
  return Number.isFinite(p.e2eMs.p99) && p.e2eMs.p99 <= KNEE_P99_MS && p.deliveredPct >= KNEE_DELIVERED_PCT
}

/**
 * `measured`: `rate` passed and the next rate offered did not; `at-least`: every
 * rate offered passed (the ladder or the time ran out first), so the knee is ≥
 * `rate`; `below`: the lowest rate offered already failed (knee < `rate`);
 * `none`: nothing was offered.
 */
export interface Knee {
  rate: number
  kind: 'measured' | 'at-least' | 'below' | 'none'
}

export function kneeOf(points: readonly LoadPoint[]): Knee {
  const sorted = bestPerRate(points)
  if (sorted.length === 0) return { rate: 0, kind: 'none' }
  let best: number | undefined
  for (const p of sorted) {
    if (!passes(p)) {
      return best === undefined ? { rate: p.offered, kind: 'below' } : { rate: best, kind: 'measured' }
    }
    best = p.offered
  }
  return { rate: best!, kind: 'at-least' }
}

export function kneeText(k: Knee): string {
  switch (k.kind) {
    case 'measured':
      return `${k.rate}/s`
    case 'at-least':
      return `≥ ${k.rate}/s`
    case 'below':
      return `< ${k.rate}/s`
    case 'none':
      return '–'
  }
}

/** a's knee / b's knee, with the bound the knees' kinds allow ('=', '≤', '≥', '<' or unknown). */
export interface KneeRatio {
  value?: number
  bound: '=' | '≤' | '≥' | '<' | '?'
  text: string
}

export function kneeRatio(a: Knee, b: Knee): KneeRatio {
  const unknown: KneeRatio = { bound: '?', text: 'unknown' }
  if (a.kind === 'none' || b.kind === 'none' || b.kind === 'below') return unknown
  const value = Math.round((a.rate / b.rate) * 100) / 100
  // a below: a's knee < a.rate; b at-least: b's knee ≥ b.rate (so the ratio is smaller still)
  const upper = a.kind === 'below' || b.kind === 'at-least'
  const lower = a.kind === 'at-least'
  if (upper && lower) return unknown
  if (a.kind === 'below') return { value, bound: '<', text: `< ${value}×` }
  if (upper) return { value, bound: '≤', text: `≤ ${value}×` }
  if (lower) return { value, bound: '≥', text: `≥ ${value}×` }
  return { value, bound: '=', text: `${value}×` }
}

/** Rows for stats.table(): offered rate × server, each cell "p50 / p99 ms, delivered %". */
export function comparisonRows(
  rates: readonly number[],
  series: ReadonlyArray<{ label: string; points: readonly LoadPoint[] }>,
): string[][] {
  const rows: string[][] = [['offered msg/s', ...series.map((s) => `${s.label} p50 / p99 ms, delivered`)]]
  for (const rate of rates) {
    const row = [String(rate)]
    for (const s of series) {
      const runs = s.points.filter((q) => q.offered === rate)
      const p = bestPerRate(runs)[0]
      if (!p) {
        row.push('–')
        continue
      }
      const marks = (passes(p) ? '' : ' ✗') + (generatorBound(p) ? ' G' : '')
      const again = runs.length > 1 ? ` (run ${p.retry ? 2 : 1} of 2)` : ''
      row.push(`${fmt(p.e2eMs.p50)} / ${fmt(p.e2eMs.p99)}, ${fmt(p.deliveredPct)} %${marks}${again}`)
    }
    if (row.slice(1).some((c) => c !== '–')) rows.push(row)
  }
  return rows
}

/** 250, 500, 1000, … doubling from `min` while ≤ `max`. */
export function ladder(min: number, max: number): number[] {
  const out: number[] = []
  for (let r = min; r <= max && out.length < 20; r *= 2) out.push(r)
  return out
}
