/**
 * The rest of the room and session: who is here and who is typing, a frozen
 * leader tab replaced by another, logging out with messages still waiting,
 * and the service worker's Background Sync flush with every tab closed.
 */
import type { CDPSession, Page, WebSocketRoute } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createRoom,
  joinRoom,
  LONG,
  openRoom,
  PASSWORD,
  sendMessage,
  sentTexts,
  serverBodies,
  signUp,
  uniqueName,
  waitForServiceWorker,
  waitForStatus,
  waitingTexts,
  waitUntil,
} from './support/app.ts'
import { type Browser, buildClient, cleanUp, type FerryServer, launchBrowser, startFerry } from './support/ferry.ts'

let server: FerryServer
let alice: Browser
let bob: Browser
let aliceName: string
let bobName: string

beforeAll(async () => {
  server = await startFerry(await buildClient())
  ;[alice, bob] = await Promise.all([launchBrowser(), launchBrowser()])
  aliceName = uniqueName('alice')
  bobName = uniqueName('bob')
  await signUp(alice.page, server.url, aliceName)
  await signUp(bob.page, server.url, bobName)
})

afterAll(cleanUp)

/** The room's messages as the server's log stores them, oldest first (member notices left out). */
async function serverEvents(page: Page, roomId: string): Promise<Array<{ clientId: string | null; body: string }>> {
  const res = await page.request.get(`${server.url}/api/rooms/${roomId}/events?after=0&limit=500`)
  expect(res.status()).toBe(200)
  const { events } = (await res.json()) as { events: Array<{ kind: string; clientId: string | null; body: string }> }
  return events.filter((e) => e.kind === 'message.created')
}

function expectEachOnce(events: Array<{ clientId: string | null; body: string }>): void {
  const clientIds = events.map((e) => e.clientId).filter((id) => id !== null)
  expect(new Set(clientIds).size).toBe(clientIds.length)
  const bodies = events.map((e) => e.body)
  expect(new Set(bodies).size).toBe(bodies.length)
}

/** Reads every object store of the `ferry` database from the page: { store: record count }. */
function storeCounts(page: Page): Promise<Record<string, number>> {
  return page.evaluate(async () => {
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const request = indexedDB.open('ferry')
      request.onsuccess = () => resolve(request.result)
      request.onerror = () => reject(request.error)
    })
    const names = [...db.objectStoreNames]
    const tx = db.transaction(names)
    const counts = await Promise.all(
      names.map(
        (name) =>
          new Promise<[string, number]>((resolve, reject) => {
            const request = tx.objectStore(name).count()
            request.onsuccess = () => resolve([name, request.result])
            request.onerror = () => reject(request.error)
          }),
      ),
    )
    db.close()
    return Object.fromEntries(counts)
  })
}

describe('presence and typing', () => {
  let roomId: string

  it('the member list shows both people and marks the other online, then offline when their page closes', async () => {
    roomId = await createRoom(alice.page, 'Lounge')
    await joinRoom(bob.page, server.url, roomId)
    await Promise.all([waitForStatus(alice.page, /^Up to date$/), waitForStatus(bob.page, /^Up to date$/)])

    await alice.page.getByRole('button', { name: 'Members' }).click()
    const members = alice.page.getByRole('dialog', { name: 'Members' })
    const bobRow = members.getByRole('listitem').filter({ hasText: bobName })
    const aliceRow = members.getByRole('listitem').filter({ hasText: aliceName })
    await bobRow.getByRole('img', { name: 'online' }).waitFor({ timeout: LONG })
    await aliceRow.getByRole('img', { name: 'online' }).waitFor({ timeout: LONG })
    expect(await members.getByRole('listitem').count()).toBe(2)

    // Bob closes Ferry: his socket goes, and Alice sees him offline (still a member).
    await bob.page.close()
    await bobRow.getByRole('img', { name: 'offline' }).waitFor({ timeout: LONG })
    expect(await aliceRow.getByRole('img', { name: 'online' }).count()).toBe(1)

    // He comes back.
    bob.page = await bob.context.newPage()
    await openRoom(bob.page, server.url, roomId)
    await bobRow.getByRole('img', { name: 'online' }).waitFor({ timeout: LONG })
    // The member list is a modal sheet: closed, so the room can be used again.
    await alice.page.keyboard.press('Escape')
    await members.waitFor({ state: 'detached', timeout: LONG })
  })

  it('typing shows on the other side and goes away after the TTL, or at once when the message arrives', async () => {
    const indicator = bob.page.locator('p.typing')
    const box = alice.page.getByRole('textbox', { name: 'Message' })
    await waitForStatus(bob.page, /^Up to date$/)

    // Typing without sending: shown, then gone once the signal expires (~5 s).
    await box.fill('Are you on')
    await indicator.filter({ hasText: `${aliceName} is typing…` }).waitFor({ timeout: LONG })
    await waitUntil(async () => (await indicator.textContent()) === '', 'the typing indicator to expire')
    await box.fill('')

    // Typing and sending: the indicator is gone in the same render that shows the message.
    await box.fill('Are you on deck?')
    await indicator.filter({ hasText: `${aliceName} is typing…` }).waitFor({ timeout: LONG })
    // A touch phone: Enter is a new line there, Send sends.
    await alice.page.getByRole('button', { name: 'Send' }).click()
    const seen = await bob.page.waitForFunction(
      () => {
        const bodies = [...document.querySelectorAll('[role=log] li[data-state=sent] .msg__body')]
        if (!bodies.some((b) => b.textContent === 'Are you on deck?')) return null
        return { typing: document.querySelector('p.typing')?.textContent ?? '' }
      },
      null,
      { timeout: LONG, polling: 'raf' },
    )
    expect(await seen.jsonValue()).toEqual({ typing: '' })
  })
})

describe('a frozen leader tab', () => {
  /**
   * Freezes a page the way the browser does: CDP Page.setWebLifecycleState. Chromium under playwright
   * accepts the call but does not freeze the page (no `freeze` event, timers keep running; see
   * microsoft/playwright#35207), so when that happens the freeze is completed by hand: the `freeze`
   * event the browser would fire, then the debugger stops the page's JavaScript (timers, socket and
   * BroadcastChannel handlers) until `thaw`.
   */
  async function freeze(page: Page, cdp: CDPSession): Promise<'browser' | 'emulated'> {
    await cdp.send('Page.setWebLifecycleState', { state: 'frozen' })
    const frozenByBrowser = await page.evaluate(() => (window as { __frozen?: boolean }).__frozen === true)
    if (frozenByBrowser) return 'browser'
    await page.evaluate(async () => {
      document.dispatchEvent(new Event('freeze'))
      // Let the handler's promise reactions (the Web Lock release) run before the page stops.
      await new Promise((resolve) => setTimeout(resolve, 0))
    })
    await cdp.send('Debugger.enable')
    await cdp.send('Debugger.pause')
    return 'emulated'
  }

  async function thaw(page: Page, cdp: CDPSession, how: 'browser' | 'emulated'): Promise<void> {
    await cdp.send('Page.setWebLifecycleState', { state: 'active' })
    if (how === 'browser') return
    await cdp.send('Debugger.resume')
    await cdp.send('Debugger.disable')
    await page.evaluate(() => document.dispatchEvent(new Event('resume')))
  }

  it('another tab takes the socket over; messages go out once; the old tab does not lead again after it thaws', async () => {
    const back = alice.page.getByRole('button', { name: 'Back to rooms' })
    if (await back.isVisible()) await back.click()
    const roomId = await createRoom(alice.page, 'Bridge')
    await joinRoom(bob.page, server.url, roomId)
    await waitForStatus(alice.page, /^Up to date$/)

    const sockets = new Map<Page, Array<{ isClosed(): boolean }>>()
    const track = (page: Page) => {
      sockets.set(page, [])
      page.on('websocket', (ws) => {
        if (new URL(ws.url()).pathname === '/api/ws') sockets.get(page)!.push(ws)
      })
    }
    const open = (page: Page) => (sockets.get(page) ?? []).filter((ws) => !ws.isClosed()).length

    // A fresh leader tab (so its socket is tracked), then a follower.
    const leader = await alice.context.newPage()
    track(leader)
    await leader.addInitScript('document.addEventListener("freeze", () => { window.__frozen = true })')
    await alice.page.close()
    await openRoom(leader, server.url, roomId)
    await waitForStatus(leader, /^Up to date$/)
    await waitUntil(async () => open(leader) === 1, 'the leader to open its socket')
    const follower = await alice.context.newPage()
    track(follower)
    await openRoom(follower, server.url, roomId)
    await waitForStatus(follower, /^Up to date$/)
    expect(open(follower)).toBe(0)

    const cdp = await alice.context.newCDPSession(leader)
    const how = await freeze(leader, cdp)

    // The follower takes the lock and opens its own socket; the frozen tab's socket is closed.
    await waitUntil(async () => open(follower) === 1, 'the follower to open its own socket')
    await waitUntil(async () => open(leader) === 0, "the frozen tab's socket to close")
    await waitForStatus(follower, /^Up to date$/)
    await sendMessage(follower, 'written while the old leader is frozen')
    await expect.poll(() => sentTexts(bob.page), { timeout: LONG }).toEqual(['written while the old leader is frozen'])

    // Thawed, the old tab follows: what it writes is sent once by the new leader.
    await thaw(leader, cdp, how)
    await sendMessage(leader, 'written in the thawed tab')
    await expect
      .poll(() => sentTexts(bob.page), { timeout: LONG })
      .toEqual(['written while the old leader is frozen', 'written in the thawed tab'])
    await expect
      .poll(() => sentTexts(leader), { timeout: LONG })
      .toEqual(['written while the old leader is frozen', 'written in the thawed tab'])
    expect(open(leader)).toBe(0)
    expect(open(follower)).toBe(1)

    const events = await serverEvents(bob.page, roomId)
    expect(events.map((e) => e.body)).toEqual(['written while the old leader is frozen', 'written in the thawed tab'])
    expectEachOnce(events)
    alice.page = follower
    await leader.close()
  })
})

describe('logging out with messages waiting', () => {
  it('warns first; cancelling keeps the outbox; confirming wipes the device and the next person sees nothing of it', async () => {
    const carol = await launchBrowser()
    let socketAllowed = true
    const routes = new Set<WebSocketRoute>()
    await carol.context.routeWebSocket(/\/api\/ws(\?|$)/, (ws) => {
      if (!socketAllowed) return ws.close({ code: 1011, reason: 'blocked by test' })
      routes.add(ws)
      ws.connectToServer()
    })
    const page = carol.page
    const carolName = uniqueName('carol')
    await signUp(page, server.url, carolName)
    await page.getByRole('button', { name: 'New room' }).click()
    await page.getByLabel('Room name').fill('Secret cabin')
    await page.getByLabel('Who can join').selectOption('private')
    await page.getByRole('button', { name: 'Create' }).click()
    await page.waitForURL(/\/rooms\/[0-9a-f-]{36}$/, { timeout: LONG })
    const roomId = new URL(page.url()).pathname.split('/').pop()!
    await sendMessage(page, 'sent before logging out')
    // Acked and out of the outbox before the link goes: "Up to date" alone can show while the
    // outbox write is still landing, and that message would then wait too (3 where 2 are meant).
    await expect.poll(() => sentTexts(page), { timeout: LONG }).toEqual(['sent before logging out'])
    await expect.poll(async () => (await storeCounts(page)).outbox, { timeout: LONG }).toBe(0)
    await waitForStatus(page, /^Up to date$/)

    await carol.context.setOffline(true)
    await waitForStatus(page, 'Offline')
    await sendMessage(page, 'waiting 1')
    await sendMessage(page, 'waiting 2')
    // The whole line, so a passing glance at "2 waiting" on the way to 3 (or a failed one beside) cannot match.
    await waitForStatus(page, /^Offline · 2 waiting to send$/)
    expect((await storeCounts(page)).outbox).toBe(2)

    // Cancel: nothing changes.
    const dialogs: string[] = []
    page.once('dialog', (dialog) => {
      dialogs.push(dialog.message())
      void dialog.dismiss()
    })
    // Log out is in the account menu, which stays open while the app asks (and after a cancel).
    await page.getByRole('button', { name: /^Account: / }).click()
    await page.getByRole('button', { name: 'Log out' }).click()
    await waitUntil(async () => dialogs.length === 1, 'the confirm dialog')
    // The question counts what the status line counts: 2 waiting, none failed.
    expect(dialogs[0]).toBe('2 messages waiting to send will be discarded. Log out anyway?')
    await waitForStatus(page, /^Offline · 2 waiting to send$/)
    expect(await waitingTexts(page)).toEqual(['waiting 1', 'waiting 2'])
    expect((await storeCounts(page)).outbox).toBe(2)

    // Confirmed while offline: signing out needs the server, so the app says so and keeps everything.
    page.once('dialog', (dialog) => void dialog.accept())
    await page.getByRole('button', { name: 'Log out' }).click()
    await page.getByRole('alert').filter({ hasText: 'signing out needs the server' }).waitFor({ timeout: LONG })
    expect((await storeCounts(page)).outbox).toBe(2)

    // Online again, but the socket is cut, so the messages are still waiting when Carol confirms.
    socketAllowed = false
    for (const route of routes) await route.close({ code: 1011, reason: 'cut by test' })
    await carol.context.setOffline(false)
    await waitForStatus(page, /^[^·]+ · 2 waiting to send$/)
    page.once('dialog', (dialog) => void dialog.accept())
    await page.getByRole('button', { name: 'Log out' }).click()
    await page.getByRole('button', { name: 'Log in', exact: true }).waitFor({ timeout: LONG })
    const counts = await storeCounts(page)
    expect(Object.keys(counts)).toEqual(expect.arrayContaining(['session', 'rooms', 'messages', 'outbox', 'cursors']))
    // All but the notifications banner's per-person history, which outlives logout on purpose (docs/PUSH.md).
    const { pushPrompt: _kept, ...wiped } = counts
    expect(Object.values(wiped).every((n) => n === 0)).toBe(true)
    const otherCaches = await page.evaluate(async () =>
      (await caches.keys()).filter((name) => !name.startsWith('workbox-precache')),
    )
    expect(otherCaches).toEqual([])

    // A cold start offline shows the login screen, not Carol's cached rooms.
    socketAllowed = true
    await carol.context.setOffline(true)
    await page.reload()
    await page.getByRole('button', { name: 'Log in', exact: true }).waitFor({ timeout: LONG })
    await carol.context.setOffline(false)

    // Dave signs in on the same device: none of Carol's rooms.
    const daveName = uniqueName('dave')
    await signUp(page, server.url, daveName)
    await page.getByText(daveName).first().waitFor({ timeout: LONG })
    await waitForStatus(page, /^Up to date$/)
    expect(await page.getByRole('link', { name: /Secret cabin/ }).count()).toBe(0)
    await page.getByRole('button', { name: /^Account: / }).click()
    await page.getByRole('button', { name: 'Log out' }).click()
    await page.getByRole('button', { name: 'Log in', exact: true }).waitFor({ timeout: LONG })

    // The discarded messages were never sent: Carol's room holds only what was acked before.
    await page.getByLabel('Username').fill(carolName)
    await page.getByLabel('Password').fill(PASSWORD)
    await page.getByRole('button', { name: 'Log in', exact: true }).click()
    await page.getByRole('heading', { name: 'Rooms' }).waitFor({ timeout: LONG })
    expect(await serverBodies(page, server.url, roomId)).toEqual(['sent before logging out'])
    await carol.close()
  })
})

describe('Background Sync', () => {
  it('with every Ferry tab closed, the service worker flushes the outbox once and in order', async () => {
    const sam = await launchBrowser()
    const page = sam.page
    await signUp(page, server.url, uniqueName('sam'))
    const roomId = await createRoom(page, 'Night crossing')
    await sendMessage(page, 'online before')
    await waitForServiceWorker(page)
    await waitForStatus(page, /^Up to date$/)

    await sam.context.setOffline(true)
    await waitForStatus(page, 'Offline')
    const queued = ['queued 1', 'queued 2', 'queued 3']
    for (const text of queued) await sendMessage(page, text)
    await waitForStatus(page, '3 waiting to send')
    const tags = await page.evaluate(async () => {
      const registration = (await navigator.serviceWorker.ready) as ServiceWorkerRegistration & {
        sync?: { getTags(): Promise<string[]> }
      }
      return (await registration.sync?.getTags()) ?? null
    })
    expect(tags).toContain('ferry-outbox')

    // A blank page keeps the browser (and a CDP session) alive; no Ferry window is left.
    const blank = await sam.context.newPage()
    const cdp = await sam.context.newCDPSession(blank)
    const registrations: Array<{ registrationId: string; scopeURL: string; isDeleted: boolean }> = []
    cdp.on('ServiceWorker.workerRegistrationUpdated', (event) => registrations.push(...event.registrations))
    await cdp.send('ServiceWorker.enable')
    await waitUntil(
      async () => registrations.some((r) => r.scopeURL === `${server.url}/` && !r.isDeleted),
      'the service worker registration',
    )
    const { registrationId } = registrations.find((r) => r.scopeURL === `${server.url}/` && !r.isDeleted)!
    await page.close()

    await sam.context.setOffline(false)
    await cdp.send('ServiceWorker.dispatchSyncEvent', {
      origin: server.url,
      registrationId,
      tag: 'ferry-outbox',
      lastChance: false,
    })
    await expect
      .poll(() => serverBodies(blank, server.url, roomId), { timeout: LONG })
      .toEqual(['online before', ...queued])
    expectEachOnce(await serverEvents(blank, roomId))

    // The worker settled the outbox in IndexedDB: reopened offline, Ferry shows them as sent, none waiting.
    await sam.context.setOffline(true)
    const reopened = await sam.context.newPage()
    await reopened.goto(`${server.url}/rooms/${roomId}`)
    await expect.poll(() => sentTexts(reopened), { timeout: LONG }).toEqual(['online before', ...queued])
    expect(await waitingTexts(reopened)).toEqual([])
    expect((await storeCounts(reopened)).outbox).toBe(0)
    await sam.context.setOffline(false)
    await sam.close()
  })
})
