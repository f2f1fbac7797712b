/**
 * Issue 8 item 11, the render of a cold offline start (docs/CLIENT.md, "Cold start"): the first
 * frame shows only the newest rows of the cached room (what fits the screen) with the newest message
 * at the bottom, and on a phone no hidden room list; the rest of the first page follows without
 * moving what the person sees, older entries reachable by scrolling. A room with unread messages
 * still lands at its divider (issue 8 item 6). In real Chromium at 390×844, offline.
 */
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Room } from '../../shared/schemas.ts'
import { apiCall, LONG, signUp, signUpByApi, uniqueName, waitForServiceWorker, waitForStatus } from './support/app.ts'
import { type Browser, cleanUp, type FerryServer, startWithPhone } from './support/ferry.ts'

let server: FerryServer
let phone: Browser
let ann: string
let ben: string
let room: Room
const annName = uniqueName('ann')
const ROOM_NAME = 'Long harbour'
/** The page a room opens with (state/feed.ts TIMELINE_PAGE): the cold start's whole first screen. */
const PAGE = 50

const call = <T>(cookie: string, method: string, path: string, body?: unknown) =>
  apiCall<T>(server.url, cookie, method, path, body)
const post = (cookie: string, body: string) =>
  call(cookie, 'POST', `/api/rooms/${room.id}/messages`, { clientId: crypto.randomUUID(), body })

/**
 * Installed before any page script: at the first render of message rows, what the DOM holds then
 * (message rows, the newest one's text, the room list's links), and in the next frame where the list
 * is scrolled and where the newest message and the unread divider sit in it.
 */
const FIRST_FRAME_PROBE = `
  window.__first = null
  window.__where = () => {
    const log = document.querySelector('[role=log]')
    const top = log.getBoundingClientRect().top
    const divider = log.querySelector('li[data-divider]')
    return {
      fromBottom: log.scrollHeight - log.scrollTop - log.clientHeight,
      newestTop: [...log.querySelectorAll('li.msg')].at(-1).getBoundingClientRect().top - top,
      dividerTop: divider ? divider.getBoundingClientRect().top - top : null,
    }
  }
  new MutationObserver((_, observer) => {
    const rows = document.querySelectorAll('[role=log] li.msg')
    if (rows.length === 0) return
    observer.disconnect()
    const first = {
      rows: rows.length,
      newest: rows[rows.length - 1].textContent,
      roomLinks: document.querySelectorAll('nav.sidebar a').length,
    }
    requestAnimationFrame(() => {
      window.__first = { ...first, ...window.__where() }
    })
  }).observe(document, { childList: true, subtree: true })
`

interface Where {
  fromBottom: number
  newestTop: number
  dividerTop: number | null
}
type First = Where & { rows: number; newest: string; roomLinks: number }

const first = (page: Page) => page.evaluate(() => (window as unknown as { __first: First | null }).__first)
const where = (page: Page) => page.evaluate(() => (window as unknown as { __where: () => Where }).__where())
const rowCount = (page: Page) => page.locator('[role=log] li.msg').count()

/** Whether the message with this text lies wholly inside the list's visible part. */
function inView(page: Page, text: string): Promise<boolean> {
  return page
    .locator('[role=log] li.msg')
    .filter({ hasText: text })
    .evaluate((el) => {
      const r = el.getBoundingClientRect()
      const list = el.closest('[role=log]')!.getBoundingClientRect()
      return r.top >= list.top - 1 && r.bottom <= list.bottom + 1
    })
}

/** The first-screen record (db/first-screen.ts) holds this text: the next cold start paints from it. */
function recordHolds(page: Page, text: string): Promise<boolean> {
  return page.evaluate(async (wanted) => {
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const request = indexedDB.open('ferry')
      request.onsuccess = () => resolve(request.result)
      request.onerror = () => reject(request.error)
    })
    try {
      const record = await new Promise<{ room: { entries: Array<{ body: string | null }> } | null } | undefined>(
        (resolve, reject) => {
          const request = db.transaction('firstScreen').objectStore('firstScreen').get('me')
          request.onsuccess = () => resolve(request.result)
          request.onerror = () => reject(request.error)
        },
      )
      return (record?.room?.entries ?? []).some((e) => e.body === wanted)
    } finally {
      db.close()
    }
  }, text)
}

/** A new document at the room's link, offline; resolves with the first frame's probe when the whole first page is there. */
async function coldStartOffline(page: Page, newest: string): Promise<First> {
  await page.goto('about:blank')
  await phone.context.setOffline(true)
  await page.goto(`${server.url}/rooms/${room.id}`)
  await expect.poll(() => first(page), { timeout: LONG }).not.toBeNull()
  await expect.poll(() => rowCount(page), { timeout: LONG }).toBe(PAGE)
  await waitForStatus(page, 'Offline')
  const at = (await first(page))!
  // The first frame with messages already has the newest one.
  expect(at.newest).toContain(newest)
  return at
}

beforeAll(async () => {
  // 80 messages and then 25 more in bursts: the per-user send rate is raised so the test waits on nothing.
  ;({ server, phone } = await startWithPhone({ WS_SEND_RATE_PER_SECOND: '1000', WS_SEND_BURST: '1000' }))
  ben = await signUpByApi(server.url, uniqueName('ben'))
  await signUp(phone.page, server.url, annName)
  const session = (await phone.context.cookies(server.url)).find((c) => c.name === 'ferry_session')!
  ann = `${session.name}=${session.value}`
  room = (await call<{ room: Room }>(ben, 'POST', '/api/rooms', { name: ROOM_NAME, visibility: 'private' })).room
  await call(ben, 'POST', `/api/rooms/${room.id}/members`, { username: annName })
  // Two people taking turns, so rows differ (author names on Ben's, Ann's own on the right).
  for (let i = 1; i <= 80; i += 1) await post(i % 3 === 0 ? ann : ben, `line ${String(i).padStart(2, '0')}`)
  const listed = (await call<{ rooms: Room[] }>(ann, 'GET', '/api/rooms')).rooms.find((r) => r.id === room.id)!
  await call(ann, 'POST', `/api/rooms/${room.id}/read`, { seq: listed.lastSeq })
  await phone.page.addInitScript(FIRST_FRAME_PROBE)
})

afterAll(async () => {
  await phone.context.setOffline(false)
  await cleanUp()
})

describe('the render of a cold offline start (issue 8 item 11)', () => {
  it('first frame: the newest rows at the bottom and no hidden room list; then the whole first page, nothing moved', async () => {
    const page = phone.page
    await page.goto(`${server.url}/rooms/${room.id}`)
    await page.getByRole('log').getByText('line 80').waitFor({ timeout: LONG })
    await waitForStatus(page, /^Up to date$/)
    await waitForServiceWorker(page)
    await expect.poll(() => recordHolds(page, 'line 80'), { timeout: LONG }).toBe(true)

    try {
      const at = await coldStartOffline(page, 'line 80')
      // Only what fits the screen, the newest at the bottom; the room list (hidden on a phone) not yet built.
      expect(at.rows).toBeGreaterThan(0)
      expect(at.rows).toBeLessThan(PAGE)
      expect(at.fromBottom).toBeLessThan(2)
      expect(at.roomLinks).toBe(0)
      // Then the rest of the page, above, without moving what is on screen.
      const after = await where(page)
      expect(after.fromBottom).toBeLessThan(2)
      expect(Math.abs(after.newestTop - at.newestTop)).toBeLessThan(1)
      await expect.poll(() => page.locator('nav.sidebar a', { hasText: ROOM_NAME }).count()).toBe(1)
      // The oldest entry of the page is there by scrolling up.
      await page.getByRole('log').evaluate((el) => {
        el.scrollTop = 0
      })
      await expect.poll(() => inView(page, 'line 31'), { timeout: LONG }).toBe(true)
    } finally {
      await phone.context.setOffline(false)
    }
  })

  it('with unread messages it still lands at the divider, and stays there as the rest of the page comes', async () => {
    const page = phone.page
    // Ann in the room but reading further up while Ben writes 25: unread for her, and held on the device.
    await page.goto(`${server.url}/rooms/${room.id}`)
    await waitForStatus(page, /^Up to date$/)
    await page.getByRole('log').evaluate((el) => {
      el.scrollTop = el.scrollHeight - el.clientHeight - 400
    })
    for (let i = 1; i <= 25; i += 1) await post(ben, `new ${String(i).padStart(2, '0')}`)
    await page.getByRole('button', { name: /25 new/ }).waitFor({ timeout: LONG })
    await expect.poll(() => recordHolds(page, 'new 25'), { timeout: LONG }).toBe(true)

    try {
      const at = await coldStartOffline(page, 'new 25')
      const divider = page.getByRole('separator', { name: '25 new messages' })
      expect(await divider.count()).toBe(1)
      expect(at.rows).toBeLessThan(PAGE)
      // Landed: the divider near the top, the first unread one on screen, the newest below the fold.
      expect(at.dividerTop).not.toBeNull()
      expect(at.dividerTop!).toBeGreaterThanOrEqual(0)
      expect(at.dividerTop!).toBeLessThan(200)
      const after = await where(page)
      expect(Math.abs(after.dividerTop! - at.dividerTop!)).toBeLessThan(1)
      expect(await inView(page, 'new 01')).toBe(true)
      expect(await inView(page, 'new 25')).toBe(false)
      // Older, read entries above the divider are there by scrolling up.
      await page.getByRole('log').evaluate((el) => {
        el.scrollTop = 0
      })
      await expect.poll(() => inView(page, 'line 56'), { timeout: LONG }).toBe(true)
    } finally {
      await phone.context.setOffline(false)
    }
  })
})
