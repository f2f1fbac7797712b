/**
 * Issue 12 item 2 in real Chromium on a phone: a room opened at a message 300 back in its history
 * (`/rooms/<id>?at=<seq>`, as a search result opens it) while the device holds only the live end
 * (Ann joined after the 400 were written, and the backlog was a `reset`, not replayed) lands on
 * that message with one `around=` request, highlighted and focused, with messages around it; scrolling down then
 * brings newer pages (the server's for the hole, then the device's) until the live end, in
 * order and with no message missing.
 */
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Message, Room } from '../../shared/schemas.ts'
import { apiCall, LONG, sentTexts, signUp, signUpByApi, uniqueName, waitForStatus } from './support/app.ts'
import { type Browser, cleanUp, type FerryServer, startWithPhone } from './support/ferry.ts'

const COUNT = 400
const label = (i: number) => `harbour log ${String(i).padStart(3, '0')}`

let server: FerryServer
let phone: Browser
let ben: string
let room: Room
/** The seq of each message by its number (1..COUNT). */
const seqOf = new Map<number, number>()

const call = <T>(cookie: string, method: string, path: string, body?: unknown) =>
  apiCall<T>(server.url, cookie, method, path, body)

/** Scrolls the message list to its end (one scroll event), then lets a frame pass. */
async function scrollToEnd(page: Page): Promise<void> {
  await page.getByRole('log').evaluate((el) => {
    el.scrollTop = el.scrollHeight
  })
  await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))))
}

beforeAll(async () => {
  // RESUME_MAX_EVENTS: the 400 missed are a `reset`, not replayed, so the device holds only what it pages in.
  ;({ server, phone } = await startWithPhone({
    WS_SEND_RATE_PER_SECOND: '1000',
    WS_SEND_BURST: '1000',
    RESUME_MAX_EVENTS: '100',
  }))
  ben = await signUpByApi(server.url, uniqueName('ben'))
  const annName = uniqueName('ann')
  await signUp(phone.page, server.url, annName)
  room = (await call<{ room: Room }>(ben, 'POST', '/api/rooms', { name: 'Long harbour', visibility: 'private' })).room
  for (let i = 1; i <= COUNT; i += 1) {
    const { message } = await call<{ message: Message }>(ben, 'POST', `/api/rooms/${room.id}/messages`, {
      clientId: crypto.randomUUID(),
      body: label(i),
    })
    seqOf.set(i, message.seq)
  }
  // Ann comes in afterwards: her device never heard these live.
  await call(ben, 'POST', `/api/rooms/${room.id}/members`, { username: annName })
})

afterAll(async () => {
  await cleanUp()
})

describe('opening a room at a message far back (issue 12 item 2)', () => {
  it('lands on it with its neighbours, then scrolling down reaches the live end with nothing missing', async () => {
    const page = phone.page
    // The device holds the live end: the room opened once, its newest page stored.
    await page.getByRole('link', { name: /^Long harbour/ }).click()
    await page
      .locator('[role=log] li.msg')
      .filter({ hasText: label(COUNT) })
      .waitFor({ timeout: LONG })
    await waitForStatus(page, /^Up to date$/)

    const far = COUNT - 300
    const seq = seqOf.get(far)!
    const history: string[] = []
    page.on('request', (request) => {
      if (request.url().includes(`/api/rooms/${room.id}/messages?`)) history.push(new URL(request.url()).search)
    })
    await page.goto(`${server.url}/rooms/${room.id}?at=${seq}`)
    const target = page.locator(`[role=log] li.msg--target[data-seq="${seq}"]`)
    await target.waitFor({ timeout: LONG })
    await expect.poll(() => target.locator('.msg__body').textContent()).toBe(label(far))
    await expect.poll(() => page.evaluate(() => document.activeElement?.getAttribute('data-seq'))).toBe(String(seq))
    // One page around it, not page after page back from the newest.
    expect(history).toEqual([`?around=${seq}&limit=100`])
    // Its neighbours both ways are in the window.
    for (const i of [far - 1, far + 1]) {
      expect(await page.locator(`[role=log] li[data-seq="${seqOf.get(i)}"]`).count()).toBe(1)
    }

    // Down to the live end: each page comes in as the person reaches the bottom.
    await expect
      .poll(
        async () => {
          await scrollToEnd(page)
          return (await sentTexts(page)).at(-1)
        },
        { timeout: LONG, interval: 200 },
      )
      .toBe(label(COUNT))
    // Every row's text, rendered or not yet (rows far off screen have no innerText).
    const texts = await page.locator('[role=log] li[data-state=sent] .msg__body').allTextContents()
    const first = Number(texts[0]!.slice(-3))
    expect(texts).toEqual(Array.from({ length: COUNT - first + 1 }, (_, i) => label(first + i)))
  })
})
