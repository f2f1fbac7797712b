/**
 * `npm run bench -- search-device` (issue 12): offline search over 20,000
 * cached messages on a phone. Real Chromium (playwright-core, the e2e
 * harness's binary and flags), 390×844 mobile with touch, CPU throttled 4×
 * (CDP `Emulation.setCPUThrottlingRate`) for everything measured.
 *
 * No app server and no debug hook in the app: bench/search-device-page.ts
 * (the app's own client/db and client/search modules) is bundled by esbuild
 * into a dedicated page that Playwright serves at http://localhost (a secure
 * context, so `navigator.storage.estimate` answers) from `page.route`. The
 * page writes a seeded corpus (20 rooms, Zipf-distributed words, 5% edits,
 * 2% deletions) as version 7 held it, opens it (the version-8 upgrade,
 * timed), fills the index as the leader tab does after open (timed, with
 * its longest chunk), then runs each query `runs` times (timed in the page,
 * `performance.now()` around `searchDeviceIn`), then times the incremental
 * path: history pages of 50 messages through `storeEvents`.
 *
 * Sizes: `navigator.storage.estimate().usage` before and after the messages
 * and after the index (Chromium's on-disk LevelDB, compressed, coarse), and
 * the JSON length of the rows (what the stores hold, before compression).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { build } from 'esbuild'
import { chromium } from 'playwright-core'
import { CHROMIUM, requireChromium } from '../test/e2e/support/ferry.ts'
import { percentiles, round } from './lib/stats.ts'
import type { SearchBench } from './search-device-page.ts'

export interface SearchDeviceQuery {
  label: string
  q: string
  hits: number
  medianMs: number
  p95Ms: number
  maxMs: number
}

export interface SearchDeviceResult {
  messages: number
  entries: number
  indexed: number
  cpuThrottle: number
  runs: number
  /** openFerryDb on the version-7 database: the upgrade, which only creates the index. */
  upgradeMs: number
  /** The background fill after it, without its pauses; its chunks and the longest one. */
  fillMs: number
  fillChunks: number
  fillChunkMaxMs: number
  usageMessagesBytes: number
  usageIndexBytes: number
  jsonMessagesBytes: number
  jsonIndexBytes: number
  terms: number
  queries: SearchDeviceQuery[]
  storePageMs: { median: number; p95: number }
}

const QUERIES: { label: string; q: string; room?: true }[] = [
  { label: 'rare word', q: 'depot ' },
  { label: 'common word', q: 'the ' },
  { label: 'two words', q: 'delivery truck ' },
  { label: 'phrase', q: '"depot gate"' },
  { label: 'exclusion', q: 'truck -the ' },
  { label: 'or', q: 'depot or café ' },
  { label: 'accent-folded', q: 'zurich ' },
  { label: 'typing: 1 letter', q: 'd' },
  { label: 'typing: 2 letters', q: 'de' },
  { label: 'typing: 3 letters', q: 'del' },
  { label: 'no match', q: 'qqqq ' },
  { label: 'common word, one room', q: 'the ', room: true },
]

const ORIGIN = 'http://localhost:4799'

export async function runSearchDevice(opts: {
  messages: number
  runs: number
  throttle: number
  log: (s: string) => void
}): Promise<SearchDeviceResult> {
  requireChromium()
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ferry-search-bench-'))
  try {
    await build({
      entryPoints: [path.join(import.meta.dirname, 'search-device-page.ts')],
      bundle: true,
      format: 'esm',
      target: 'es2022',
      outfile: path.join(dir, 'bench.js'),
      logLevel: 'warning',
    })
    const script = readFileSync(path.join(dir, 'bench.js'), 'utf8')
    const context = await chromium.launchPersistentContext(path.join(dir, 'profile'), {
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
      viewport: { width: 390, height: 844 },
      isMobile: true,
      hasTouch: true,
    })
    try {
      const page = context.pages()[0] ?? (await context.newPage())
      page.on('pageerror', (error) => opts.log(`page error: ${error.message}`))
      await page.route(`${ORIGIN}/**`, (route) => {
        const url = new URL(route.request().url())
        if (url.pathname === '/bench.js') return route.fulfill({ contentType: 'text/javascript', body: script })
        return route.fulfill({
          contentType: 'text/html',
          body: '<!doctype html><meta charset="utf-8"><title>search bench</title><script type="module" src="/bench.js"></script>',
        })
      })
      await page.goto(`${ORIGIN}/`)
      await page.waitForFunction(() => 'ferrySearchBench' in globalThis)
      const cdp = await context.newCDPSession(page)
      await cdp.send('Emulation.setCPUThrottlingRate', { rate: opts.throttle })
      opts.log(`search-device: writing ${opts.messages} messages and building the index (CPU ${opts.throttle}× slower)`)
      const fill = await page.evaluate(
        ({ messages }) =>
          (globalThis as unknown as { ferrySearchBench: SearchBench }).ferrySearchBench.fill(messages, 20, 12),
        { messages: opts.messages },
      )
      opts.log(
        `search-device: upgrade ${Math.round(fill.upgradeMs)} ms, then ${fill.indexed} messages indexed in ${Math.round(fill.fillMs)} ms`,
      )
      const room = '00000000-0000-4000-8000-000000000001'
      const queries: SearchDeviceQuery[] = []
      for (const { label, q, room: inRoom } of QUERIES) {
        const ms: number[] = []
        let hits = 0
        for (let i = 0; i < opts.runs + 2; i++) {
          const one = await page.evaluate(
            ({ q, roomId }) =>
              (globalThis as unknown as { ferrySearchBench: SearchBench }).ferrySearchBench.query(q, roomId),
            { q, roomId: inRoom ? room : undefined },
          )
          // The first two warm the page's code and IndexedDB's caches.
          if (i >= 2) ms.push(one.ms)
          hits = one.hits
        }
        const [median, p95, max] = percentiles(ms, [50, 95, 100])
        queries.push({ label, q, hits, medianMs: round(median!), p95Ms: round(p95!), maxMs: round(max!) })
      }
      const pages = await page.evaluate(() =>
        (globalThis as unknown as { ferrySearchBench: SearchBench }).ferrySearchBench.storePages(40, 34),
      )
      const [pageMedian, pageP95] = percentiles(pages, [50, 95])
      return {
        messages: fill.messages,
        entries: fill.entries,
        indexed: fill.indexed,
        cpuThrottle: opts.throttle,
        runs: opts.runs,
        upgradeMs: Math.round(fill.upgradeMs),
        fillMs: Math.round(fill.fillMs),
        fillChunks: fill.fillChunks,
        fillChunkMaxMs: Math.round(fill.fillChunkMaxMs),
        usageMessagesBytes: fill.usageMessages,
        usageIndexBytes: fill.usageIndex,
        jsonMessagesBytes: fill.jsonMessagesBytes,
        jsonIndexBytes: fill.jsonIndexBytes,
        terms: fill.terms,
        queries,
        storePageMs: { median: round(pageMedian!), p95: round(pageP95!) },
      }
    } finally {
      await context.close()
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
