/**
 * Issue 8, item 9 (layout), in real Chromium at 390×844 and 1280×800: the room header's member
 * and online counts (live as a second person connects and goes), the members sheet over the
 * messages (which do not move), folded long messages, the centred reading column at desktop
 * width, and empty states that say what to do next. Ann uses the browser; Ben acts through the
 * HTTP API and a bare WebSocket (his presence).
 */
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { apiCall, createRoom, LONG, sentTexts, signUp, signUpByApi, uniqueName, waitForStatus } from './support/app.ts'
import { type Browser, cleanUp, type FerryServer, startWithPhone } from './support/ferry.ts'

const PHONE = { width: 390, height: 844 }
const DESKTOP = { width: 1280, height: 800 }

let server: FerryServer
let phone: Browser
let ben: string
let roomId: string
const annName = uniqueName('ann')
const benName = uniqueName('ben')

/** Ben with the room open somewhere: a socket subscribed to it (he counts as online while it lives). */
async function benConnects(): Promise<WebSocket> {
  const ws = new WebSocket(`${server.url.replace(/^http/, 'ws')}/api/ws`, {
    headers: { cookie: ben, origin: server.url },
  })
  await new Promise<void>((resolve, reject) => {
    ws.once('message', () => resolve()) // hello
    ws.once('error', reject)
  })
  ws.send(JSON.stringify({ type: 'subscribe', rooms: [{ roomId, after: 0 }] }))
  return ws
}

const subtitle = (page: Page) => page.locator('.room-view__subtitle').textContent()
const box = (page: Page, selector: string) =>
  page.locator(selector).evaluate((el) => {
    const r = el.getBoundingClientRect()
    return { left: r.left, right: r.right, top: r.top, bottom: r.bottom, width: r.width, height: r.height }
  })

beforeAll(async () => {
  ;({ server, phone } = await startWithPhone())
  ben = await signUpByApi(server.url, benName)
})

afterAll(async () => {
  await cleanUp()
})

describe('empty states say what to do next', () => {
  it('no rooms yet (list at 390 px, main area at 1280 px), then a new room with no messages offers to write', async () => {
    const page = phone.page
    await signUp(page, server.url, annName)
    await page.getByRole('navigation', { name: 'Rooms' }).getByText('No rooms yet').waitFor({ timeout: LONG })
    expect(await page.locator('.room-list').textContent()).toContain('Start one with New room above')
    expect(await page.locator('.room-list').textContent()).toContain('find public rooms to join with Discover')
    await page.setViewportSize(DESKTOP)
    try {
      const main = page.getByRole('main')
      await main.getByRole('heading', { name: 'Start a conversation' }).waitFor({ timeout: LONG })
      expect(await main.textContent()).toContain('You are in no rooms yet. Start one with New room')
      // Its action: the public rooms to join.
      await main.getByRole('button', { name: 'Find public rooms' }).click()
      await page.getByLabel('Search public rooms').waitFor({ timeout: LONG })
      await page.goto(server.url)
      await page.getByRole('heading', { name: 'Rooms' }).waitFor({ timeout: LONG })
    } finally {
      await page.setViewportSize(PHONE)
    }
    roomId = await createRoom(page, 'Quay')
    await page.getByRole('log').getByText('No messages yet').waitFor({ timeout: LONG })
    await page.getByRole('button', { name: 'Write the first message' }).click()
    await expect
      .poll(() => page.evaluate(() => document.activeElement?.getAttribute('aria-label') ?? document.activeElement?.id))
      .toMatch(/composer-input|Message/)
  })
})

describe('the room header', () => {
  beforeAll(async () => {
    // Made by the test above; made here if that one failed first, so each test below stands on its own.
    if (!roomId) {
      await phone.page.goto(server.url)
      roomId = await createRoom(phone.page, 'Quay')
    }
  })

  it('says "Public · 2 members · 1 online", and the online count follows Ben connecting and leaving', async () => {
    const page = phone.page
    await apiCall(server.url, ben, 'POST', `/api/rooms/${roomId}/join`)
    await page.goto(`${server.url}/rooms/${roomId}`)
    await waitForStatus(page, /^Up to date$/)
    await expect.poll(() => subtitle(page), { timeout: LONG }).toBe('Public · 2 members · 1 online')
    const ws = await benConnects()
    try {
      await expect.poll(() => subtitle(page), { timeout: LONG }).toBe('Public · 2 members · 2 online')
    } finally {
      ws.close()
    }
    await expect.poll(() => subtitle(page), { timeout: LONG }).toBe('Public · 2 members · 1 online')
    // Offline, who is here is not known: the count goes rather than say something untrue.
    await phone.context.setOffline(true)
    try {
      await waitForStatus(page, 'Offline')
      await expect.poll(() => subtitle(page), { timeout: LONG }).toBe('Public · 2 members')
    } finally {
      await phone.context.setOffline(false)
    }
    await expect.poll(() => subtitle(page), { timeout: LONG }).toBe('Public · 2 members · 1 online')
  })

  it('at 320 px the name and every count show, the name whole', async () => {
    const page = phone.page
    await page.setViewportSize({ width: 320, height: 700 })
    try {
      const title = page.locator('.room-view__title')
      expect(await title.evaluate((el) => el.scrollWidth <= el.clientWidth)).toBe(true)
      const sub = await box(page, '.room-view__subtitle')
      const head = await box(page, '.room-view__head')
      expect(sub.right).toBeLessThanOrEqual(head.right)
      expect(await subtitle(page)).toContain('1 online')
    } finally {
      await page.setViewportSize(PHONE)
    }
  })
})

/** Opens the sheet and checks it covers the messages without moving them; Escape closes it and focus returns. */
async function membersSheetOverlays(page: Page): Promise<void> {
  const before = await box(page, '[role=log]')
  const members = page.getByRole('button', { name: 'Members' })
  await members.click()
  const sheet = page.getByRole('dialog', { name: 'Members' })
  await sheet.waitFor({ timeout: LONG })
  await expect.poll(() => sheet.getByRole('listitem').count(), { timeout: LONG }).toBe(2)
  expect(await sheet.textContent()).toContain('2 members · 1 online')
  expect(await box(page, '[role=log]')).toEqual(before)
  const over = await box(page, 'dialog.sheet')
  // It lies over the message list (the two rectangles overlap), not beside or above it.
  expect(over.top < before.bottom && over.bottom > before.top).toBe(true)
  expect(over.left < before.right && over.right > before.left).toBe(true)
  // Focus is inside the sheet; the page under it is inert.
  expect(await page.evaluate(() => document.activeElement?.closest('dialog') !== null)).toBe(true)
  expect(await page.evaluate(() => getComputedStyle(document.documentElement).overflow)).toBe('hidden')
  await page.keyboard.press('Escape')
  await sheet.waitFor({ state: 'detached', timeout: LONG })
  expect(await members.evaluate((el) => el === document.activeElement)).toBe(true)
  // A closed dialog leaves the accessibility tree at once; the button's state follows on the next render.
  await expect.poll(() => members.getAttribute('aria-expanded')).toBe('false')
  expect(await page.locator('dialog').count()).toBe(0)
  expect(await box(page, '[role=log]')).toEqual(before)
}

describe('members as a sheet over the messages', () => {
  it('at 390 px: a bottom sheet over the timeline, which does not move; Escape closes it, focus back on Members', async () => {
    const page = phone.page
    await post(ben, 'a message so the log has something in it')
    await expect.poll(() => sentTexts(page), { timeout: LONG }).toContain('a message so the log has something in it')
    await membersSheetOverlays(page)
    const sheet = page.getByRole('dialog', { name: 'Members' })
    // The close button closes it too.
    await page.getByRole('button', { name: 'Members' }).click()
    await sheet.waitFor({ timeout: LONG })
    const rect = await box(page, 'dialog.sheet')
    expect(rect.bottom).toBeCloseTo(PHONE.height, 0)
    await sheet.getByRole('button', { name: 'Close' }).click()
    await sheet.waitFor({ state: 'detached', timeout: LONG })
  })

  it('at 1280 px: a panel over the room, the same way', async () => {
    const page = phone.page
    await page.setViewportSize(DESKTOP)
    try {
      await membersSheetOverlays(page)
    } finally {
      await page.setViewportSize(PHONE)
    }
  })
})

function post(cookie: string, body: string): Promise<unknown> {
  return apiCall(server.url, cookie, 'POST', `/api/rooms/${roomId}/messages`, { clientId: crypto.randomUUID(), body })
}

describe('long messages fold', () => {
  it('a 60-line message shows its first lines with Show more, unfolds in place, and Show less folds it again', async () => {
    const page = phone.page
    const lines = Array.from({ length: 60 }, (_, i) => `line ${i + 1} of the long one`)
    await post(ben, lines.join('\n'))
    const row = page.locator('[role=log] li[data-state=sent]').filter({ hasText: 'line 60 of the long one' })
    await row.waitFor({ timeout: LONG })
    const text = row.locator('.msg__text')
    const lineHeight = await text.evaluate((el) => Number.parseFloat(getComputedStyle(el).lineHeight))
    const folded = await text.evaluate((el) => el.getBoundingClientRect().height)
    expect(folded).toBeLessThanOrEqual(lineHeight * 15 + 1)
    const more = row.getByRole('button', { name: 'Show more' })
    expect(await more.getAttribute('aria-expanded')).toBe('false')
    // Keyboard: focus and Enter.
    await more.focus()
    await page.keyboard.press('Enter')
    const less = row.getByRole('button', { name: 'Show less' })
    await less.waitFor({ timeout: LONG })
    expect(await less.getAttribute('aria-expanded')).toBe('true')
    expect(await text.evaluate((el) => el.getBoundingClientRect().height)).toBeGreaterThanOrEqual(lineHeight * 60 - 1)
    // Unfolding grew the message downwards: its top did not move.
    await less.click()
    await row.getByRole('button', { name: 'Show more' }).waitFor({ timeout: LONG })
    expect(await text.evaluate((el) => el.getBoundingClientRect().height)).toBeCloseTo(folded, 0)
    // After folding, the button is still in view inside the message list (the reader keeps their place).
    const inView = await row.getByRole('button', { name: 'Show more' }).evaluate((el) => {
      const b = el.getBoundingClientRect()
      const log = (el.closest('[role=log]') as HTMLElement).getBoundingClientRect()
      return b.top >= log.top && b.bottom <= log.bottom
    })
    expect(inView).toBe(true)
  })
})

describe('desktop width', () => {
  it('at 1280 px the messages and the composer are a centred column of at most 720 px beside the room list', async () => {
    const page = phone.page
    await page.setViewportSize(DESKTOP)
    try {
      const main = await box(page, 'main')
      const list = await box(page, '.messages__list')
      const sidebar = await box(page, 'nav.sidebar')
      expect(sidebar.right).toBeLessThanOrEqual(main.left + 1)
      expect(list.width).toBeLessThanOrEqual(720)
      expect(list.width).toBeGreaterThan(600)
      expect(Math.abs(list.left - main.left - (main.right - list.right))).toBeLessThanOrEqual(2)
      const composer = await box(page, '.composer textarea')
      expect(composer.left).toBeGreaterThanOrEqual(list.left - 1)
      expect(composer.right).toBeLessThanOrEqual(list.right + 1)
      // Leaving the room at desktop width: the main area says what to do.
      await page.goto(server.url)
      await page.getByRole('main').getByRole('heading', { name: 'No room open' }).waitFor({ timeout: LONG })
      expect(await page.getByRole('main').textContent()).toContain('Choose a room from the list')
    } finally {
      await page.setViewportSize(PHONE)
    }
  })
})
