/**
 * A hand-written SVG line chart: e2e p99 (log scale) against offered load
 * (log2 scale), one line per server, the knee's 100 ms limit dashed.
 * Points that failed the knee's delivery criterion are drawn hollow.
 */
import { KNEE_DELIVERED_PCT, KNEE_P99_MS, type LoadPoint } from './knee.ts'

const COLORS = ['#d62728', '#1f77b4', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b']

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

export function p99Chart(
  series: ReadonlyArray<{ label: string; color?: string; points: readonly LoadPoint[] }>,
  options: { title: string; subtitle?: string[] },
): string {
  const W = 760
  const H = 460
  const sub = options.subtitle ?? []
  const m = { left: 70, right: 200, top: 40 + sub.length * 16, bottom: 56 }
  const pw = W - m.left - m.right
  const ph = H - m.top - m.bottom
  const all = series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.e2eMs.p99))
  const rates = all.map((p) => p.offered)
  const xMin = Math.log2(Math.min(...rates)) - 0.25
  const xMax = Math.max(xMin + 1, Math.log2(Math.max(...rates)) + 0.25)
  const yMin = Math.floor(Math.log10(Math.max(0.1, Math.min(...all.map((p) => p.e2eMs.p99), 1))))
  const yMax = Math.ceil(Math.log10(Math.max(...all.map((p) => p.e2eMs.p99), KNEE_P99_MS * 10)))
  const x = (rate: number) => m.left + ((Math.log2(rate) - xMin) / (xMax - xMin)) * pw
  const y = (ms: number) => m.top + ph - ((Math.log10(Math.max(ms, 10 ** yMin)) - yMin) / (yMax - yMin)) * ph
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12" role="img" aria-labelledby="chart-title">`,
    `<title id="chart-title">${esc(options.title)}</title>`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${m.left}" y="22" font-size="15" font-weight="bold">${esc(options.title)}</text>`,
  ]
  for (const [i, line] of sub.entries())
    out.push(`<text x="${m.left}" y="${40 + i * 16}" fill="#555">${esc(line)}</text>`)
  // grid and axes
  for (let e = yMin; e <= yMax; e++) {
    const v = 10 ** e
    out.push(
      `<line x1="${m.left}" x2="${m.left + pw}" y1="${y(v)}" y2="${y(v)}" stroke="#e5e5e5"/>`,
      `<text x="${m.left - 8}" y="${y(v) + 4}" text-anchor="end">${v >= 1 ? v : v.toFixed(1)}</text>`,
    )
  }
  for (const rate of [...new Set(rates)].sort((a, b) => a - b)) {
    out.push(
      `<line x1="${x(rate)}" x2="${x(rate)}" y1="${m.top}" y2="${m.top + ph}" stroke="#eee"/>`,
      `<text x="${x(rate)}" y="${m.top + ph + 18}" text-anchor="middle">${rate}</text>`,
    )
  }
  out.push(
    `<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`,
    `<line x1="${m.left}" x2="${m.left + pw}" y1="${y(KNEE_P99_MS)}" y2="${y(KNEE_P99_MS)}" stroke="#000" stroke-dasharray="6 4"/>`,
    `<text x="${m.left + 4}" y="${y(KNEE_P99_MS) - 5}">knee limit: p99 ${KNEE_P99_MS} ms</text>`,
    `<text x="${m.left + pw / 2}" y="${H - 14}" text-anchor="middle">offered load, messages/s (log scale)</text>`,
    `<text transform="translate(18 ${m.top + ph / 2}) rotate(-90)" text-anchor="middle">end-to-end p99, ms (log scale)</text>`,
  )
  // series
  series.forEach((s, i) => {
    const color = s.color ?? COLORS[i % COLORS.length]
    const pts = s.points.filter((p) => Number.isFinite(p.e2eMs.p99)).sort((a, b) => a.offered - b.offered)
    if (pts.length > 1) {
      const d = pts.map((p, j) => `${j ? 'L' : 'M'}${x(p.offered).toFixed(1)} ${y(p.e2eMs.p99).toFixed(1)}`).join(' ')
      out.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"/>`)
    }
    for (const p of pts) {
      const fill = p.deliveredPct >= KNEE_DELIVERED_PCT ? color : '#fff'
      out.push(
        `<circle cx="${x(p.offered).toFixed(1)}" cy="${y(p.e2eMs.p99).toFixed(1)}" r="4" fill="${fill}" stroke="${color}" stroke-width="2"><title>${esc(`${s.label} at ${p.offered}/s: p99 ${p.e2eMs.p99} ms, p50 ${p.e2eMs.p50} ms, ${p.deliveredPct} % delivered`)}</title></circle>`,
      )
    }
    const ly = m.top + 10 + i * 22
    out.push(
      `<line x1="${m.left + pw + 16}" x2="${m.left + pw + 40}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"/>`,
      `<circle cx="${m.left + pw + 28}" cy="${ly}" r="4" fill="${color}"/>`,
      `<text x="${m.left + pw + 46}" y="${ly + 4}">${esc(s.label)}</text>`,
    )
  })
  const ny = m.top + 10 + series.length * 22 + 8
  out.push(
    `<text x="${m.left + pw + 16}" y="${ny}" fill="#555">hollow: &lt; ${KNEE_DELIVERED_PCT} % delivered</text>`,
    '</svg>',
  )
  return `${out.join('\n')}\n`
}
