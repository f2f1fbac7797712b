/**
 * Issue 8 item 8, in real Chromium on a 390×844 touch phone: waiting and
 * failed messages are compact (a clock or a red "!" in the time line, no row
 * of buttons), one line tall when their text is; their actions are in a menu
 * opened by a tap or the keyboard; "Retry all" and "Discard all" act on the
 * room's queue, and what is retried is stored once, in order. Ann owns the
 * room (over HTTP); Ben, on the phone, is a member who is made to leave while
 * offline, so his queued messages are refused for real (`not_member`).
 *
 * Each test starts from its own state: a room of its own and a fresh phone (a new profile, Ben
 * signed up and joined), so a test that fails (offline, or with refused messages in the outbox,
 * which the status line counts on every screen) cannot fail the ones after it.
 */
import type { Locator, Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { Room } from '../../shared/schemas.ts'
import {
  apiCall,
  joinRoom,
  LONG,
  sendMessage,
  sentTexts,
  serverBodies,
  signUp,
  signUpByApi,
  uniqueName,
  waitForStatus,
  waitingTexts,
} from './support/app.ts'
import { type Browser, buildClient, cleanUp, type FerryServer, launchBrowser, startFerry } from './support/ferry.ts'

let server: FerryServer
let ann: string
let phone: Browser
let page: Page
let roomId: string

/** Ben's own session, used from another "device" (node), which the phone's offline switch does not cut. */
async function benCookie(): Promise<string> {
  const cookies = await phone.context.cookies(server.url)
  return cookies.map((c) => `${c.name}=${c.value}`).join('; ')
}

const queued = (text: string) => page.locator('[role=log] li[data-client-id]').filter({ hasText: text })
const menu = () => page.getByRole('menu', { name: 'Message actions' })
const menuItems = () => menu().getByRole('menuitem').allInnerTexts()
const focusedText = () => page.evaluate(() => document.activeElement?.textContent ?? '')
const bar = () => page.getByRole('region', { name: 'Unsent messages' })

/** How a message row is laid out: the time line on the text's last line, the bubble one line tall. */
function layout(row: Locator) {
  return row.evaluate((li) => {
    const body = li.querySelector('.msg__body') as HTMLElement
    const meta = li.querySelector('.msg__meta') as HTMLElement
    const bubble = li.querySelector('.msg__bubble') as HTMLElement
    const lines = body.getClientRects()
    const last = lines[lines.length - 1]!
    const metaBox = meta.getBoundingClientRect()
    const lineHeight = Number.parseFloat(getComputedStyle(body).lineHeight)
    const style = getComputedStyle(bubble)
    const inner =
      bubble.getBoundingClientRect().height -
      Number.parseFloat(style.paddingTop) -
      Number.parseFloat(style.paddingBottom) -
      Number.parseFloat(style.borderTopWidth) -
      Number.parseFloat(style.borderBottomWidth)
    return {
      textLines: lines.length,
      /** The time line overlaps the text's last line vertically (it is on it, not under it). */
      metaOnLastLine: metaBox.top < last.bottom && metaBox.bottom > last.top,
      metaAfterText: metaBox.left >= last.right,
      lines: Math.round(inner / lineHeight),
      buttons: li.querySelectorAll('button').length,
    }
  })
}

beforeAll(async () => {
  server = await startFerry(await buildClient())
  ann = await signUpByApi(server.url, uniqueName('ann'))
})

beforeEach(async () => {
  const { room } = await apiCall<{ room: Room }>(server.url, ann, 'POST', '/api/rooms', {
    name: 'Slipway',
    visibility: 'public',
  })
  roomId = room.id
  phone = await launchBrowser()
  page = phone.page
  await signUp(page, server.url, uniqueName('ben'))
  await joinAnsweredLate(roomId)
  await waitForStatus(page, /^Up to date$/)
})

/**
 * Ben joins from the room's link, in the order a loaded machine once gave (the CI run where "Join
 * this room" never came back): the page asks about the room twice while it opens, and the second
 * answer is read after the join, so it says "member". Held here so every run takes that path.
 */
async function joinAnsweredLate(id: string): Promise<void> {
  const url = `${server.url}/api/rooms/${id}`
  let asked = 0
  let joined: () => void = () => undefined
  const join = new Promise<void>((resolve) => {
    joined = resolve
  })
  const onResponse = (res: { url(): string }) => {
    if (res.url() === `${url}/join`) joined()
  }
  page.on('response', onResponse)
  await page.route(url, async (route) => {
    asked += 1
    if (asked === 2) await join
    await route.continue()
  })
  await joinRoom(page, server.url, id)
  await page.unroute(url)
  page.off('response', onResponse)
}

afterEach(async () => {
  await phone.close()
})

afterAll(async () => {
  await cleanUp()
})

describe('a waiting message', () => {
  it('is one line tall with a clock in its time line and no row of buttons; a tap opens its menu', async () => {
    await phone.context.setOffline(true)
    await waitForStatus(page, 'Offline')
    await sendMessage(page, 'short one')
    const row = queued('short one')
    await row.waitFor({ timeout: LONG })
    expect(await row.getAttribute('data-state')).toBe('waiting')
    // The clock, said in words: the time line's only button.
    const mark = row.getByRole('button', { name: 'Waiting, not sent yet' })
    expect(await mark.locator('svg').count()).toBe(1)
    expect(await layout(row)).toEqual({
      textLines: 1,
      metaOnLastLine: true,
      metaAfterText: true,
      lines: 1,
      buttons: 1,
    })
    expect(await row.locator('time').textContent()).toMatch(/\d/)

    await row.locator('.msg__body').tap()
    await menu().waitFor({ timeout: LONG })
    expect(await menuItems()).toEqual(['Reply', 'Edit', 'Copy text', 'Discard'])
    // The menu opens on its first choice, the row of common reactions (issue 9).
    expect(await focusedText()).toBe('👍')
    expect(await mark.getAttribute('aria-expanded')).toBe('true')
    // Fits the phone, and a 320 px one.
    for (const width of [390, 320]) {
      await page.setViewportSize({ width, height: 700 })
      const box = (await page.locator('.msg-actions').boundingBox())!
      expect(box.x).toBeGreaterThanOrEqual(0)
      expect(box.x + box.width).toBeLessThanOrEqual(width)
    }
    await page.setViewportSize({ width: 390, height: 844 })
    await page.keyboard.press('Escape')
    await menu().waitFor({ state: 'detached', timeout: LONG })
    expect(await page.evaluate(() => document.activeElement?.getAttribute('aria-haspopup'))).toBe('menu')

    // A tap elsewhere closes it too.
    await row.locator('.msg__body').tap()
    await menu().waitFor({ timeout: LONG })
    await page.getByRole('heading', { name: 'Slipway' }).tap()
    await menu().waitFor({ state: 'detached', timeout: LONG })

    await phone.context.setOffline(false)
    await expect.poll(() => sentTexts(page), { timeout: LONG }).toEqual(['short one'])
    // Sent, it keeps the same shape: the time at the end of its one line.
    const sent = page.locator('[role=log] li[data-state=sent]').filter({ hasText: 'short one' })
    expect(await layout(sent)).toMatchObject({ textLines: 1, metaOnLastLine: true, metaAfterText: true, lines: 1 })
    await waitForStatus(page, /^Up to date$/)
  })

  it('keyboard: Enter or the ContextMenu key on its mark opens the menu, arrows move, Edit opens the form', async () => {
    await phone.context.setOffline(true)
    await waitForStatus(page, 'Offline')
    await sendMessage(page, 'by keyboard')
    // By its id: while edited, its text is in a textarea's value, which hasText does not see.
    const row = page.locator(`li[data-client-id="${await queued('by keyboard').getAttribute('data-client-id')}"]`)
    const mark = row.getByRole('button', { name: 'Waiting, not sent yet' })
    await mark.focus()
    await page.keyboard.press('Enter')
    await menu().waitFor({ timeout: LONG })
    // The row of common reactions comes first (issue 9), then the actions.
    expect(await focusedText()).toBe('👍')
    await page.keyboard.press('ArrowDown')
    expect(await focusedText()).toBe('❤️')
    await page.keyboard.press('End')
    expect(await focusedText()).toBe('Discard')
    await page.keyboard.press('ArrowUp')
    expect(await focusedText()).toBe('Copy text')
    await page.keyboard.press('ArrowDown')
    await page.keyboard.press('ArrowDown')
    expect(await focusedText()).toBe('👍')
    await page.keyboard.press('Escape')
    await menu().waitFor({ state: 'detached', timeout: LONG })
    expect(await mark.evaluate((el) => el === document.activeElement)).toBe(true)

    await page.keyboard.press('ContextMenu')
    await menu().waitFor({ timeout: LONG })
    await page.keyboard.press('End')
    await page.keyboard.press('ArrowUp')
    await page.keyboard.press('ArrowUp')
    expect(await focusedText()).toBe('Edit')
    await page.keyboard.press('Enter')
    const edit = row.getByRole('textbox', { name: 'Edit message' })
    await edit.waitFor({ timeout: LONG })
    await expect.poll(() => edit.evaluate((el) => el === document.activeElement), { timeout: LONG }).toBe(true)
    await edit.fill('by keyboard, edited')
    await row.getByRole('button', { name: 'Save' }).click()
    await expect.poll(() => waitingTexts(page), { timeout: LONG }).toEqual(['by keyboard, edited'])

    // Discard from the menu: gone from the screen and never sent.
    await row.getByRole('button', { name: 'Waiting, not sent yet' }).focus()
    await page.keyboard.press('Enter')
    await menu().getByRole('menuitem', { name: 'Discard' }).click()
    await expect.poll(() => waitingTexts(page), { timeout: LONG }).toEqual([])
    await phone.context.setOffline(false)
    await waitForStatus(page, /^Up to date$/)
    expect(await serverBodies(page, server.url, roomId)).toEqual([])
  })
})

describe('failed messages and the queue bar', () => {
  it('failed shows "!" and the reason; Retry all, once allowed again, stores them once and in order', async () => {
    await phone.context.setOffline(true)
    await waitForStatus(page, 'Offline')
    for (const text of ['f1', 'f2', 'f3']) await sendMessage(page, text)
    // Ben leaves from another device while the phone is offline: its sends will be refused.
    await apiCall(server.url, await benCookie(), 'POST', `/api/rooms/${roomId}/leave`)
    await phone.context.setOffline(false)
    await expect.poll(() => page.locator('[role=log] li[data-state=failed]').count(), { timeout: LONG }).toBe(3)

    const row = queued('f2')
    const mark = row.getByRole('button', { name: /^Failed: .+/ })
    // Seen: the red "!" and a short word; heard: the full reason.
    expect((await mark.locator('[aria-hidden=true]').allTextContents()).map((t) => t.trim())).toEqual(['!', 'Failed'])
    const reason = ((await mark.locator('.visually-hidden').textContent()) ?? '').replace(/^Failed:\s*/, '')
    expect(reason.length).toBeGreaterThan(0)
    expect(await layout(row)).toMatchObject({ lines: 1, metaOnLastLine: true, buttons: 1 })
    await row.locator('.msg__body').tap()
    await menu().waitFor({ timeout: LONG })
    expect(await menuItems()).toEqual(['Retry', 'Edit', 'Copy text', 'Discard'])
    expect(await row.locator('.msg-actions__note').textContent()).toBe(`Not sent: ${reason}`)
    await page.keyboard.press('Escape')

    expect(await bar().locator('.queue-bar__text').textContent()).toBe('3 failed')
    // One slim line, at 320 px too: the count and both buttons side by side.
    await page.setViewportSize({ width: 320, height: 640 })
    const tops = await bar()
      .locator(':scope > *')
      .evaluateAll((els) =>
        els.map((el) => Math.round(el.getBoundingClientRect().top + el.getBoundingClientRect().height / 2)),
      )
    expect(new Set(tops.map((t) => Math.round(t / 10))).size).toBe(1)
    await page.setViewportSize({ width: 390, height: 844 })
    // Allowed again, then one tap puts all three back in line.
    await page.getByRole('button', { name: 'Join this room' }).click()
    await bar().getByRole('button', { name: 'Retry all' }).click()
    await expect.poll(() => sentTexts(page), { timeout: LONG }).toEqual(['f1', 'f2', 'f3'])
    expect(await bar().getByRole('status').textContent()).toBe('3 messages put back in line.')
    expect(await page.locator('[role=log] li[data-state=failed]').count()).toBe(0)
    await waitForStatus(page, /^Up to date$/)
    // Stored exactly once each, in the order written.
    expect(await serverBodies(page, server.url, roomId)).toEqual(['f1', 'f2', 'f3'])
  })

  it('Discard all asks first (Cancel keeps them), then discards what is not being sent and says how many', async () => {
    await phone.context.setOffline(true)
    await waitForStatus(page, 'Offline')
    for (const text of ['d1', 'd2']) await sendMessage(page, text)
    await bar().waitFor({ timeout: LONG })
    expect(await bar().locator('.queue-bar__text').textContent()).toBe('2 waiting to send')
    expect(await bar().getByRole('button', { name: 'Retry all' }).count()).toBe(0)

    await bar().getByRole('button', { name: 'Discard all' }).click()
    expect(await bar().getByText('Discard 2 unsent messages?').count()).toBe(1)
    await expect.poll(focusedText, { timeout: LONG }).toBe('Cancel')
    await page.keyboard.press('Enter')
    expect(await waitingTexts(page)).toEqual(['d1', 'd2'])

    await bar().getByRole('button', { name: 'Discard all' }).click()
    await bar().getByRole('button', { name: 'Discard', exact: true }).click()
    await expect.poll(() => waitingTexts(page), { timeout: LONG }).toEqual([])
    expect(await page.getByRole('status').filter({ hasText: '2 messages discarded.' }).count()).toBe(1)

    await phone.context.setOffline(false)
    await waitForStatus(page, /^Up to date$/)
    expect(await serverBodies(page, server.url, roomId)).toEqual([])
  })
})
