/**
 * `npm run bench -- client`: the client in real Chromium (playwright-core over
 * CDP), 390×844 mobile, CPU throttled 4× (Emulation.setCPUThrottlingRate).
 *
 * - **Cold offline paint**: a signed-in person has opened a room of 200
 *   messages once (so IndexedDB and the service worker's precache hold it);
 *   the browser goes offline and the room's URL is loaded as a new document.
 *   The time is `performance.now()` (ms since navigation start) in the first
 *   animation frame after the newest cached message's text is in the message
 *   list (a MutationObserver installed before any page script runs, then
 *   requestAnimationFrame). Median of BENCH_CLIENT_RUNS (10), with the
 *   per-run breakdown (resource timing of the shell, entry script and
 *   stylesheet, and the app's marks `ferry:*`).
 * - **Warm tap to messages**: online, the app already open on the room list,
 *   the room cached: from the click on the room's link to the same condition
 *   (the newest message's text in the list, then the next frame). Median of
 *   BENCH_CLIENT_RUNS.
 * - **The render's main thread**: BENCH_CLIENT_TRACE_RUNS (5) more cold offline
 *   starts per build, traced and unthrottled (the throttle would count as the
 *   page's thread time): the main thread from the first-screen read to the
 *   painted frame, CPU time by kind (bench/lib/main-thread.ts). Each trace is
 *   also written to BENCH_CLIENT_TRACE_DIR when set.
 * - **Lighthouse 12.8** (performance, accessibility, best practices) on the
 *   room list and the room, signed in through the session cookie, run on
 *   demand with `npx --yes lighthouse@12.8.2` (CHROME_PATH, default
 *   /usr/bin/chromium); skipped with the reason if it cannot run, or with
 *   BENCH_CLIENT_LIGHTHOUSE=0. Lighthouse 12 has no PWA category any more, so
 *   installability is Chromium's own verdict: CDP `Page.getInstallabilityErrors`
 *   on both pages (an empty list = installable).
 *
 * BENCH_CLIENT_BASELINE=<dir of a built client> (e.g. `npx vite build --outDir
 * /tmp/before` on the older commit; several, comma-separated) measures that
 * build too, on its own server and browser, runs interleaved (before, after,
 * before, after…) so load from other processes falls on all alike.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { basename, join } from 'node:path'
import { gzipSync } from 'node:zlib'
import type { CDPSession, Page } from 'playwright-core'
import { createRoom, LONG, openRoom, signUp, uniqueName, waitForStatus } from '../test/e2e/support/app.ts'
import {
  type Browser,
  buildClient,
  CHROMIUM,
  cleanUp,
  type FerryServer,
  launchBrowser,
  startFerry,
  tempDir,
} from '../test/e2e/support/ferry.ts'
import { type MainThreadStages, mainThreadStages, startTrace, stopTrace } from './lib/main-thread.ts'
import { round } from './lib/stats.ts'

const LIGHTHOUSE_VERSION = '12.8.2'
const MESSAGES = 200
const ROOM_NAME = 'Two hundred'
/** The newest seeded message contains this (and no other does). */
const NEWEST = `number ${MESSAGES} with`
/** Longer than the app's wait before saving its first-screen record (state/first-screen.ts, 500 ms), at 4×. */
const RECORD_SETTLE_MS = 1500
/** Seeding goes over HTTP; the server's send limit would make it take 20 s. */
const SEED_LIMITS = { WS_SEND_RATE_PER_SECOND: '1000', WS_SEND_BURST: '1000' }

export interface Spread {
  median: number
  min: number
  max: number
  runs: number[]
}

export interface LighthouseScores {
  page: string
  performance?: number | null
  accessibility?: number | null
  bestPractices?: number | null
  error?: string
}

export interface ClientVariantResult {
  name: string
  initialJsGzipKiB: number
  coldOfflinePaintMs: Spread
  /** Per run, ms since navigation start (see the app's performance marks). */
  breakdown: Array<Record<string, number>>
  /**
   * From traced cold starts (BENCH_CLIENT_TRACE_RUNS, after the timed ones): the page's main thread
   * from the first-screen read to the painted frame (bench/lib/main-thread.ts), per kind, median of
   * the runs with every run kept.
   */
  renderMainThread: { median: MainThreadStages | null; runs: MainThreadStages[] }
  warmTapMs: Spread
  installability: Record<string, string[]>
  lighthouse: LighthouseScores[] | { skipped: string }
}

export interface ClientResult {
  runs: number
  cpuThrottle: 4
  viewport: '390x844 mobile'
  throttleCheck: { busyLoopThrottledMs: number; busyLoopUnthrottledMs: number }
  variants: ClientVariantResult[]
}

function spread(values: number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length / 2
  const median = sorted.length % 2 ? sorted[Math.floor(mid)]! : (sorted[mid - 1]! + sorted[mid]!) / 2
  return { median: round(median), min: round(sorted[0]!), max: round(sorted.at(-1)!), runs: values.map(round) }
}

/** What index.html loads before anything can paint: its module scripts and modulepreloads, gzipped. */
function initialJsGzipKiB(clientDir: string): number {
  const html = readFileSync(join(clientDir, 'index.html'), 'utf8')
  const files = [...html.matchAll(/<(?:script[^>]*\ssrc|link[^>]*rel="modulepreload"[^>]*\shref)="([^"]+\.js)"/g)]
  const bytes = files.reduce((sum, m) => sum + gzipSync(readFileSync(join(clientDir, m[1]!)), { level: 9 }).length, 0)
  return round(bytes / 1024)
}

// Strings, not functions: tsx would wrap named functions in a helper the page does not have.
const PAINT_PROBE = `
  new MutationObserver((_, observer) => {
    const list = document.querySelector('[role=log]')
    if (window.__paintedAt === undefined && list && list.textContent.includes(${JSON.stringify(NEWEST)})) {
      observer.disconnect()
      requestAnimationFrame(() => {
        window.__paintedAt = performance.now()
        performance.mark('bench:painted')
        const nav = performance.getEntriesByType('navigation')[0]
        const mark = (name) => performance.getEntriesByName(name)[0]?.startTime
        // The entry script and the stylesheet index.html names (chunks imported later are not counted).
        const named = (selector, attr) => {
          const url = document.querySelector(selector)?.[attr]
          return url ? performance.getEntriesByName(url)[0]?.responseEnd : undefined
        }
        window.__breakdown = {
          shellResponseEnd: nav && nav.responseEnd,
          entryScriptResponseEnd: named('script[type=module][src]', 'src'),
          stylesheetResponseEnd: named('link[rel=stylesheet]', 'href'),
          domInteractive: nav && nav.domInteractive,
          firstModule: mark('ferry:first-module'),
          dbOpen: mark('ferry:db-open'),
          firstScreen: mark('ferry:first-screen'),
          snapshot: mark('ferry:snapshot'),
          boot: mark('ferry:boot'),
          painted: window.__paintedAt,
        }
      })
    }
  }).observe(document, { childList: true, subtree: true, characterData: true })
`

interface Variant {
  name: string
  clientDir: string
  server: FerryServer
  browser: Browser
  roomId: string
  cookie: string
}

async function prepare(name: string, clientDir: string, log: (s: string) => void): Promise<Variant> {
  const server = await startFerry(clientDir, SEED_LIMITS)
  const browser = await launchBrowser()
  const page = browser.page
  await signUp(page, server.url, uniqueName('bench'))
  await createRoom(page, 'Harbour crew')
  await page.goto(server.url)
  const roomId = await createRoom(page, ROOM_NAME)
  for (let i = 1; i <= MESSAGES; i++) {
    const data = { clientId: crypto.randomUUID(), body: `Cached message number ${i} with a little text to wrap` }
    for (;;) {
      const res = await page.request.post(`${server.url}/api/rooms/${roomId}/messages`, {
        data,
        headers: { origin: server.url },
      })
      if (res.status() === 429) {
        await new Promise((r) => setTimeout(r, Number(res.headers()['retry-after'] ?? 1) * 1000))
        continue
      }
      if (!res.ok()) throw new Error(`seeding failed: ${res.status()} ${await res.text()}`)
      break
    }
  }
  await openRoom(page, server.url, roomId)
  await waitForStatus(page, /^Up to date$/)
  await page.getByRole('log').getByText(NEWEST).waitFor({ timeout: LONG })
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: LONG })
  // Seen once more with everything stored, so whatever the app keeps for its first screen is written.
  await page.goto(`${server.url}/rooms/${roomId}`)
  await waitForStatus(page, /^Up to date$/)
  await page.addInitScript(PAINT_PROBE)
  const session = (await browser.context.cookies(server.url)).find((c) => c.name === 'ferry_session')
  log(`client ${name}: ${server.url}, room ${roomId} seeded and cached`)
  return { name, clientDir, server, browser, roomId, cookie: session ? `${session.name}=${session.value}` : '' }
}

/** One CDP session per page, kept open: an emulation override ends with the session that set it. */
const sessions = new WeakMap<Page, CDPSession>()
async function throttle(page: Page, rate: number): Promise<void> {
  let cdp = sessions.get(page)
  if (!cdp) {
    cdp = await page.context().newCDPSession(page)
    sessions.set(page, cdp)
  }
  await cdp.send('Emulation.setCPUThrottlingRate', { rate })
}

/** The render of the cached first screen: from the first-screen read (the stores' read without a record) to the painted frame. */
function renderStages(events: Awaited<ReturnType<typeof stopTrace>>): MainThreadStages | null {
  return (
    mainThreadStages(events, 'ferry:first-screen', 'bench:painted') ??
    mainThreadStages(events, 'ferry:snapshot', 'bench:painted')
  )
}

/** One cold offline start of the cached room: ms since navigation start, the breakdown, and with `trace` the main thread's stages. */
async function coldPaint(
  v: Variant,
  trace = false,
): Promise<{ ms: number; breakdown: Record<string, number>; stages?: MainThreadStages | null }> {
  const page = v.browser.page
  await page.goto('about:blank')
  await v.browser.context.setOffline(true)
  // Traced runs go unthrottled: the throttle's pauses would count as the thread's own time.
  await throttle(page, trace ? 1 : 4)
  let tracing = false
  try {
    if (trace) {
      await startTrace(sessions.get(page)!)
      tracing = true
    }
    await page.goto(`${v.server.url}/rooms/${v.roomId}`)
    // Not page.waitForFunction: it evaluates Playwright's injected script (~100 ms at 4×) in the
    // page just after `load`, in the middle of the start being measured. A bare CDP evaluation adds nothing.
    const waited = await sessions.get(page)!.send('Runtime.evaluate', {
      expression: `new Promise((resolve, reject) => {
        const started = Date.now()
        const check = () => window.__paintedAt !== undefined ? resolve(true)
          : Date.now() - started > ${LONG} ? reject(new Error('no paint')) : setTimeout(check, 50)
        check()
      })`,
      awaitPromise: true,
    })
    if (waited.exceptionDetails) throw new Error(`cold start did not paint: ${waited.exceptionDetails.text}`)
    const { ms, breakdown } = await page.evaluate(() => {
      const w = window as unknown as { __paintedAt: number; __breakdown: Record<string, number | undefined> }
      return { ms: w.__paintedAt, breakdown: w.__breakdown }
    })
    const clean = Object.fromEntries(
      Object.entries(breakdown).flatMap(([k, x]) => (typeof x === 'number' ? [[k, round(x)]] : [])),
    )
    // Stay a moment, as a person would: the app saves its first-screen record 500 ms after the
    // screen settles. Leaving at once, every start of a one-build run read the stores instead.
    await new Promise((r) => setTimeout(r, RECORD_SETTLE_MS))
    if (!tracing) return { ms, breakdown: clean }
    // Let the frame that holds the painted mark finish before the trace ends.
    await new Promise((r) => setTimeout(r, 500))
    tracing = false
    const events = await stopTrace(sessions.get(page)!)
    // For a look in DevTools' Performance panel (Load profile…).
    const dir = process.env.BENCH_CLIENT_TRACE_DIR
    if (dir) {
      mkdirSync(dir, { recursive: true })
      writeFileSync(join(dir, `${v.name.replace(/\W+/g, '-')}-${Date.now()}.json`), JSON.stringify(events))
    }
    return { ms, breakdown: clean, stages: renderStages(events) }
  } finally {
    if (tracing) await stopTrace(sessions.get(page)!).catch(() => undefined)
    await throttle(page, 1)
    await v.browser.context.setOffline(false)
  }
}

/** Online, on the room list, the room cached: click its link, until its newest message is in the list (next frame). */
async function warmTap(v: Variant): Promise<number> {
  const page = v.browser.page
  if (page.url() !== `${v.server.url}/`) await page.goto(`${v.server.url}/`)
  await page.getByRole('link', { name: new RegExp(ROOM_NAME) }).waitFor({ timeout: LONG })
  await waitForStatus(page, /^Up to date$/)
  await throttle(page, 4)
  try {
    return await page.evaluate(
      ([roomName, newest]) =>
        new Promise<number>((resolve, reject) => {
          const link = [...document.querySelectorAll('a')].find((a) => a.textContent?.includes(roomName))
          if (!link) return reject(new Error('no link to the room'))
          const started = performance.now()
          const observer = new MutationObserver(() => {
            if (!document.querySelector('[role=log]')?.textContent?.includes(newest)) return
            observer.disconnect()
            requestAnimationFrame(() => resolve(performance.now() - started))
          })
          observer.observe(document, { childList: true, subtree: true, characterData: true })
          link.click()
        }),
      [ROOM_NAME, NEWEST] as const,
    )
  } finally {
    await throttle(page, 1)
    // Back to the list for the next tap, the way a person goes back.
    await page.goBack()
  }
}

async function installability(v: Variant): Promise<Record<string, string[]>> {
  const page = v.browser.page
  const out: Record<string, string[]> = {}
  for (const [label, path] of [
    ['room list', '/'],
    ['room', `/rooms/${v.roomId}`],
  ] as const) {
    await page.goto(`${v.server.url}${path}`)
    await waitForStatus(page, /^Up to date$/)
    const cdp = await page.context().newCDPSession(page)
    const { installabilityErrors } = (await cdp.send('Page.getInstallabilityErrors')) as {
      installabilityErrors: Array<{ errorId: string }>
    }
    await cdp.detach()
    out[label] = installabilityErrors.map((e) => e.errorId)
  }
  return out
}

/** One Lighthouse run as an external command; never throws (the reason is returned instead). */
async function lighthouse(page: string, url: string, cookie: string): Promise<LighthouseScores> {
  const { spawn } = await import('node:child_process')
  const output = join(tempDir('ferry-lighthouse-'), 'report.json')
  const args = [
    '--yes',
    `lighthouse@${LIGHTHOUSE_VERSION}`,
    url,
    '--chrome-flags=--headless --no-sandbox --disable-gpu',
    '--only-categories=performance,accessibility,best-practices',
    '--output=json',
    `--output-path=${output}`,
    '--quiet',
    `--extra-headers=${JSON.stringify({ Cookie: cookie })}`,
  ]
  return new Promise((resolve) => {
    let text = ''
    const child = spawn('npx', args, {
      cwd: tempDir('ferry-lighthouse-cwd-'),
      env: { ...process.env, CHROME_PATH: process.env.CHROME_PATH ?? CHROMIUM },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    child.stdout.on('data', (d) => (text += d))
    child.stderr.on('data', (d) => (text += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), 300_000)
    child.on('error', (error) => {
      clearTimeout(timer)
      resolve({ page, error: `could not start npx: ${error.message}` })
    })
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      const tail = text.trim().split('\n').slice(-3).join(' | ')
      if (code !== 0) return resolve({ page, error: `lighthouse exited with ${code ?? signal}: ${tail}` })
      try {
        const report = JSON.parse(readFileSync(output, 'utf8')) as {
          runtimeError?: { message: string }
          categories: Record<string, { score: number | null } | undefined>
        }
        if (report.runtimeError) return resolve({ page, error: `runtime error: ${report.runtimeError.message}` })
        resolve({
          page,
          performance: report.categories.performance?.score ?? null,
          accessibility: report.categories.accessibility?.score ?? null,
          bestPractices: report.categories['best-practices']?.score ?? null,
        })
      } catch (error) {
        resolve({ page, error: `no readable report: ${(error as Error).message}; ${tail}` })
      }
    })
  })
}

async function busyLoop(page: Page): Promise<number> {
  return page.evaluate(() => {
    const t = performance.now()
    let x = 0
    for (let i = 0; i < 5_000_000; i++) x += i % 7
    return x > 0 ? performance.now() - t : 0
  })
}

/** Per field, the median of the runs. */
function medianStages(runs: MainThreadStages[]): MainThreadStages | null {
  if (runs.length === 0) return null
  const keys = Object.keys(runs[0]!) as Array<keyof MainThreadStages>
  return Object.fromEntries(keys.map((k) => [k, spread(runs.map((r) => r[k])).median])) as unknown as MainThreadStages
}

export async function runClient(opts: {
  runs: number
  /** Traced cold starts per build, after the timed ones (tracing slows the page, so they are not timed). */
  traceRuns: number
  baselineDir?: string
  lighthouse: boolean
  log: (s: string) => void
}): Promise<ClientResult> {
  const { log } = opts
  process.env.TEST_DATABASE_URL ??= process.env.BENCH_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
  try {
    const builds: Array<[string, string]> = []
    // Several older builds may be named, comma-separated; each is called by its directory's name.
    for (const dir of opts.baselineDir?.split(',').filter(Boolean) ?? []) builds.push([basename(dir), dir])
    builds.push(['this build', await buildClient('bench')])
    const variants: Variant[] = []
    for (const [name, dir] of builds) variants.push(await prepare(name, dir, log))

    const paints = new Map<Variant, number[]>(variants.map((v) => [v, []]))
    const breakdowns = new Map<Variant, Array<Record<string, number>>>(variants.map((v) => [v, []]))
    const taps = new Map<Variant, number[]>(variants.map((v) => [v, []]))
    // Interleaved: run i of every build before run i + 1 of any.
    for (let run = 0; run < opts.runs; run++) {
      for (const v of variants) {
        const { ms, breakdown } = await coldPaint(v)
        paints.get(v)!.push(ms)
        breakdowns.get(v)!.push(breakdown)
      }
    }
    log(`client: ${opts.runs} cold offline paints per build done`)
    const traced = new Map<Variant, MainThreadStages[]>(variants.map((v) => [v, []]))
    for (let run = 0; run < opts.traceRuns; run++) {
      for (const v of variants) {
        const { stages } = await coldPaint(v, true)
        if (stages) traced.get(v)!.push(stages)
        else log(`client ${v.name}: a traced run had no first-screen and painted marks on one thread`)
      }
    }
    if (opts.traceRuns > 0) log(`client: ${opts.traceRuns} traced cold offline starts per build done`)
    for (let run = 0; run < opts.runs; run++) {
      for (const v of variants) taps.get(v)!.push(await warmTap(v))
    }
    log(`client: ${opts.runs} warm taps per build done`)

    const probe = variants.at(-1)!.browser.page
    await throttle(probe, 4)
    const busyLoopThrottledMs = round(await busyLoop(probe))
    await throttle(probe, 1)
    const busyLoopUnthrottledMs = round(await busyLoop(probe))

    const results: ClientVariantResult[] = []
    for (const v of variants) {
      const install = await installability(v)
      let scores: ClientVariantResult['lighthouse'] = { skipped: 'BENCH_CLIENT_LIGHTHOUSE=0' }
      if (opts.lighthouse) {
        scores = []
        for (const [label, path] of [
          ['room list', '/'],
          ['room', `/rooms/${v.roomId}`],
        ] as const) {
          log(`client ${v.name}: lighthouse on the ${label}`)
          scores.push(await lighthouse(label, `${v.server.url}${path}`, v.cookie))
        }
      }
      results.push({
        name: v.name,
        initialJsGzipKiB: initialJsGzipKiB(v.clientDir),
        coldOfflinePaintMs: spread(paints.get(v)!),
        breakdown: breakdowns.get(v)!,
        renderMainThread: { median: medianStages(traced.get(v)!), runs: traced.get(v)! },
        warmTapMs: spread(taps.get(v)!),
        installability: install,
        lighthouse: scores,
      })
    }
    return {
      runs: opts.runs,
      cpuThrottle: 4,
      viewport: '390x844 mobile',
      throttleCheck: { busyLoopThrottledMs, busyLoopUnthrottledMs },
      variants: results,
    }
  } finally {
    await cleanUp()
  }
}
