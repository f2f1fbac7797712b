/**
 * Issue 8 item 6 in real Chromium on a phone (390×844): a room with unread messages opens at the
 * first of them under an "N new messages" divider, the read marker follows reading (not all read
 * at once), "↓ N new" appears for arrivals while reading further up, and a room with nothing
 * unread opens at the bottom. Ben acts through the HTTP API; Ann uses the phone.
 */
import type { Locator, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Room } from '../../shared/schemas.ts'
import { LONG, PASSWORD, sendMessage, signUp, uniqueName, waitForStatus } from './support/app.ts'
import { type Browser, buildClient, cleanUp, type FerryServer, launchBrowser, startFerry } from './support/ferry.ts'

let server: FerryServer
let phone: Browser
let ben: string
let room: Room
const annName = uniqueName('ann')
const benName = uniqueName('ben')

async function call<T>(cookie: string, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { cookie, ...(method === 'GET' ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  expect(res.status, `${method} ${path}`).toBeLessThan(300)
  return (res.status === 204 ? undefined : await res.json()) as T
}

const post = (body: string) =>
  call(ben, 'POST', `/api/rooms/${room.id}/messages`, { clientId: crypto.randomUUID(), body })

/** Ann's room row as the server has it (her read marker and unread count), read with the phone's cookie. */
async function annOnServer(page: Page): Promise<Room> {
  const res = await page.request.get(`${server.url}/api/rooms`)
  expect(res.status()).toBe(200)
  const { rooms } = (await res.json()) as { rooms: Room[] }
  return rooms.find((r) => r.id === room.id)!
}

/** The message with this text, on screen. */
const message = (page: Page, text: string) => page.locator('[role=log] li.msg').filter({ hasText: text })

/** Whether the element lies wholly inside the message list's visible part. */
function inView(locator: Locator): Promise<boolean> {
  return locator.evaluate((el) => {
    const r = el.getBoundingClientRect()
    const list = el.closest('[role=log]')!.getBoundingClientRect()
    return r.top >= list.top - 1 && r.bottom <= list.bottom + 1
  })
}

const atBottom = (page: Page) =>
  page.getByRole('log').evaluate((el) => el.scrollHeight - el.scrollTop - el.clientHeight < 2)

/** Scrolls the message list as a finger would end up (one scroll event), then lets a frame pass. */
async function scrollLog(page: Page, to: 'top' | 'bottom'): Promise<void> {
  await page.getByRole('log').evaluate((el, where) => {
    el.scrollTop = where === 'top' ? 0 : el.scrollHeight
  }, to)
  await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))))
}

async function toRoomList(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Back to rooms' }).click()
  await page.getByRole('heading', { name: 'Rooms' }).waitFor({ timeout: LONG })
}

const roomLink = (page: Page) => page.getByRole('link', { name: /^Unread harbour/ })

beforeAll(async () => {
  // Ben writes 30 and more in a burst: the per-user send rate is raised so the test waits on nothing.
  server = await startFerry(await buildClient(), { WS_SEND_RATE_PER_SECOND: '1000', WS_SEND_BURST: '1000' })
  phone = await launchBrowser()
  const res = await fetch(`${server.url}/api/auth/signup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: benName, password: PASSWORD }),
  })
  expect(res.status).toBe(201)
  ben = res.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ')
  await signUp(phone.page, server.url, annName)
  room = (await call<{ room: Room }>(ben, 'POST', '/api/rooms', { name: 'Unread harbour', visibility: 'private' })).room
  await call(ben, 'POST', `/api/rooms/${room.id}/members`, { username: annName })
  for (let i = 1; i <= 3; i += 1) await post(`read before ${i}`)
})

afterAll(async () => {
  await cleanUp()
})

describe('a room with unread messages (issue 8 item 6)', () => {
  it('3 unread that fit on the screen: "3 new messages" above them, the newest in view, all read', async () => {
    const page = phone.page
    await page.getByRole('img', { name: '3 unread' }).waitFor({ timeout: LONG })
    await roomLink(page).click()
    const divider = page.getByRole('separator', { name: '3 new messages' })
    await divider.waitFor({ timeout: LONG })
    await expect.poll(() => inView(divider), { timeout: LONG }).toBe(true)
    await expect.poll(() => inView(message(page, 'read before 3')), { timeout: LONG }).toBe(true)
    // Nothing further to scroll to: the person sees the live end, so all of it is read.
    await expect.poll(async () => (await annOnServer(page)).unreadCount, { timeout: LONG }).toBe(0)
    await toRoomList(page)
  })

  it('30 arrived while away: opens at the first unread under "30 new messages"; the marker follows reading', async () => {
    const page = phone.page
    await waitForStatus(page, /^Up to date$/)
    for (let i = 1; i <= 30; i += 1) await post(`unread ${String(i).padStart(2, '0')}`)
    await page.getByRole('img', { name: '30 unread' }).waitFor({ timeout: LONG })
    const before = await annOnServer(page)
    expect(before.unreadCount).toBe(30)

    await roomLink(page).click()
    const divider = page.getByRole('separator', { name: '30 new messages' })
    await divider.waitFor({ timeout: LONG })
    await expect.poll(() => inView(divider), { timeout: LONG }).toBe(true)
    await expect.poll(() => inView(message(page, 'unread 01')), { timeout: LONG }).toBe(true)
    expect(await inView(message(page, 'unread 30'))).toBe(false)
    // The divider sits near the top: most of the screen shows unread messages, not old ones.
    const top = await divider.evaluate(
      (el) => el.getBoundingClientRect().top - el.closest('[role=log]')!.getBoundingClientRect().top,
    )
    expect(top).toBeLessThan(200)

    // What is on screen is read (posted once the burst settles), the rest not: never 0 before the end.
    await expect
      .poll(async () => (await annOnServer(page)).lastReadSeq, { timeout: LONG })
      .toBeGreaterThan(before.lastReadSeq)
    const partly = await annOnServer(page)
    expect(partly.lastReadSeq).toBeLessThan(before.lastSeq)
    expect(partly.unreadCount).toBeGreaterThan(0)
    await expect.poll(() => page.title()).toMatch(/^\(\d+\) Unread harbour · Ferry$/)

    // The divider stays where it was while reading on; at the end everything is read.
    await scrollLog(page, 'bottom')
    await expect.poll(() => inView(message(page, 'unread 30')), { timeout: LONG }).toBe(true)
    await expect.poll(async () => (await annOnServer(page)).unreadCount, { timeout: LONG }).toBe(0)
    expect((await annOnServer(page)).lastReadSeq).toBe(before.lastSeq)
    await expect.poll(() => page.title(), { timeout: LONG }).toBe('Unread harbour · Ferry')
    expect(await page.getByRole('separator', { name: '30 new messages' }).count()).toBe(1)
  })

  it('scrolled up when 2 arrive: "↓ 2 new" appears; tapping it goes to the bottom and it goes away', async () => {
    const page = phone.page
    await scrollLog(page, 'top')
    await post('arrival 1')
    await post('arrival 2')
    const button = page.getByRole('button', { name: '2 new messages: scroll down' })
    await button.waitFor({ timeout: LONG })
    expect(await button.textContent()).toMatch(/^↓ 2 new/)
    expect(await atBottom(page)).toBe(false)
    // Arrivals while reading further up are not read yet.
    await expect.poll(async () => (await annOnServer(page)).unreadCount, { timeout: LONG }).toBe(2)

    await button.click()
    await expect.poll(() => atBottom(page), { timeout: LONG }).toBe(true)
    await expect.poll(() => inView(message(page, 'arrival 2')), { timeout: LONG }).toBe(true)
    await expect.poll(() => button.count(), { timeout: LONG }).toBe(0)
    await expect.poll(async () => (await annOnServer(page)).unreadCount, { timeout: LONG }).toBe(0)
  })

  it('one’s own message sent from further up goes to the bottom', async () => {
    const page = phone.page
    await scrollLog(page, 'top')
    expect(await atBottom(page)).toBe(false)
    await sendMessage(page, 'my reply at the end')
    await expect.poll(() => atBottom(page), { timeout: LONG }).toBe(true)
    await expect.poll(() => inView(message(page, 'my reply at the end')), { timeout: LONG }).toBe(true)
  })

  it('with nothing unread the room opens at the bottom, and the divider of the last visit is gone', async () => {
    const page = phone.page
    await toRoomList(page)
    expect(await page.getByRole('img', { name: /unread/ }).count()).toBe(0)
    await roomLink(page).click()
    await message(page, 'my reply at the end').waitFor({ timeout: LONG })
    await expect.poll(() => atBottom(page), { timeout: LONG }).toBe(true)
    expect(await inView(message(page, 'my reply at the end'))).toBe(true)
    expect(await page.getByRole('separator', { name: /new message/ }).count()).toBe(0)
  })
})
