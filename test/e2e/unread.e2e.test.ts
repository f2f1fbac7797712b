/**
 * Issue 8 item 6 in real Chromium on a phone (390×844): a room with unread messages opens at the
 * first of them under an "N new messages" divider, the read marker follows reading (not all read
 * at once), "↓ N new" appears for arrivals while reading further up, and a room with nothing
 * unread opens at the bottom; tapping "↓ N new" moves focus to the first new message (never while
 * the person writes otherwise). Then the same at desktop width (1280). Ben acts through the HTTP
 * API; Ann uses the phone.
 */
import type { Locator, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Room } from '../../shared/schemas.ts'
import { apiCall, LONG, sendMessage, signUp, signUpByApi, uniqueName, waitForStatus } from './support/app.ts'
import { type Browser, cleanUp, type FerryServer, startWithPhone } from './support/ferry.ts'

let server: FerryServer
let phone: Browser
let ben: string
let room: Room
const annName = uniqueName('ann')
const benName = uniqueName('ben')

const call = <T>(cookie: string, method: string, path: string, body?: unknown) =>
  apiCall<T>(server.url, cookie, method, path, body)

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

const isFocused = (locator: Locator) => locator.evaluate((el) => el === document.activeElement)

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
  ;({ server, phone } = await startWithPhone({ WS_SEND_RATE_PER_SECOND: '1000', WS_SEND_BURST: '1000' }))
  ben = await signUpByApi(server.url, benName)
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

  it('scrolled up when 2 arrive: "↓ 2 new" appears; tapping it goes to the bottom, focus lands on the first new message, and it goes away', async () => {
    const page = phone.page
    await scrollLog(page, 'top')
    // Ann is writing a reply: arrivals never take her out of the message box.
    const composer = page.getByRole('textbox', { name: 'Message' })
    await composer.focus()
    await page.keyboard.type('half a reply')
    await post('arrival 1')
    await post('arrival 2')
    const button = page.getByRole('button', { name: '2 new messages: scroll down' })
    await button.waitFor({ timeout: LONG })
    expect(await button.textContent()).toMatch(/^↓ 2 new/)
    expect(await atBottom(page)).toBe(false)
    expect(await isFocused(composer)).toBe(true)
    // Arrivals while reading further up are not read yet.
    await expect.poll(async () => (await annOnServer(page)).unreadCount, { timeout: LONG }).toBe(2)

    await button.click()
    await expect.poll(() => atBottom(page), { timeout: LONG }).toBe(true)
    await expect.poll(() => inView(message(page, 'arrival 2')), { timeout: LONG }).toBe(true)
    // Where the eyes go, focus goes: a screen reader reads on from the first new message.
    await expect.poll(() => isFocused(message(page, 'arrival 1')), { timeout: LONG }).toBe(true)
    await expect.poll(() => button.count(), { timeout: LONG }).toBe(0)
    await expect.poll(async () => (await annOnServer(page)).unreadCount, { timeout: LONG }).toBe(0)
  })

  it('one’s own message sent from further up goes to the bottom, and the message box keeps focus', async () => {
    const page = phone.page
    await scrollLog(page, 'top')
    expect(await atBottom(page)).toBe(false)
    await sendMessage(page, 'my reply at the end')
    await expect.poll(() => atBottom(page), { timeout: LONG }).toBe(true)
    await expect.poll(() => inView(message(page, 'my reply at the end')), { timeout: LONG }).toBe(true)
    expect(await isFocused(page.getByRole('textbox', { name: 'Message' }))).toBe(true)
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

describe('the same at desktop width (1280×800: the list beside a centred reading column)', () => {
  it('opens at the first unread under its divider, and "↓ 2 new" used from the keyboard lands focus on the first new one', async () => {
    const page = phone.page
    await page.setViewportSize({ width: 1280, height: 800 })
    try {
      // No room open: the list beside an empty main area.
      await page.goto(server.url)
      await page.getByRole('heading', { name: 'Rooms' }).waitFor({ timeout: LONG })
      await waitForStatus(page, /^Up to date$/)
      for (let i = 1; i <= 30; i += 1) await post(`desk unread ${String(i).padStart(2, '0')}`)
      await page.getByRole('img', { name: '30 unread' }).waitFor({ timeout: LONG })

      await roomLink(page).click()
      const divider = page.getByRole('separator', { name: '30 new messages' })
      await divider.waitFor({ timeout: LONG })
      await expect.poll(() => inView(divider), { timeout: LONG }).toBe(true)
      await expect.poll(() => inView(message(page, 'desk unread 01')), { timeout: LONG }).toBe(true)
      expect(await inView(message(page, 'desk unread 30'))).toBe(false)
      // The list stays beside the room, its badge there until the reading catches up.
      expect(await page.getByRole('heading', { name: 'Rooms' }).isVisible()).toBe(true)

      await scrollLog(page, 'top')
      await post('desk arrival 1')
      await post('desk arrival 2')
      const button = page.getByRole('button', { name: '2 new messages: scroll down' })
      await button.waitFor({ timeout: LONG })
      await button.focus()
      await page.keyboard.press('Enter')
      await expect.poll(() => isFocused(message(page, 'desk arrival 1')), { timeout: LONG }).toBe(true)
      await expect.poll(() => inView(message(page, 'desk arrival 1')), { timeout: LONG }).toBe(true)
      // Shown to a keyboard user: the row matches :focus-visible (styles.css draws its outline).
      expect(await message(page, 'desk arrival 1').evaluate((el) => el.matches(':focus-visible'))).toBe(true)
      await scrollLog(page, 'bottom')
      await expect.poll(async () => (await annOnServer(page)).unreadCount, { timeout: LONG }).toBe(0)
    } finally {
      await page.setViewportSize({ width: 390, height: 844 })
    }
  })
})
