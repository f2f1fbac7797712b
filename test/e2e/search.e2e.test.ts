/**
 * Issue 12, search end to end in real Chromium on a phone (390×844): online, a room with a few
 * hundred messages (seeded through the API), a word from a message far back in its history is
 * found on the server, and tapping the result opens the room on that message (highlighted, in
 * view), which the device has never held before. Then offline: the same search answers from the
 * device, and the screen says so.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Message, Room } from '../../shared/schemas.ts'
import {
  apiCall,
  joinRoom,
  LONG,
  signUp,
  signUpByApi,
  uniqueName,
  waitForServiceWorker,
  waitForStatus,
} from './support/app.ts'
import { type Browser, cleanUp, type FerryServer, startWithPhone } from './support/ferry.ts'

let server: FerryServer
let phone: Browser
let room: Room
/** The far-back message: far older than the page a room opens with (50). */
let farBack: Message
/** A message in the newest page, which the device holds from opening the room. */
let recent: Message
const TOTAL = 300
const FAR_BACK_AT = 12
const RECENT_AT = 290

/** One message by the holder of `cookie`; a `rate_limited` answer waits as long as the server says and sends again. */
async function post(cookie: string, body: string): Promise<Message> {
  for (;;) {
    const res = await fetch(`${server.url}/api/rooms/${room.id}/messages`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/json' },
      body: JSON.stringify({ clientId: crypto.randomUUID(), body }),
    })
    if (res.status === 429) {
      await new Promise((resolve) => setTimeout(resolve, Number(res.headers.get('retry-after') ?? 1) * 1000))
      continue
    }
    expect(res.status, body).toBeLessThan(300)
    return ((await res.json()) as { message: Message }).message
  }
}

beforeAll(async () => {
  // A device catching up a room past this many entries gets a reset and the newest page, not the
  // whole log (as in a room with a long history): the far-back message stays off the device.
  ;({ server, phone } = await startWithPhone({ RESUME_MAX_EVENTS: '40' }))
  await signUp(phone.page, server.url, uniqueName('ann'))
  // Several writers, so a few hundred messages go in a few seconds under the per-person send rate.
  const writers = await Promise.all(['ben', 'cai', 'dia'].map((name) => signUpByApi(server.url, uniqueName(name))))
  const [ben] = writers as [string, ...string[]]
  room = (await apiCall<{ room: Room }>(server.url, ben, 'POST', '/api/rooms', { name: 'Depot', visibility: 'public' }))
    .room
  for (const cookie of writers.slice(1)) await apiCall(server.url, cookie, 'POST', `/api/rooms/${room.id}/join`, {})
  // In order, one batch of writers at a time.
  for (let i = 1; i <= TOTAL; i += writers.length) {
    const batch = writers.map(async (cookie, k) => {
      const n = i + k
      if (n > TOTAL) return null
      const body =
        n === FAR_BACK_AT
          ? 'Bring the marmalade to the depot gate before dawn'
          : n === RECENT_AT
            ? 'the quay stall sells marmalade now'
            : `routine message ${n} about the tide`
      return { n, message: await post(cookie, body) }
    })
    for (const sent of await Promise.all(batch)) {
      if (sent?.n === FAR_BACK_AT) farBack = sent.message
      if (sent?.n === RECENT_AT) recent = sent.message
    }
  }
  await joinRoom(phone.page, server.url, room.id)
  await waitForServiceWorker(phone.page)
  await waitForStatus(phone.page, /^Up to date$/)
}, 5 * LONG)

afterAll(cleanUp)

describe('search', () => {
  it('online: finds a message far back on the server, and its result opens the room on it', async () => {
    const { page } = phone
    // The device holds the newest page only: the far-back message is not on it.
    expect(await page.locator(`[role=log] li[data-seq="${farBack.seq}"]`).count()).toBe(0)
    await page.getByRole('button', { name: 'Back to rooms' }).click()
    await page.getByRole('button', { name: 'Search messages' }).click()
    const field = page.getByRole('searchbox', { name: 'Search messages' })
    await expect.poll(() => field.evaluate((el) => el === document.activeElement)).toBe(true)
    expect(await page.getByRole('search', { name: 'Messages' }).count()).toBe(1)
    await field.fill('marmalade')
    const results = page.getByRole('list', { name: 'Results' }).getByRole('link')
    await expect.poll(() => results.count(), { timeout: LONG }).toBe(2)
    expect(new URL(page.url()).search).toBe('?q=marmalade')
    await expect
      .poll(() => page.getByRole('status').filter({ hasText: 'found' }).textContent())
      .toBe('2 messages found')
    expect(await page.getByText('Searching messages on this device').count()).toBe(0)
    // Newest first: the recent one, then the far-back one, each with the word marked.
    const far = results.nth(1)
    expect(await far.getAttribute('href')).toBe(`/rooms/${room.id}?at=${farBack.seq}`)
    expect(await far.locator('.search-hit__room').textContent()).toBe('Depot')
    expect(await far.locator('.search-hit__snippet').textContent()).toBe(farBack.body)
    expect(await far.locator('mark').allTextContents()).toEqual(['marmalade'])
    expect(await results.nth(0).locator('.search-hit__snippet').textContent()).toBe(recent.body)

    await far.click()
    const target = page.locator(`[role=log] li.msg--target[data-seq="${farBack.seq}"]`)
    await target.waitFor({ timeout: LONG })
    expect(new URL(page.url()).pathname).toBe(`/rooms/${room.id}`)
    await expect.poll(() => target.locator('.msg__body').textContent()).toBe(farBack.body)
    await expect
      .poll(() =>
        target.evaluate((el) => {
          const box = el.getBoundingClientRect()
          const log = el.closest('[role=log]')!.getBoundingClientRect()
          return box.top >= log.top && box.bottom <= log.bottom
        }),
      )
      .toBe(true)

    // Back returns to the search as it was.
    await page.goBack()
    await expect.poll(() => results.count(), { timeout: LONG }).toBe(2)
    expect(await field.inputValue()).toBe('marmalade')
  })

  it('offline: searches the messages on the device, and says so', async () => {
    const { page, context } = phone
    await context.setOffline(true)
    await waitForStatus(page, 'Offline')
    const field = page.getByRole('searchbox', { name: 'Search messages' })
    await field.fill('')
    await field.fill('marmalade depot')
    await page.getByText('Searching messages on this device').waitFor({ timeout: LONG })
    const results = page.getByRole('list', { name: 'Results' }).getByRole('link')
    // The far-back message reached the device with the page around it when its result was opened.
    await expect.poll(() => results.count(), { timeout: LONG }).toBe(1)
    expect(await results.first().getAttribute('href')).toBe(`/rooms/${room.id}?at=${farBack.seq}`)
    expect(await results.first().locator('mark').allTextContents()).toEqual(['marmalade', 'depot'])
    await expect
      .poll(() => page.getByRole('status').filter({ hasText: 'found' }).textContent())
      .toBe('1 message found on this device')
    // The newest page was on the device from opening the room.
    await field.fill('stall')
    await expect
      .poll(() => results.first().getAttribute('href'), { timeout: LONG })
      .toBe(`/rooms/${room.id}?at=${recent.seq}`)
    expect(await page.getByText('Searching messages on this device').count()).toBe(1)
    await context.setOffline(false)
  })

  it('a cache from before the index: after a reload the leader fills it, and the device finds what it held', async () => {
    const { page, context } = phone
    // What the version-8 upgrade leaves on a device that cached messages under version 7: an empty
    // index and its fill pending (client/search/fill.ts).
    await page.evaluate(
      () =>
        new Promise<void>((resolve, reject) => {
          const open = indexedDB.open('ferry')
          open.onerror = () => reject(open.error)
          open.onsuccess = () => {
            const tx = open.result.transaction(['search', 'searchFill'], 'readwrite')
            tx.objectStore('search').clear()
            tx.objectStore('searchFill').put({ v: 1, after: null }, 'me')
            tx.oncomplete = () => {
              open.result.close()
              resolve()
            }
            tx.onerror = () => reject(tx.error)
          }
        }),
    )
    await page.goto(`${server.url}/search?q=`)
    const fillPending = () =>
      page.evaluate(
        () =>
          new Promise<boolean>((resolve, reject) => {
            const open = indexedDB.open('ferry')
            open.onerror = () => reject(open.error)
            open.onsuccess = () => {
              const get = open.result.transaction('searchFill').objectStore('searchFill').get('me')
              get.onsuccess = () => {
                resolve(get.result !== undefined)
                open.result.close()
              }
              get.onerror = () => reject(get.error)
            }
          }),
      )
    await expect.poll(fillPending, { timeout: LONG }).toBe(false)
    await context.setOffline(true)
    await waitForStatus(page, 'Offline')
    const field = page.getByRole('searchbox', { name: 'Search messages' })
    await field.fill('marmalade depot')
    await page.getByText('Searching messages on this device').waitFor({ timeout: LONG })
    const results = page.getByRole('list', { name: 'Results' }).getByRole('link')
    await expect.poll(() => results.count(), { timeout: LONG }).toBe(1)
    expect(await results.first().getAttribute('href')).toBe(`/rooms/${room.id}?at=${farBack.seq}`)
    expect(await page.getByText('Still indexing older messages on this device').count()).toBe(0)
    await context.setOffline(false)
  })
})
