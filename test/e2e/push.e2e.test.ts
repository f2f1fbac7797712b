/**
 * Notifications on a train (issue 10): with Ferry's page closed and the phone
 * offline, a push reaches the service worker (delivered through CDP, as the
 * push service would); the worker stores the message, badges the icon and
 * shows the notification. Opening the app offline at the notification's
 * address shows the message in its room, marked. The message before it, never
 * pushed, is not taken as held: back online, it is fetched and shown in order.
 */
import { randomUUID } from 'node:crypto'
import type { CDPSession, Worker } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { PushPayload } from '../../shared/push/contract.ts'
import type { Room, RoomEvent } from '../../shared/schemas.ts'
import {
  apiCall,
  createRoom,
  LONG,
  openRoom,
  PASSWORD,
  sendMessage,
  sentTexts,
  signUp,
  signUpByApi,
  uniqueName,
  waitForServiceWorker,
  waitForStatus,
  waitUntil,
} from './support/app.ts'
import { type Browser, buildClient, cleanUp, type FerryServer, launchBrowser, startFerry } from './support/ferry.ts'

let server: FerryServer
let alice: Browser
let bobCookie: string
let bobName: string
let roomId: string

beforeAll(async () => {
  server = await startFerry(await buildClient())
  alice = await launchBrowser()
  await alice.context.grantPermissions(['notifications'], { origin: server.url })
  await signUp(alice.page, server.url, uniqueName('alice'))
  roomId = await createRoom(alice.page, 'Harbour')
  await sendMessage(alice.page, 'who is on the six o’clock?')
  bobName = uniqueName('bob')
  bobCookie = await signUpByApi(server.url, bobName)
  await apiCall(server.url, bobCookie, 'POST', `/api/rooms/${roomId}/join`)
  await waitForServiceWorker(alice.page)
  await waitForStatus(alice.page, /^Up to date$/)
})

afterAll(cleanUp)

/** Bob writes (over HTTP, his phone); returns the log entry the server stored. */
async function bobSays(body: string): Promise<RoomEvent> {
  await apiCall(server.url, bobCookie, 'POST', `/api/rooms/${roomId}/messages`, { clientId: randomUUID(), body })
  const { events } = await apiCall<{ events: RoomEvent[] }>(
    server.url,
    bobCookie,
    'GET',
    `/api/rooms/${roomId}/events?after=0`,
  )
  return events.findLast((e) => e.kind === 'message.created' && e.body === body)!
}

/** The registration the push service would wake, through the browser's DevTools protocol. */
async function registrationId(cdp: CDPSession): Promise<string> {
  const found: Array<{ registrationId: string; scopeURL: string; isDeleted: boolean }> = []
  cdp.on('ServiceWorker.workerRegistrationUpdated', (e) => found.push(...e.registrations))
  await cdp.send('ServiceWorker.enable')
  await waitUntil(async () => found.some((r) => r.scopeURL === `${server.url}/` && !r.isDeleted), 'the registration')
  return found.find((r) => r.scopeURL === `${server.url}/` && !r.isDeleted)!.registrationId
}

describe('a push while the app is closed and offline', () => {
  it('is stored, badged and announced by the worker, and the app opens offline at that message', async () => {
    const { context } = alice
    const worker: Worker = context.serviceWorkers().find((w) => w.url().startsWith(server.url))!
    expect(worker).toBeDefined()
    // The worker's own warnings (a notification it could not show, a store that failed): seen once
    // without them, a missing notification could not be explained.
    const hear = (w: Worker) =>
      w.on('console', (m) => {
        if (m.type() === 'warning' || m.type() === 'error') console.warn('[sw]', m.text())
      })
    for (const running of context.serviceWorkers()) hear(running)
    context.on('serviceworker', hear)
    // A spy where the worker calls the Badging API (the platform's own badge has no test hook).
    await worker.evaluate(() => {
      const calls: number[] = []
      Object.assign(self, { badgeCalls: calls })
      const spy = (n?: number) => {
        calls.push(n ?? 0)
        return Promise.resolve()
      }
      Object.defineProperty(WorkerNavigator.prototype, 'setAppBadge', { value: spy, configurable: true })
    })
    const blank = await context.newPage()
    const cdp = await context.newCDPSession(blank)
    const registration = await registrationId(cdp)

    // The train enters the tunnel: Ferry is closed, the network gone.
    await alice.page.close()
    // The worker may list a closed window for a moment (visible, showing the room: no notification then).
    await expect
      .poll(
        () =>
          worker.evaluate(
            async () =>
              (
                await (self as unknown as ServiceWorkerGlobalScope).clients.matchAll({
                  type: 'window',
                  includeUncontrolled: true,
                })
              ).length,
          ),
        { timeout: LONG },
      )
      .toBe(0)
    await context.setOffline(true)
    // Two messages; only the second is pushed (the first's push was lost, or collapsed by the push service).
    await bobSays('the ferry is late')
    const pushed = await bobSays('the ferry leaves at seven')
    const payload: PushPayload = {
      v: 1,
      roomId,
      roomName: 'Harbour',
      seq: pushed.seq,
      authorName: bobName,
      preview: pushed.body!,
      mention: false,
      unread: 2,
      sentAt: pushed.createdAt,
      event: pushed,
    }
    await cdp.send('ServiceWorker.deliverPushMessage', {
      origin: server.url,
      registrationId: registration,
      data: JSON.stringify(payload),
    })
    // Junk from anywhere changes nothing and shows nothing.
    await cdp.send('ServiceWorker.deliverPushMessage', {
      origin: server.url,
      registrationId: registration,
      data: '{"v":1}',
    })

    // What the worker showed and the badge it set, read from the worker running now (a failure says why).
    const outcome = async () => {
      const running = context.serviceWorkers().find((w) => w.url().startsWith(server.url))
      if (!running) return 'no service worker running'
      try {
        return await running.evaluate(async () => ({
          notifications: (await (self as unknown as ServiceWorkerGlobalScope).registration.getNotifications()).map(
            (n) => ({ title: n.title, body: n.body, tag: n.tag, data: n.data }),
          ),
          badge: (self as unknown as { badgeCalls?: number[] }).badgeCalls ?? 'the spy is gone: the worker restarted',
        }))
      } catch (error) {
        return `the worker did not answer: ${String(error)}`
      }
    }
    await expect.poll(outcome, { timeout: LONG }).toEqual({
      notifications: [
        {
          title: 'Harbour',
          body: `${bobName}: the ferry leaves at seven`,
          tag: roomId,
          data: { roomId, seq: pushed.seq },
        },
      ],
      badge: [2],
    })

    // Tapping it, offline: the address the click handler opens (its choice is unit-tested in push-click).
    const page = await context.newPage()
    page.on('console', (message) => {
      if (message.type() === 'warning' || message.type() === 'error') console.warn('[page]', message.text())
    })
    await page.goto(`${server.url}/rooms/${roomId}?at=${pushed.seq}`)
    const target = page.locator(`[role=log] li.msg--target[data-seq="${pushed.seq}"]`)
    await target.waitFor({ timeout: LONG })
    await expect.poll(() => target.locator('.msg__body').textContent()).toBe('the ferry leaves at seven')
    await expect
      .poll(() => page.evaluate(() => document.activeElement?.getAttribute('data-seq')))
      .toBe(String(pushed.seq))
    // The message before it was never pushed: not on the device, and not taken as held.
    expect(await sentTexts(page)).toEqual(['who is on the six o’clock?', 'the ferry leaves at seven'])

    // Out of the tunnel: the hole is filled from the server, in order.
    await context.setOffline(false)
    await expect
      .poll(() => sentTexts(page), { timeout: LONG })
      .toEqual(['who is on the six o’clock?', 'the ferry is late', 'the ferry leaves at seven'])
  })
})

describe('muting a room', () => {
  it('applies at once offline, survives an offline reload, and reaches the server when back', async () => {
    const { context } = alice
    // Online, whatever the test before left.
    await context.setOffline(false)
    const page = await context.newPage()
    await page.goto(`${server.url}/rooms/${roomId}`)
    await waitForStatus(page, /^Up to date$/)
    await context.setOffline(true)
    await waitForStatus(page, 'Offline')
    await page.getByRole('button', { name: 'Room options' }).click()
    await page.getByRole('radio', { name: 'Only mentions' }).check()
    await page.keyboard.press('Escape')
    await page.getByRole('button', { name: 'Back to rooms' }).click()
    await page.getByRole('link', { name: /^Harbour\. .*\. muted, mentions only$/ }).waitFor({ timeout: LONG })

    await page.reload()
    await page.getByRole('link', { name: /^Harbour\. .*\. muted, mentions only$/ }).waitFor({ timeout: LONG })
    const levels = async () =>
      (await (await page.request.get(`${server.url}/api/notifications`)).json()) as { rooms: unknown[] }
    // The API request context is not the browser's network: it reaches the server while the page is offline.
    expect((await levels()).rooms).toEqual([])

    await context.setOffline(false)
    await expect.poll(async () => (await levels()).rooms, { timeout: LONG }).toEqual([{ roomId, level: 'mentions' }])
  })
})

describe('a notification tapped while Ferry is open', () => {
  it('the worker asks the open window to show the message, and it opens the room there without a reload', async () => {
    const { context } = alice
    await context.setOffline(false)
    const page = await context.newPage()
    await page.goto(server.url)
    await page.getByRole('heading', { name: 'Rooms' }).waitFor({ timeout: LONG })
    await waitForServiceWorker(page)
    await page.evaluate(() => {
      Object.assign(window, { loadedOnce: true })
    })
    // The tap can reach the page before the message does (the socket's delivery to this device
    // still on its way): forced here, the tap names Bob's next message before he sends it.
    const { room } = await apiCall<{ room: Room }>(server.url, bobCookie, 'GET', `/api/rooms/${roomId}`)
    const seq = room.lastSeq + 1
    // What the click handler does with a window it picked (sw/click.ts; the choice is unit-tested).
    // Posted to this page's window only, by the worker running now (one seen earlier may have been
    // stopped since), and known to be posted: a post to nobody would leave the wait below waiting.
    const url = page.url()
    const postFromWorker = async () => {
      const running = context.serviceWorkers().filter((w) => w.url().startsWith(server.url))
      for (const worker of running.reverse()) {
        try {
          return await worker.evaluate(
            async ({ roomId, seq, url }) => {
              const windows = await (self as unknown as ServiceWorkerGlobalScope).clients.matchAll({ type: 'window' })
              const mine = windows.filter((w) => w.url === url)
              for (const w of mine) w.postMessage({ type: 'open-message', roomId, seq })
              return mine.length > 0 ? 'posted' : `no window at ${url} among ${windows.map((w) => w.url).join(', ')}`
            },
            { roomId, seq, url },
          )
        } catch (error) {
          console.warn('[test] a service worker did not answer; trying the next', String(error))
        }
      }
      return 'no service worker answered'
    }
    await expect.poll(postFromWorker, { timeout: LONG }).toBe('posted')
    await page.waitForURL(`${server.url}/rooms/${roomId}`, { timeout: LONG })
    const said = await bobSays('see you on deck')
    expect(said.seq).toBe(seq)
    const target = page.locator(`[role=log] li.msg--target[data-seq="${said.seq}"]`)
    await target.waitFor({ timeout: LONG })
    expect(await target.locator('.msg__body').textContent()).toBe('see you on deck')
    expect(new URL(page.url()).pathname).toBe(`/rooms/${roomId}`)
    // The same document: navigated inside the app, not reloaded.
    expect(await page.evaluate(() => (window as unknown as { loadedOnce?: boolean }).loadedOnce)).toBe(true)
  })
})

describe('the focus frame', () => {
  it('names the open room on the socket, null on the list, and again on a new socket', async () => {
    const { context } = alice
    await context.setOffline(false)
    // One Ferry tab: it leads, so the socket (and its frames) is its own.
    for (const open of context.pages()) if (open.url().startsWith(server.url)) await open.close()
    const page = await context.newPage()
    const sent: string[] = []
    page.on('websocket', (ws) =>
      ws.on('framesent', ({ payload }) => {
        if (typeof payload === 'string' && payload.includes('"focus"')) sent.push(payload)
      }),
    )
    const focusOf = (roomIdOrNull: string | null) => JSON.stringify({ type: 'focus', roomId: roomIdOrNull })
    await page.goto(`${server.url}/rooms/${roomId}`)
    await waitForStatus(page, /^Up to date$/)
    await expect.poll(() => sent.at(-1), { timeout: LONG }).toBe(focusOf(roomId))
    await page.getByRole('button', { name: 'Back to rooms' }).click()
    await expect.poll(() => sent.at(-1), { timeout: LONG }).toBe(focusOf(null))
    await page.getByRole('link', { name: /^Harbour\./ }).click()
    await expect.poll(() => sent.at(-1), { timeout: LONG }).toBe(focusOf(roomId))
    // A new socket (the network dropped) is told again.
    const before = sent.length
    await context.setOffline(true)
    await waitForStatus(page, 'Offline')
    await context.setOffline(false)
    await waitForStatus(page, /^Up to date$/)
    await expect.poll(() => sent.slice(before), { timeout: LONG }).toEqual([focusOf(roomId)])
  })
})

describe('the notifications banner', () => {
  it('comes after the first message only, and not again after a dismissal, a reload, or a logout and login', async () => {
    const carol = await launchBrowser()
    const { page } = carol
    const carolName = uniqueName('carol')
    await signUp(page, server.url, carolName)
    const quay = await createRoom(page, 'Quay')
    const offer = page.getByRole('button', { name: 'Get notified of new messages' })
    expect(await offer.count()).toBe(0)
    await sendMessage(page, 'first')
    await offer.waitFor({ timeout: LONG })
    await page.getByRole('region', { name: 'Notifications' }).getByRole('button', { name: 'Dismiss' }).click()
    await offer.waitFor({ state: 'detached', timeout: LONG })

    // The banner's history is in IndexedDB: a reload, then a send (acked, so the offer had its turn), and no banner.
    await page.reload()
    await waitForStatus(page, /^Up to date$/)
    await sendMessage(page, 'after a reload')
    await expect.poll(() => sentTexts(page), { timeout: LONG }).toEqual(['first', 'after a reload'])
    expect(await offer.count()).toBe(0)

    // Logout wipes the user stores, not the banner's history.
    await page.getByRole('button', { name: /^Account: / }).click()
    await page.getByRole('button', { name: 'Log out' }).click()
    await page.getByRole('button', { name: 'Log in', exact: true }).waitFor({ timeout: LONG })
    await page.getByLabel('Username').fill(carolName)
    await page.getByLabel('Password').fill(PASSWORD)
    await page.getByRole('button', { name: 'Log in', exact: true }).click()
    await page.getByRole('heading', { name: 'Rooms' }).waitFor({ timeout: LONG })
    await openRoom(page, server.url, quay)
    await waitForStatus(page, /^Up to date$/)
    await sendMessage(page, 'after logging in again')
    await expect
      .poll(() => sentTexts(page), { timeout: LONG })
      .toEqual(['first', 'after a reload', 'after logging in again'])
    expect(await offer.count()).toBe(0)
    await carol.close()
  })
})
