/**
 * Two people chatting in real Chromium: live delivery, hostile text, one
 * socket for many tabs (and takeover), the offline shell and installability.
 */
import type { WebSocket as PwWebSocket } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createRoom,
  joinRoom,
  LONG,
  sendMessage,
  sentTexts,
  signUp,
  uniqueName,
  waitForServiceWorker,
  waitForStatus,
} from './support/app.ts'
import { type Browser, buildClient, cleanUp, type FerryServer, launchBrowser, startFerry } from './support/ferry.ts'

let server: FerryServer
let alice: Browser
let bob: Browser
let roomId: string
const openSockets = new Set<PwWebSocket>()

function trackSockets(page: Browser['page']): void {
  page.on('websocket', (ws) => {
    if (new URL(ws.url()).pathname !== '/api/ws') return
    openSockets.add(ws)
    ws.on('close', () => openSockets.delete(ws))
  })
}

beforeAll(async () => {
  server = await startFerry(await buildClient())
  ;[alice, bob] = await Promise.all([launchBrowser(), launchBrowser()])
  trackSockets(alice.page)
  await signUp(alice.page, server.url, uniqueName('alice'))
  await signUp(bob.page, server.url, uniqueName('bob'))
  roomId = await createRoom(alice.page, 'Harbour')
  await joinRoom(bob.page, server.url, roomId)
  await Promise.all([waitForStatus(alice.page, 'Up to date'), waitForStatus(bob.page, 'Up to date')])
})

afterAll(cleanUp)

describe('Ferry in Chromium', () => {
  it('two people chat in real time', async () => {
    await sendMessage(alice.page, 'Ahoy Bob!')
    await expect.poll(() => sentTexts(bob.page), { timeout: LONG }).toContain('Ahoy Bob!')
    await sendMessage(bob.page, 'Ahoy Alice, see https://example.com')
    await expect.poll(() => sentTexts(alice.page), { timeout: LONG }).toContain('Ahoy Alice, see https://example.com')
    await expect.poll(() => sentTexts(alice.page)).toEqual(['Ahoy Bob!', 'Ahoy Alice, see https://example.com'])
    const link = alice.page.getByRole('log').getByRole('link', { name: 'https://example.com' })
    expect(await link.getAttribute('href')).toBe('https://example.com/')
    await waitForStatus(alice.page, /^Up to date$/)
  })

  it('a hostile message shows as text and runs nothing', async () => {
    const dialogs: string[] = []
    alice.page.on('dialog', (dialog) => {
      dialogs.push(dialog.message())
      void dialog.dismiss()
    })
    const hostile = '<img src=x onerror="window.__pwned=1;alert(1)"><script>window.__pwned=2</script>'
    await sendMessage(bob.page, hostile)
    await expect.poll(() => sentTexts(alice.page), { timeout: LONG }).toContain(hostile)
    const log = alice.page.getByRole('log')
    expect(await log.locator('img, script').count()).toBe(0)
    expect(await alice.page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined()
    expect(dialogs).toEqual([])
  })

  it('the app is installable (no installability errors)', async () => {
    await waitForServiceWorker(alice.page)
    const cdp = await alice.context.newCDPSession(alice.page)
    const { installabilityErrors } = (await cdp.send('Page.getInstallabilityErrors')) as {
      installabilityErrors: unknown[]
    }
    expect(installabilityErrors).toEqual([])
    const manifest = await (await alice.page.request.get(`${server.url}/manifest.webmanifest`)).json()
    expect(manifest).toMatchObject({ display: 'standalone', start_url: '/', scope: '/' })
    expect(manifest.icons.map((i: { sizes: string }) => i.sizes)).toEqual(
      expect.arrayContaining(['192x192', '512x512']),
    )
    expect(manifest.icons.some((i: { purpose?: string }) => i.purpose === 'maskable')).toBe(true)
  })

  it('two tabs hold one WebSocket between them, and the other takes over when the owner closes', async () => {
    const second = await alice.context.newPage()
    trackSockets(second)
    await second.goto(`${server.url}/rooms/${roomId}`)
    await waitForStatus(second, 'Up to date')
    expect(openSockets.size).toBe(1)

    // A message written in the follower tab is sent by the leader and appears in both.
    await sendMessage(second, 'from the second tab')
    await expect.poll(() => sentTexts(alice.page), { timeout: LONG }).toContain('from the second tab')
    await expect.poll(() => sentTexts(second), { timeout: LONG }).toContain('from the second tab')
    await expect.poll(() => sentTexts(bob.page), { timeout: LONG }).toContain('from the second tab')
    expect(openSockets.size).toBe(1)

    // The leader tab goes away: the follower takes the lock and opens the one socket.
    await alice.page.close()
    await expect.poll(() => openSockets.size, { timeout: LONG }).toBe(1)
    await sendMessage(second, 'after the takeover')
    await expect.poll(() => sentTexts(bob.page), { timeout: LONG }).toContain('after the takeover')
    alice.page = second
  })

  it('the service worker serves the app shell offline', async () => {
    const page = alice.page
    await waitForServiceWorker(page)
    const cached = await page.evaluate(async () => {
      const urls: string[] = []
      for (const name of await caches.keys()) {
        for (const request of await (await caches.open(name)).keys()) urls.push(new URL(request.url).pathname)
      }
      return urls
    })
    expect(cached).toContain('/index.html')
    expect(cached).toContain('/manifest.webmanifest')
    await alice.context.setOffline(true)
    try {
      await page.reload()
      await page.getByRole('textbox', { name: 'Message' }).waitFor({ timeout: LONG })
      await expect.poll(() => sentTexts(page), { timeout: LONG }).toContain('Ahoy Bob!')
      await waitForStatus(page, /Offline|Connecting/)
    } finally {
      await alice.context.setOffline(false)
    }
    await waitForStatus(page, 'Up to date')
  })
})
