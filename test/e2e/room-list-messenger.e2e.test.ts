/**
 * Issue 8 item 7 in real Chromium (390×844 phone): the room list as a messenger shows it
 * (joined rooms only, most recently active first, live; "You:", "Draft: …", relative time,
 * initials), Discover for public rooms to join (search, paging, join opens the room and Back
 * returns, live as rooms are created or joined elsewhere), and a public room opened from a link
 * that the device's list (joined rooms only) drops.
 * One server; Ben and Ann's other device act through the HTTP API.
 */
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Room } from '../../shared/schemas.ts'
import { apiCall, LONG, logInByApi, PASSWORD, signUpByApi, uniqueName, waitForStatus } from './support/app.ts'
import { type Browser, cleanUp, type FerryServer, startWithPhone } from './support/ferry.ts'

let server: FerryServer
let phone: Browser
const annName = uniqueName('ann')
const benName = uniqueName('ben')
let ben: string
let annElsewhere: string

const call = <T>(cookie: string, method: string, path: string, body?: unknown) =>
  apiCall<T>(server.url, cookie, method, path, body)

const createRoomByApi = async (cookie: string, name: string, visibility: 'public' | 'private' = 'public') =>
  (await call<{ room: Room }>(cookie, 'POST', '/api/rooms', { name, visibility })).room

const post = (cookie: string, roomId: string, body: string) =>
  call(cookie, 'POST', `/api/rooms/${roomId}/messages`, { clientId: crypto.randomUUID(), body })

/** The room names in the list, top to bottom, as shown. */
const listedNames = (page: Page) => page.locator('.room-list .room__name > span:first-child').allInnerTexts()
const roomLink = (page: Page, name: string) => page.getByRole('link', { name: new RegExp(`^${name}\\b`) })
const preview = (page: Page, name: string) => roomLink(page, name).locator('.room__preview').textContent()

/** Whether IndexedDB still holds a row for the room. */
function cached(page: Page, roomId: string): Promise<boolean> {
  return page.evaluate(
    (id) =>
      new Promise<boolean>((resolve, reject) => {
        const open = indexedDB.open('ferry')
        open.onerror = () => reject(open.error)
        open.onsuccess = () => {
          const get = open.result.transaction('rooms').objectStore('rooms').getKey(id)
          get.onsuccess = () => {
            resolve(get.result !== undefined)
            open.result.close()
          }
          get.onerror = () => reject(get.error)
        }
      }),
    roomId,
  )
}

beforeAll(async () => {
  ;({ server, phone } = await startWithPhone())
  ;[ben] = await Promise.all([signUpByApi(server.url, benName), signUpByApi(server.url, annName)])
  annElsewhere = await logInByApi(server.url, annName)
  const page = phone.page
  await page.goto(server.url)
  await page.getByLabel('Username').fill(annName)
  await page.getByLabel('Password').fill(PASSWORD)
  await page.getByRole('button', { name: 'Log in', exact: true }).click()
  await page.getByRole('heading', { name: 'Rooms' }).waitFor({ timeout: LONG })
})

afterAll(async () => {
  await cleanUp()
})

describe('the room list, as a messenger shows it', () => {
  let alpha: Room
  let bravo: Room

  it('most recently active first; a message in an older room moves it to the top live, with its time', async () => {
    const page = phone.page
    alpha = await createRoomByApi(annElsewhere, 'Alpha Crew')
    bravo = await createRoomByApi(annElsewhere, 'Bravo')
    await post(annElsewhere, bravo.id, 'first words')
    await call(ben, 'POST', `/api/rooms/${alpha.id}/join`)
    await page.reload()
    // The cached rows paint first (Bravo is newer anyway); the server's list brings the last message.
    await expect.poll(() => preview(page, 'Bravo'), { timeout: LONG }).toBe('You: first words')
    await expect.poll(() => listedNames(page), { timeout: LONG }).toEqual(['Bravo', 'Alpha Crew'])
    expect(await preview(page, 'Alpha Crew')).toBe('No messages yet')
    // Initials on the avatar, hidden from screen readers (the name is said).
    const avatar = roomLink(page, 'Alpha Crew').locator('.avatar')
    expect(await avatar.getAttribute('data-initials')).toBe('AC')
    expect(await avatar.getAttribute('aria-hidden')).toBe('true')
    await waitForStatus(page, /^Up to date$/)
    // No reload from here: the socket brings Ben's message, and the list re-sorts.
    await post(ben, alpha.id, 'ahoy from Ben')
    await expect.poll(() => listedNames(page), { timeout: LONG }).toEqual(['Alpha Crew', 'Bravo'])
    await expect.poll(() => preview(page, 'Alpha Crew'), { timeout: LONG }).toBe(`${benName}: ahoy from Ben`)
    expect(await roomLink(page, 'Alpha Crew').locator('.room__time').textContent()).toBe('now')
    // The link says it all to a screen reader: name, unread, last message, time.
    await expect
      .poll(() => roomLink(page, 'Alpha Crew').getAttribute('aria-label'), { timeout: LONG })
      .toBe(`Alpha Crew. now. ${benName}: ahoy from Ben. 1 unread`)
  })

  it('a message sent here reads "You: …" and brings its room back to the top', async () => {
    const page = phone.page
    await roomLink(page, 'Bravo').click()
    const box = page.getByRole('textbox', { name: 'Message' })
    await box.fill('my reply')
    await page.getByRole('button', { name: 'Send' }).click()
    await page.getByRole('button', { name: 'Back to rooms' }).click()
    await expect.poll(() => listedNames(page), { timeout: LONG }).toEqual(['Bravo', 'Alpha Crew'])
    await expect.poll(() => preview(page, 'Bravo'), { timeout: LONG }).toBe('You: my reply')
  })

  it('text left in a room’s message box shows as "Draft: …" in the list, and goes when sent', async () => {
    const page = phone.page
    await roomLink(page, 'Alpha Crew').click()
    const box = page.getByRole('textbox', { name: 'Message' })
    await box.fill('half a\nthought')
    await page.getByRole('button', { name: 'Back to rooms' }).click()
    await expect.poll(() => preview(page, 'Alpha Crew'), { timeout: LONG }).toBe('Draft: half a thought')
    // A draft just written moves its room up, above Bravo's newer message, with the draft's time.
    await expect.poll(() => listedNames(page), { timeout: LONG }).toEqual(['Alpha Crew', 'Bravo'])
    expect(await roomLink(page, 'Alpha Crew').locator('.room__time').textContent()).toBe('now')
    // Kept on the device: still there after a reload.
    await page.reload()
    await expect.poll(() => preview(page, 'Alpha Crew'), { timeout: LONG }).toBe('Draft: half a thought')
    await roomLink(page, 'Alpha Crew').click()
    await expect.poll(() => box.inputValue(), { timeout: LONG }).toBe('half a\nthought')
    await page.getByRole('button', { name: 'Send' }).click()
    await page.getByRole('button', { name: 'Back to rooms' }).click()
    await expect.poll(() => preview(page, 'Alpha Crew'), { timeout: LONG }).toBe('You: half a thought')
  })
})

describe('Discover: public rooms to join, searched on the server', () => {
  const kayaks: Room[] = []

  it('public rooms not joined stay out of the list; Discover searches and pages them', async () => {
    const page = phone.page
    for (let i = 1; i <= 23; i++) kayaks.push(await createRoomByApi(ben, `Kayak ${i}`))
    await createRoomByApi(ben, 'Canoe club')
    await createRoomByApi(ben, 'Kayak secret', 'private')
    await page.goto(server.url)
    await waitForStatus(page, /^Up to date$/)
    expect((await listedNames(page)).filter((n) => /Kayak|Canoe/.test(n))).toEqual([])

    await page.getByRole('button', { name: 'Discover' }).click()
    await page.waitForURL(`${server.url}/discover`, { timeout: LONG })
    await page.getByRole('heading', { name: 'Discover' }).waitFor({ timeout: LONG })
    const results = page.locator('.discover__name')
    await expect.poll(() => results.allInnerTexts(), { timeout: LONG }).toContain('Canoe club')
    await page.getByLabel('Search public rooms').fill('KAYAK')
    // One page (20), newest first, then the rest; never the private room.
    await expect
      .poll(() => results.allInnerTexts(), { timeout: LONG })
      .toEqual(Array.from({ length: 20 }, (_, i) => `Kayak ${23 - i}`))
    expect(await page.getByText('3 members').count()).toBe(0)
    expect(await page.getByText('1 member', { exact: true }).count()).toBe(20)
    await page.getByRole('button', { name: 'Load more' }).click()
    await expect
      .poll(() => results.allInnerTexts(), { timeout: LONG })
      .toEqual(Array.from({ length: 23 }, (_, i) => `Kayak ${23 - i}`))
    expect(await page.getByRole('button', { name: 'Load more' }).count()).toBe(0)
    await page.getByLabel('Search public rooms').fill('zzz nothing')
    await page.getByText('No public rooms to join match “zzz nothing”.').waitFor({ timeout: LONG })
  })

  it('Join opens the joined room; its Back returns to Discover, without that room; the list has it', async () => {
    const page = phone.page
    await page.getByLabel('Search public rooms').fill('kayak 2')
    const results = page.locator('.discover__name')
    await expect
      .poll(() => results.allInnerTexts(), { timeout: LONG })
      .toEqual(['Kayak 23', 'Kayak 22', 'Kayak 21', 'Kayak 20', 'Kayak 2'])
    await page.getByRole('button', { name: 'Join Kayak 21' }).click()
    await page.waitForURL(`${server.url}/rooms/${kayaks[20]!.id}`, { timeout: LONG })
    await page.getByRole('heading', { name: 'Kayak 21' }).waitFor({ timeout: LONG })
    await page.getByRole('textbox', { name: 'Message' }).waitFor({ timeout: LONG })
    await page.getByRole('button', { name: 'Back to Discover' }).click()
    await page.waitForURL(`${server.url}/discover`, { timeout: LONG })
    await page.getByLabel('Search public rooms').fill('kayak 2')
    await expect
      .poll(() => results.allInnerTexts(), { timeout: LONG })
      .toEqual(['Kayak 23', 'Kayak 22', 'Kayak 20', 'Kayak 2'])
    await page.getByRole('button', { name: 'Back to rooms' }).click()
    await page.waitForURL(`${server.url}/`, { timeout: LONG })
    await expect.poll(() => listedNames(page), { timeout: LONG }).toContain('Kayak 21')
    expect(await listedNames(page)).not.toContain('Kayak 22')
  })

  it('is live: a public room created meanwhile appears, one joined on another device goes', async () => {
    const page = phone.page
    await page.getByRole('button', { name: 'Discover' }).click()
    await page.getByLabel('Search public rooms').fill('kayak 2')
    const results = page.locator('.discover__name')
    await expect
      .poll(() => results.allInnerTexts(), { timeout: LONG })
      .toEqual(['Kayak 23', 'Kayak 22', 'Kayak 20', 'Kayak 2'])
    await waitForStatus(page, /^Up to date$/)
    // No reload, no new search: the user stream's room_created and room_added do it.
    const fresh = await createRoomByApi(ben, 'Kayak 24')
    await createRoomByApi(ben, 'Rowing 25') // created too, but not what Ann searches for
    await expect
      .poll(() => results.allInnerTexts(), { timeout: LONG })
      .toEqual(['Kayak 24', 'Kayak 23', 'Kayak 22', 'Kayak 20', 'Kayak 2'])
    await call(annElsewhere, 'POST', `/api/rooms/${kayaks[21]!.id}/join`)
    await expect
      .poll(() => results.allInnerTexts(), { timeout: LONG })
      .toEqual(['Kayak 24', 'Kayak 23', 'Kayak 20', 'Kayak 2'])
    await page.getByRole('button', { name: 'Join Kayak 24' }).click()
    await page.waitForURL(`${server.url}/rooms/${fresh.id}`, { timeout: LONG })
    await page.getByRole('button', { name: 'Back to Discover' }).click()
    await page.getByRole('button', { name: 'Back to rooms' }).click()
    await expect.poll(() => listedNames(page), { timeout: LONG }).toContain('Kayak 22')
  })

  it('offline, Discover says it needs a connection', async () => {
    const page = phone.page
    await phone.context.setOffline(true)
    try {
      await page.getByRole('button', { name: 'Discover' }).click()
      await page.getByText('Discover needs a connection.', { exact: false }).waitFor({ timeout: LONG })
      // The list itself works from the device.
      await page.getByRole('button', { name: 'Back to rooms' }).click()
      await expect.poll(() => listedNames(page), { timeout: LONG }).toContain('Kayak 21')
    } finally {
      await phone.context.setOffline(false)
    }
  })
})

describe('a public room opened from a link (the device’s list holds only joined rooms)', () => {
  it('keeps showing the room and its Join button when a refresh of the list drops it', async () => {
    const page = phone.page
    const faraway = await createRoomByApi(ben, 'Faraway')
    await post(ben, faraway.id, 'light at the end')
    await page.goto(`${server.url}/rooms/${faraway.id}`)
    const join = page.getByRole('button', { name: 'Join this room' })
    await join.waitFor({ timeout: LONG })
    await page.getByRole('heading', { name: 'Faraway' }).waitFor({ timeout: LONG })
    await waitForStatus(page, /^Up to date$/)
    // A reconnect fetches the room list, which has only Ann's rooms: the row asked for by id goes.
    await phone.context.setOffline(true)
    await waitForStatus(page, /Offline/)
    await phone.context.setOffline(false)
    await waitForStatus(page, /^Up to date$/)
    await expect.poll(() => cached(page, faraway.id), { timeout: LONG }).toBe(false)
    await join.waitFor({ timeout: LONG })
    expect(await page.getByText('Opening the room…').count()).toBe(0)
    expect(await page.getByRole('heading', { name: 'Faraway' }).count()).toBe(1)
    await join.click()
    await page.getByRole('textbox', { name: 'Message' }).waitFor({ timeout: LONG })
    await page.getByRole('button', { name: 'Back to rooms' }).click()
    await expect.poll(() => listedNames(page), { timeout: LONG }).toContain('Faraway')
  })
})
