/**
 * An app update while messages wait: a new build is deployed, the page shows
 * "A new version is ready — Reload", the person reloads, and every queued
 * message is still there and is delivered exactly once afterwards.
 */
import type { WebSocketRoute } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createRoom,
  LONG,
  sendMessage,
  sentTexts,
  serverBodies,
  signUp,
  uniqueName,
  waitForServiceWorker,
  waitForStatus,
  waitingTexts,
} from './support/app.ts'
import { type Browser, buildClient, cleanUp, type FerryServer, launchBrowser, startFerry } from './support/ferry.ts'

let server: FerryServer
let alice: Browser
let roomId: string
let nextBuild: string
/** While false, the app's WebSocket is cut (the page itself stays online, so the update can download). */
let socketAllowed = true
const liveRoutes = new Set<WebSocketRoute>()

beforeAll(async () => {
  const [first, second] = await Promise.all([buildClient('build-a'), buildClient('build-b')])
  nextBuild = second
  server = await startFerry(first)
  alice = await launchBrowser()
  await alice.context.routeWebSocket(/\/api\/ws(\?|$)/, (ws) => {
    if (!socketAllowed) {
      ws.close({ code: 1011, reason: 'blocked by test' })
      return
    }
    liveRoutes.add(ws)
    ws.connectToServer()
  })
  await signUp(alice.page, server.url, uniqueName('alice'))
  roomId = await createRoom(alice.page, 'Bridge')
  await sendMessage(alice.page, 'sent before the update')
  await waitForServiceWorker(alice.page)
  await waitForStatus(alice.page, /^Up to date$/)
})

afterAll(cleanUp)

describe('service worker update', () => {
  it('keeps a non-empty outbox through the update and delivers it afterwards', async () => {
    const page = alice.page
    expect(await page.evaluate(() => document.documentElement.dataset.build)).toBe('build-a')

    socketAllowed = false
    for (const route of liveRoutes) await route.close({ code: 1011, reason: 'cut by test' })
    liveRoutes.clear()
    await waitForStatus(page, 'Connecting')
    for (const text of ['queued 1', 'queued 2', 'queued 3']) await sendMessage(page, text)
    await waitForStatus(page, '3 waiting to send')

    // Deploy build B and let the browser find it.
    await server.restart(nextBuild)
    // Asked again until the page offers the new build: a single check once found nothing new in a
    // loaded CI run (no offer within 60 s) and passes alone, so the check is repeated, not the wait
    // lengthened. A check while the new worker installs joins that install (no second one).
    const offer = page.getByText('A new version is ready')
    await expect
      .poll(
        async () => {
          await page.evaluate(async () => {
            const registration = await navigator.serviceWorker.getRegistration()
            await registration?.update().catch(() => undefined)
          })
          return offer.isVisible()
        },
        { timeout: LONG, interval: 2_000 },
      )
      .toBe(true)
    const reload = page.getByRole('button', { name: 'Reload' })
    await Promise.all([page.waitForEvent('load', { timeout: LONG }), reload.click()])

    await page.waitForFunction(() => document.documentElement.dataset.build === 'build-b', null, {
      timeout: LONG,
      polling: 250,
    })
    await waitForStatus(page, '3 waiting to send')
    await expect.poll(() => waitingTexts(page), { timeout: LONG }).toEqual(['queued 1', 'queued 2', 'queued 3'])

    socketAllowed = true
    // The app reconnects at once when the network comes back.
    await page.evaluate(() => window.dispatchEvent(new Event('online')))
    await waitForStatus(page, /^Up to date$/)
    await expect
      .poll(() => sentTexts(page), { timeout: LONG })
      .toEqual(['sent before the update', 'queued 1', 'queued 2', 'queued 3'])
    expect(await serverBodies(page, server.url, roomId)).toEqual([
      'sent before the update',
      'queued 1',
      'queued 2',
      'queued 3',
    ])
  })
})
