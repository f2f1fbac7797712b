/**
 * Issue 8 item 11: a cold offline start paints from one saved first-screen record, then from the
 * stores. In real Chromium (its IndexedDB, its service worker): the record is written while the app
 * runs and used by the next cold start offline; after logging out and someone else signing in on
 * the same device, no cold start ever shows a word of the first person's screen.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createRoom,
  LONG,
  sendMessage,
  signUp,
  uniqueName,
  waitForServiceWorker,
  waitForStatus,
  waitUntil,
} from './support/app.ts'
import { type Browser, buildClient, cleanUp, type FerryServer, launchBrowser, startFerry } from './support/ferry.ts'

let server: FerryServer
let phone: Browser

// Every text the page ever shows, gathered from before its first script runs.
const WATCH_TEXT = `
  window.__seen = ''
  new MutationObserver(() => {
    if (document.body) window.__seen += '\\n' + document.body.textContent
  }).observe(document, { childList: true, subtree: true, characterData: true })
`

/** The saved record as the page's IndexedDB holds it (null when there is none). */
function savedRecord(page: Browser['page']): Promise<{ userId: string; roomBodies: string[] } | null> {
  return page.evaluate(async () => {
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const request = indexedDB.open('ferry')
      request.onsuccess = () => resolve(request.result)
      request.onerror = () => reject(request.error)
    })
    try {
      const record = await new Promise<{ userId: string; room: { entries: Array<{ body: string | null }> } | null }>(
        (resolve, reject) => {
          const request = db.transaction('firstScreen').objectStore('firstScreen').get('me')
          request.onsuccess = () => resolve(request.result)
          request.onerror = () => reject(request.error)
        },
      )
      return record
        ? { userId: record.userId, roomBodies: (record.room?.entries ?? []).map((e) => e.body ?? '') }
        : null
    } finally {
      db.close()
    }
  })
}

beforeAll(async () => {
  server = await startFerry(await buildClient())
  phone = await launchBrowser()
})

afterAll(cleanUp)

describe('the first screen saved for a cold start', () => {
  it('is written while the app runs and paints the next cold start offline', async () => {
    const page = phone.page
    await signUp(page, server.url, uniqueName('alice'))
    const roomId = await createRoom(page, 'Alice cabin')
    await sendMessage(page, 'alice only knows this')
    await waitForStatus(page, /^Up to date$/)
    await waitForServiceWorker(page)
    await expect
      .poll(async () => (await savedRecord(page))?.roomBodies, { timeout: LONG })
      .toContain('alice only knows this')

    await phone.context.setOffline(true)
    try {
      await page.goto(`${server.url}/rooms/${roomId}`)
      await page.getByRole('log').getByText('alice only knows this').waitFor({ timeout: LONG })
      // The saved record painted first (the normal read follows it).
      await waitUntil(
        () => page.evaluate(() => performance.getEntriesByName('ferry:first-screen').length === 1),
        'the first-screen mark',
      )
      await waitForStatus(page, 'Offline')
    } finally {
      await phone.context.setOffline(false)
    }
  })

  it('after a logout, someone else on the device never sees a word of it, on any cold start', async () => {
    const page = phone.page
    const aliceRoom = new URL(page.url()).pathname
    await page.goto(server.url)
    await waitForStatus(page, /^Up to date$/)
    await page.getByRole('button', { name: /^Account: / }).click()
    await page.getByRole('button', { name: 'Log out' }).click()
    await page.getByRole('button', { name: 'Log in', exact: true }).waitFor({ timeout: LONG })
    expect(await savedRecord(page)).toBeNull()

    const bobName = uniqueName('bob')
    await signUp(page, server.url, bobName)
    await createRoom(page, 'Bob deck')
    await sendMessage(page, 'bob was here')
    await waitForStatus(page, /^Up to date$/)
    await expect.poll(async () => (await savedRecord(page))?.roomBodies, { timeout: LONG }).toContain('bob was here')

    await page.addInitScript(WATCH_TEXT)
    await phone.context.setOffline(true)
    try {
      for (const [path, shown] of [
        ['/', page.getByRole('link', { name: /Bob deck/ })],
        [aliceRoom, page.getByText('This room is not on this device yet. Connect to open it.')],
      ] as const) {
        await page.goto(`${server.url}${path}`)
        await shown.waitFor({ timeout: LONG })
        await waitForStatus(page, 'Offline')
        const seen = await page.evaluate(() => (window as unknown as { __seen: string }).__seen)
        expect(seen).toContain(bobName)
        expect(seen).not.toContain('Alice cabin')
        expect(seen).not.toContain('alice only knows this')
      }
    } finally {
      await phone.context.setOffline(false)
    }
  })
})
