/**
 * Client benchmark (not a test): `npx tsx test/e2e/support/measure-client.ts`.
 * Prints JSON with
 * - the initial JavaScript, gzipped (what index.html loads before first paint);
 * - the time to paint a cached room of 200 messages, offline, cold page load,
 *   mobile viewport, CPU throttled 4× (CDP Emulation.setCPUThrottlingRate);
 * - the time to flush and get acks for 200 queued messages after reconnecting,
 *   twice: with the server's default send limits, and with them raised
 *   (WS_SEND_RATE_PER_SECOND=1000 WS_SEND_BURST=1000); the client paces to the
 *   limits the server announces in `hello`;
 * - Lighthouse 12 scores (performance, accessibility, best practices) for the
 *   login page and a signed-in room page, run as an external command
 *   (`npx -y lighthouse@12.8.2`, Chromium from CHROME_PATH, default /usr/bin/chromium);
 *   if Lighthouse cannot run, the output says why and the rest still runs;
 * and saves a 390×844 screenshot of the room view to docs/screenshots/room.png.
 * Uses TEST_DATABASE_URL when set, else embedded PGlite (like the e2e tests).
 *
 * Knobs for a quick smoke run (defaults are the real measurement):
 * MEASURE_MESSAGES (200), MEASURE_PAINT_RUNS (5), MEASURE_LIGHTHOUSE=0 (skip Lighthouse).
 */
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import type { BrowserContext, Page, WebSocketRoute } from 'playwright-core'
import { createRoom, LONG, openRoom, sendMessage, signUp, uniqueName, waitForStatus, waitUntil } from './app.ts'
import { buildClient, CHROMIUM, cleanUp, launchBrowser, ROOT, startFerry, tempDir } from './ferry.ts'

const MESSAGES = Number(process.env.MEASURE_MESSAGES ?? 200)
const PAINT_RUNS = Number(process.env.MEASURE_PAINT_RUNS ?? 5)
const LIGHTHOUSE = process.env.MEASURE_LIGHTHOUSE !== '0'
const LIGHTHOUSE_VERSION = '12.8.2'
const RAISED_LIMITS = { WS_SEND_RATE_PER_SECOND: '1000', WS_SEND_BURST: '1000' }

interface Limits {
  sendRatePerSecond: number
  sendBurst: number
}

/**
 * Routes the app's WebSocket so it can be cut while the page stays online, and
 * remembers the send limits the server announced in its latest `hello`.
 */
async function socketSwitch(context: BrowserContext) {
  let allowed = true
  let limits: Limits | null = null
  const routes = new Set<WebSocketRoute>()
  await context.routeWebSocket(/\/api\/ws$/, (ws) => {
    if (!allowed) return ws.close({ code: 1011, reason: 'blocked by benchmark' })
    routes.add(ws)
    const server = ws.connectToServer()
    server.onMessage((message) => {
      if (typeof message === 'string' && message.includes('"hello"')) {
        try {
          const frame = JSON.parse(message) as { type?: string; limits?: Limits }
          if (frame.type === 'hello' && frame.limits) limits = frame.limits
        } catch {
          // not JSON: pass it on untouched
        }
      }
      ws.send(message)
    })
  })
  return {
    get limits() {
      return limits
    },
    async cut() {
      allowed = false
      for (const route of routes) await route.close({ code: 1011, reason: 'cut by benchmark' })
      routes.clear()
    },
    allow() {
      allowed = true
    },
  }
}

/** Queues MESSAGES with the socket cut, lets it back, and times until every one is acked and the status is "Up to date". */
async function timeFlush(
  page: Page,
  baseUrl: string,
  roomId: string,
  socket: Awaited<ReturnType<typeof socketSwitch>>,
): Promise<{ ms: number; limits: Limits | null; newestOnServer: string | undefined }> {
  await page.goto(`${baseUrl}/rooms/${roomId}`)
  await waitForStatus(page, /^Up to date$/)
  const limits = socket.limits
  await socket.cut()
  await waitForStatus(page, 'Connecting')
  const box = page.getByRole('textbox', { name: 'Message' })
  for (let i = 1; i <= MESSAGES; i++) {
    await box.fill(`Queued ${i}`)
    await page.getByRole('button', { name: 'Send' }).click()
  }
  await waitForStatus(page, `${MESSAGES} waiting to send`)
  socket.allow()
  const started = Date.now()
  await page.evaluate(() => window.dispatchEvent(new Event('online')))
  await waitUntil(
    async () => /^Up to date$/.test((await page.getByTestId('status').textContent()) ?? ''),
    'the outbox to drain',
    180_000,
  )
  const ms = Date.now() - started
  const res = await page.request.get(`${baseUrl}/api/rooms/${roomId}/messages?limit=1`)
  const newest = ((await res.json()) as { messages: Array<{ body: string }> }).messages[0]?.body
  if (newest !== `Queued ${MESSAGES}`) throw new Error(`flush check: newest message on the server is "${newest}"`)
  return { ms, limits: socket.limits ?? limits, newestOnServer: newest }
}

type LighthouseResult =
  | { url: string; performance: number | null; accessibility: number | null; bestPractices: number | null }
  | { url: string; error: string }

/** One Lighthouse run as an external command; never throws (the reason is returned instead). */
function lighthouse(url: string, extraHeaders?: Record<string, string>): Promise<LighthouseResult> {
  const output = join(tempDir('ferry-lighthouse-'), 'report.json')
  const args = [
    '-y',
    `lighthouse@${LIGHTHOUSE_VERSION}`,
    url,
    '--chrome-flags=--headless --no-sandbox --disable-gpu',
    '--only-categories=performance,accessibility,best-practices',
    '--output=json',
    `--output-path=${output}`,
    '--quiet',
  ]
  if (extraHeaders) args.push(`--extra-headers=${JSON.stringify(extraHeaders)}`)
  return new Promise((resolve) => {
    let log = ''
    const child = spawn('npx', args, {
      cwd: tempDir('ferry-lighthouse-cwd-'),
      env: { ...process.env, CHROME_PATH: process.env.CHROME_PATH ?? CHROMIUM },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    child.stdout.on('data', (d) => (log += d))
    child.stderr.on('data', (d) => (log += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), 300_000)
    child.on('error', (error) => {
      clearTimeout(timer)
      resolve({ url, error: `could not start npx: ${error.message}` })
    })
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      const tail = log.trim().split('\n').slice(-5).join(' | ')
      if (code !== 0) return resolve({ url, error: `lighthouse exited with ${code ?? signal}: ${tail}` })
      try {
        const report = JSON.parse(readFileSync(output, 'utf8')) as {
          runtimeError?: { message: string }
          categories: Record<string, { score: number | null } | undefined>
        }
        if (report.runtimeError)
          return resolve({ url, error: `lighthouse runtime error: ${report.runtimeError.message}` })
        resolve({
          url,
          performance: report.categories.performance?.score ?? null,
          accessibility: report.categories.accessibility?.score ?? null,
          bestPractices: report.categories['best-practices']?.score ?? null,
        })
      } catch (error) {
        resolve({ url, error: `no readable report: ${(error as Error).message}; ${tail}` })
      }
    })
  })
}

function initialJsGzipBytes(clientDir: string): { files: string[]; bytes: number } {
  const html = readFileSync(join(clientDir, 'index.html'), 'utf8')
  const files = [...html.matchAll(/<(?:script[^>]*\ssrc|link[^>]*rel="modulepreload"[^>]*\shref)="([^"]+\.js)"/g)].map(
    (m) => m[1]!,
  )
  const bytes = files.reduce((sum, file) => sum + gzipSync(readFileSync(join(clientDir, file)), { level: 9 }).length, 0)
  return { files, bytes }
}

async function main(): Promise<void> {
  const clientDir = await buildClient('measure')
  const js = initialJsGzipBytes(clientDir)
  const server = await startFerry(clientDir)
  const alice = await launchBrowser()
  const socket = await socketSwitch(alice.context)
  const page = alice.page
  await signUp(page, server.url, uniqueName('alice'))

  // A conversation worth a screenshot.
  const bob = await launchBrowser()
  await signUp(bob.page, server.url, uniqueName('bob'))
  const crew = await createRoom(page, 'Harbour crew')
  await openRoom(bob.page, server.url, crew)
  await bob.page.getByRole('button', { name: 'Join this room' }).click()
  const lines: Array<[typeof page, string]> = [
    [page, 'Morning! Ferry leaves at 9:40 today'],
    [bob.page, 'Thanks, I am on the bus, signal keeps dropping'],
    [page, 'No problem, messages wait until you are back online'],
    [bob.page, 'Just went through the tunnel and everything arrived in order'],
    [page, 'Timetable: https://example.com/ferry/timetable'],
    [bob.page, 'See you on deck'],
  ]
  for (const [who, text] of lines) await sendMessage(who, text)
  await openRoom(page, server.url, crew)
  await waitForStatus(page, /^Up to date$/)
  await page.getByRole('log').getByText('See you on deck').waitFor({ timeout: LONG })
  const screenshot = join(ROOT, 'docs', 'screenshots', 'room.png')
  await page.screenshot({ path: screenshot })
  await bob.close()

  // MESSAGES messages in one room, written over HTTP, then cached by opening the room. The per-user
  // send limit covers HTTP too: a 429 is retried with the same clientId after its Retry-After.
  const roomId = await (async () => {
    await page.goto(server.url)
    return createRoom(page, 'Two hundred')
  })()
  for (let i = 1; i <= MESSAGES; i++) {
    const data = { clientId: crypto.randomUUID(), body: `Cached message number ${i} with a little text to wrap` }
    for (;;) {
      const res = await page.request.post(`${server.url}/api/rooms/${roomId}/messages`, {
        data,
        headers: { origin: server.url },
      })
      if (res.status() === 429) {
        await new Promise((resolve) => setTimeout(resolve, Number(res.headers()['retry-after'] ?? 1) * 1000))
        continue
      }
      if (!res.ok()) throw new Error(`seeding failed: ${res.status()} ${await res.text()}`)
      break
    }
  }
  await openRoom(page, server.url, roomId)
  await waitForStatus(page, /^Up to date$/)
  await waitUntil(
    () =>
      page.evaluate(
        async ([room, total]) => {
          const db = await new Promise<IDBDatabase>((resolve) => {
            const r = indexedDB.open('ferry')
            r.onsuccess = () => resolve(r.result)
          })
          const count = await new Promise<number>((resolve) => {
            // This room's entries only (the store holds every room, keyed by [roomId, seq]).
            const r = db
              .transaction('messages')
              .objectStore('messages')
              .count(IDBKeyRange.bound([room, 0], [room, Infinity]))
            r.onsuccess = () => resolve(r.result)
          })
          db.close()
          return count >= total
        },
        [roomId, MESSAGES] as const,
      ),
    `all ${MESSAGES} messages cached`,
  )

  // Cold, offline, throttled load of the cached room; the clock stops at the frame after the newest message is in the DOM.
  await page.goto('about:blank')
  await alice.context.setOffline(true)
  const cdp = await alice.context.newCDPSession(page)
  await cdp.send('Emulation.setCPUThrottlingRate', { rate: 4 })
  // A string, not a function: tsx would wrap named functions in a helper the page does not have.
  await page.addInitScript(`
    new MutationObserver(() => {
      const last = document.querySelector('[role=log] li[data-state=sent]:last-of-type .msg__body')
      if (window.__paintedAt === undefined && window.__painted === undefined && last && last.textContent.includes('number ${MESSAGES} ')) {
        window.__painted = document.querySelectorAll('[role=log] li[data-state=sent]').length
        requestAnimationFrame(() => {
          window.__paintedAt = performance.now()
          const nav = performance.getEntriesByType('navigation')[0]
          const script = performance.getEntriesByType('resource').find((r) => r.name.includes('/assets/') && r.name.endsWith('.js'))
          const mark = (name) => performance.getEntriesByName(name)[0]?.startTime
          window.__breakdown = {
            shellResponseEnd: nav && nav.responseEnd,
            scriptResponseEnd: script && script.responseEnd,
            domContentLoaded: nav && nav.domContentLoadedEventEnd,
            boot: mark('ferry:boot'),
            dbOpen: mark('ferry:db-open'),
            snapshot: mark('ferry:snapshot'),
            painted: window.__paintedAt,
          }
        })
      }
    }).observe(document, { childList: true, subtree: true })
  `)
  // A fixed busy loop timed in the page shows whether the throttle really applies to the renderer that paints.
  const spin = () =>
    page.evaluate(() => {
      const t = performance.now()
      let x = 0
      for (let i = 0; i < 5_000_000; i++) x += i % 7
      return x > 0 ? performance.now() - t : 0
    })
  const paints: number[] = []
  const breakdowns: Array<Record<string, number>> = []
  const spins: number[] = []
  let painted = 0
  for (let run = 0; run < PAINT_RUNS; run++) {
    // Each run is a cold start: leave the app, then open the room as a new document.
    await page.goto('about:blank')
    await page.goto(`${server.url}/rooms/${roomId}`)
    await page
      .waitForFunction(() => (window as unknown as { __paintedAt?: number }).__paintedAt !== undefined, null, {
        timeout: LONG,
        polling: 50,
      })
      .catch(async (error) => {
        const shown = await page.locator('body').textContent()
        const last = await page.evaluate(() => [
          (window as unknown as { __painted?: number }).__painted,
          document.querySelector('[role=log] li[data-state=sent]:last-of-type .msg__body')?.textContent,
          document.querySelectorAll('[role=log] li').length,
        ])
        throw new Error(
          `run ${run}: the cached room never painted (${JSON.stringify(last)}); page shows: ${shown?.slice(0, 300)}`,
          {
            cause: error,
          },
        )
      })
    paints.push(await page.evaluate(() => (window as unknown as { __paintedAt: number }).__paintedAt))
    breakdowns.push(
      await page.evaluate(() => (window as unknown as { __breakdown: Record<string, number> }).__breakdown),
    )
    painted = await page.evaluate(() => (window as unknown as { __painted: number }).__painted)
    spins.push(await spin())
  }
  await cdp.send('Emulation.setCPUThrottlingRate', { rate: 1 })
  const spinUnthrottled = await spin()
  await alice.context.setOffline(false)

  // MESSAGES queued with the socket cut, then the socket comes back: time until every one is acked.
  const flushDefault = await timeFlush(page, server.url, roomId, socket)

  // Lighthouse: the login page (a fresh profile) and, with this session's cookie, a signed-in room page
  // (Lighthouse starts from an empty IndexedDB, so that page loads from the server).
  const lighthouseRuns: LighthouseResult[] = []
  if (LIGHTHOUSE) {
    const session = (await alice.context.cookies(server.url)).find((c) => c.name === 'ferry_session')
    lighthouseRuns.push(await lighthouse(`${server.url}/`))
    if (session) {
      lighthouseRuns.push(
        await lighthouse(`${server.url}/rooms/${crew}`, { Cookie: `${session.name}=${session.value}` }),
      )
    } else {
      lighthouseRuns.push({
        url: `${server.url}/rooms/${crew}`,
        error: 'no ferry_session cookie to sign Lighthouse in',
      })
    }
  }
  await alice.close()
  await server.stop()

  // The same flush against a server that allows more: the client learns the limits from `hello`.
  const raisedServer = await startFerry(clientDir, RAISED_LIMITS)
  const carol = await launchBrowser()
  const carolSocket = await socketSwitch(carol.context)
  await signUp(carol.page, raisedServer.url, uniqueName('carol'))
  const raisedRoom = await createRoom(carol.page, 'Raised limits')
  const flushRaised = await timeFlush(carol.page, raisedServer.url, raisedRoom, carolSocket)

  console.log(
    JSON.stringify(
      {
        initialJsGzipKiB: Number((js.bytes / 1024).toFixed(1)),
        initialJsFiles: js.files,
        cachedRoomPaintMs: {
          cpuThrottle: 4,
          viewport: '390x844 mobile',
          messagesCached: MESSAGES,
          runsCount: PAINT_RUNS,
          messagesPainted: painted,
          runs: paints.map((ms) => Math.round(ms)),
          // Per run, ms since navigation start: shell served, script loaded, boot(), IndexedDB open, snapshot read, painted.
          breakdown: breakdowns.map((b) => Object.fromEntries(Object.entries(b).map(([k, v]) => [k, Math.round(v)]))),
          median: Math.round([...paints].sort((a, b) => a - b)[Math.floor(paints.length / 2)]!),
          throttleCheck: {
            busyLoopMsThrottled: spins.map((ms) => Math.round(ms)),
            busyLoopMsUnthrottled: Math.round(spinUnthrottled),
          },
          note: 'navigation start → frame after the newest cached message is in the DOM, offline, service-worker shell',
        },
        flush: {
          messages: MESSAGES,
          defaultLimits: { ms: flushDefault.ms, announcedLimits: flushDefault.limits },
          raisedLimits: { ms: flushRaised.ms, announcedLimits: flushRaised.limits, serverEnv: RAISED_LIMITS },
          note: `socket cut → ${MESSAGES} queued → socket back: until every one is acked and the status says Up to date; the client paces to the limits announced in hello`,
        },
        lighthouse: LIGHTHOUSE
          ? { version: LIGHTHOUSE_VERSION, runs: lighthouseRuns }
          : { skipped: 'MEASURE_LIGHTHOUSE=0' },
        screenshot: 'docs/screenshots/room.png',
      },
      null,
      2,
    ),
  )
}

main()
  .catch((error) => {
    console.error(error)
    process.exitCode = 1
  })
  .finally(cleanUp)
