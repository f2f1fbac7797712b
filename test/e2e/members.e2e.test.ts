/**
 * Issue 9 items 4 and 5 in real Chromium, on phones (390×844, touch): the Members screen and
 * leaving, with every change reaching the other people's screens live, without a reload. Ann owns
 * a private room; Ben and Cara each have their own phone. Ann invites Ben (his list shows the room),
 * makes him an admin (his Remove buttons appear), Ben removes Cara (the room leaves her list), Ann
 * is told to hand the room over before leaving, hands it to Ben, then leaves.
 */
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Room } from '../../shared/schemas.ts'
import { apiCall, LONG, signUpByApi, uniqueName, waitForStatus } from './support/app.ts'
import { type Browser, cleanUp, type FerryServer, launchBrowser, startWithPhone } from './support/ferry.ts'

let server: FerryServer
let ann: Browser
let ben: Browser
let cara: Browser
const annName = uniqueName('ann')
const benName = uniqueName('ben')
const caraName = uniqueName('cara')
let room: Room

/** The room names in a phone's list, as shown. */
const listedNames = (page: Page) => page.locator('.room-list .room__name > span:first-child').allInnerTexts()

/** A phone already signed in as the holder of `cookie` (set on its profile), on the room list. */
async function signedIn(phone: Browser, cookie: string): Promise<void> {
  const cookies = cookie.split('; ').map((pair) => {
    const at = pair.indexOf('=')
    return { name: pair.slice(0, at), value: pair.slice(at + 1), url: server.url }
  })
  await phone.context.addCookies(cookies)
  await phone.page.goto(server.url)
  await phone.page.getByRole('heading', { name: 'Rooms' }).waitFor({ timeout: LONG })
  await waitForStatus(phone.page, /^Up to date$/)
}

async function openMembers(page: Page) {
  await page.getByRole('button', { name: 'Members' }).click()
  const sheet = page.getByRole('dialog', { name: 'Members' })
  await sheet.waitFor({ timeout: LONG })
  return sheet
}

/** Each member's line as shown: name, "(you)", role. */
const rows = (sheet: ReturnType<Page['getByRole']>) => sheet.locator('.member__who').allTextContents()

beforeAll(async () => {
  ;({ server, phone: ann } = await startWithPhone())
  ;[ben, cara] = await Promise.all([launchBrowser(), launchBrowser()])
  const [annCookie, benCookie, caraCookie] = await Promise.all(
    [annName, benName, caraName].map((name) => signUpByApi(server.url, name)),
  )
  room = (
    await apiCall<{ room: Room }>(server.url, annCookie!, 'POST', '/api/rooms', {
      name: 'Lagoon',
      visibility: 'private',
    })
  ).room
  await apiCall(server.url, annCookie!, 'POST', `/api/rooms/${room.id}/members`, { username: caraName })
  await Promise.all([signedIn(ann, annCookie!), signedIn(ben, benCookie!), signedIn(cara, caraCookie!)])
})

afterAll(async () => {
  await cleanUp()
})

describe('members and moderation, live on every screen', () => {
  it('Ann invites Ben by username: his list shows the room at once; an unknown name is said plainly', async () => {
    const page = ann.page
    await page.goto(`${server.url}/rooms/${room.id}`)
    await waitForStatus(page, /^Up to date$/)
    const sheet = await openMembers(page)
    const box = sheet.getByRole('textbox', { name: 'Invite by username' })
    await box.fill(`${benName}x`)
    await sheet.getByRole('button', { name: 'Invite', exact: true }).click()
    await sheet
      .getByRole('alert')
      .filter({ hasText: `No one on Ferry is called “${benName}x”` })
      .waitFor({ timeout: LONG })
    await box.fill(benName)
    await sheet.getByRole('button', { name: 'Invite', exact: true }).click()
    await expect.poll(() => rows(sheet), { timeout: LONG }).toHaveLength(3)
    await expect.poll(() => listedNames(ben.page), { timeout: LONG }).toContain('Lagoon')
  })

  it('Ann makes Ben an admin: his open Members screen grows Remove buttons and shows his role, without a reload', async () => {
    const page = ben.page
    await page.getByRole('link', { name: /^Lagoon/ }).click()
    const sheet = await openMembers(page)
    await expect.poll(() => rows(sheet), { timeout: LONG }).toHaveLength(3)
    expect(await sheet.getByRole('button', { name: /^Remove / }).count()).toBe(0)
    await ann.page.getByRole('button', { name: `Make admin: ${benName}` }).click()
    await sheet.getByRole('button', { name: `Remove ${caraName}`, exact: true }).waitFor({ timeout: LONG })
    await expect.poll(() => rows(sheet), { timeout: LONG }).toContain(`${benName} (you)admin`)
    // An admin removes plain members only: nothing for the owner.
    expect(await sheet.getByRole('button', { name: `Remove ${annName}` }).count()).toBe(0)
  })

  it('on the 390 px phone every control of the owner’s sheet is at least 44 px, and nothing runs off the side', async () => {
    const sheet = ann.page.getByRole('dialog', { name: 'Members' })
    await sheet.getByRole('button', { name: `Make owner: ${caraName}` }).waitFor({ timeout: LONG })
    const sizes = await sheet.locator('button, input').evaluateAll((els) =>
      els.map((el) => {
        const r = el.getBoundingClientRect()
        return {
          name: el.getAttribute('aria-label') ?? el.textContent,
          width: r.width,
          height: r.height,
          right: r.right,
        }
      }),
    )
    expect(sizes.length).toBeGreaterThan(8)
    for (const size of sizes) {
      expect({ ...size, fits: size.width >= 44 && size.height >= 44 && size.right <= 390 }).toMatchObject({
        fits: true,
      })
    }
    expect(await sheet.locator('.sheet__body').evaluate((el) => el.scrollWidth <= el.clientWidth)).toBe(true)
  })

  it('Ben removes Cara after a yes: her open room goes back to the list, which no longer has it; Ann’s open list follows', async () => {
    await cara.page.getByRole('link', { name: /^Lagoon/ }).click()
    await cara.page.getByRole('heading', { name: 'Lagoon' }).waitFor({ timeout: LONG })
    const sheet = ben.page.getByRole('dialog', { name: 'Members' })
    await sheet.getByRole('button', { name: `Remove ${caraName}`, exact: true }).click()
    await sheet.getByRole('button', { name: `Remove ${caraName} from the room` }).click()
    await expect.poll(() => rows(sheet), { timeout: LONG }).toHaveLength(2)
    await cara.page.waitForURL(`${server.url}/`, { timeout: LONG })
    await cara.page
      .getByRole('alert')
      .filter({ hasText: 'You are no longer a member of Lagoon.' })
      .waitFor({ timeout: LONG })
    await expect.poll(() => listedNames(cara.page), { timeout: LONG }).not.toContain('Lagoon')
    const annSheet = ann.page.getByRole('dialog', { name: 'Members' })
    await expect.poll(() => rows(annSheet), { timeout: LONG }).toEqual([`${annName} (you)owner`, `${benName}admin`])
  })

  it('Ann cannot leave while Ben is there: she is told to hand the room over; she does, then leaves', async () => {
    const page = ann.page
    await page.keyboard.press('Escape')
    await page.getByRole('dialog', { name: 'Members' }).waitFor({ state: 'detached', timeout: LONG })
    await page.getByRole('button', { name: 'Room options' }).click()
    await page.getByRole('button', { name: 'Leave room' }).click()
    await page.getByRole('alert').filter({ hasText: 'Make another member the owner first' }).waitFor({ timeout: LONG })
    await page.keyboard.press('Escape')

    const sheet = await openMembers(page)
    await sheet.getByRole('button', { name: `Make owner: ${benName}` }).click()
    await sheet.getByRole('button', { name: `Make ${benName} the owner` }).click()
    await expect.poll(() => rows(sheet), { timeout: LONG }).toEqual([`${benName}owner`, `${annName} (you)admin`])
    // Ben's open screen says he owns it now.
    const benSheet = ben.page.getByRole('dialog', { name: 'Members' })
    await expect.poll(() => rows(benSheet), { timeout: LONG }).toContain(`${benName} (you)owner`)
    await page.keyboard.press('Escape')
    await page.getByRole('dialog', { name: 'Members' }).waitFor({ state: 'detached', timeout: LONG })

    await page.getByRole('button', { name: 'Room options' }).click()
    await page.getByRole('button', { name: 'Leave room' }).click()
    await page.getByRole('button', { name: 'Leave', exact: true }).click()
    await page.waitForURL(`${server.url}/`, { timeout: LONG })
    await expect.poll(() => listedNames(page), { timeout: LONG }).not.toContain('Lagoon')
    await expect.poll(() => rows(benSheet), { timeout: LONG }).toEqual([`${benName} (you)owner`])
  })
})
