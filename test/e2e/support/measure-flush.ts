/**
 * Outbox flush benchmark (not a test): `npx tsx test/e2e/support/measure-flush.ts`.
 * Prints JSON with the time to flush and get acks for MESSAGES (200) queued messages after
 * reconnecting, twice: with the server's default send limits, and with them raised
 * (WS_SEND_RATE_PER_SECOND=1000 WS_SEND_BURST=1000); the client paces to the limits the server
 * announces in `hello`. Also saves a 390×844 screenshot of a room to docs/screenshots/room.png.
 * Uses TEST_DATABASE_URL when set, else embedded PGlite (like the e2e tests).
 *
 * Cold offline paint, warm tap, initial JavaScript and Lighthouse are measured by
 * `npm run bench -- client` (bench/client.ts), which this script used to duplicate.
 */
import { join } from 'node:path'
import type { BrowserContext, Page, WebSocketRoute } from 'playwright-core'
import { createRoom, LONG, openRoom, sendMessage, signUp, uniqueName, waitForStatus, waitUntil } from './app.ts'
import { buildClient, cleanUp, launchBrowser, ROOT, startFerry } from './ferry.ts'

const MESSAGES = Number(process.env.MEASURE_MESSAGES ?? 200)
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
  await context.routeWebSocket(/\/api\/ws(\?|$)/, (ws) => {
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

async function main(): Promise<void> {
  const clientDir = await buildClient('measure')
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
  await page.screenshot({ path: join(ROOT, 'docs', 'screenshots', 'room.png') })
  await bob.close()

  // MESSAGES queued with the socket cut, then the socket comes back: time until every one is acked.
  await page.goto(server.url)
  const queuedRoom = await createRoom(page, 'Queued')
  const flushDefault = await timeFlush(page, server.url, queuedRoom, socket)
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
        flush: {
          messages: MESSAGES,
          defaultLimits: { ms: flushDefault.ms, announcedLimits: flushDefault.limits },
          raisedLimits: { ms: flushRaised.ms, announcedLimits: flushRaised.limits, serverEnv: RAISED_LIMITS },
          note: `socket cut → ${MESSAGES} queued → socket back: until every one is acked and the status says Up to date; the client paces to the limits announced in hello`,
        },
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
