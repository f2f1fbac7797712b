/**
 * What a new user hits first (issue 8, the UI side), in real Chromium: logging
 * in after looking at sign-up, the status on a phone, the account and room
 * menus, the room list, empty and unknown rooms, the composer's limits and
 * keys, right-to-left text, `www.` links, what screen readers hear, and the
 * manifest with its Install button. One server and two people: Ann on a
 * 390×844 touch phone, Ben on a 1280×800 desktop with a mouse.
 */
import { join } from 'node:path'
import { type BrowserContext, chromium, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LIMITS } from '../../shared/limits.ts'
import {
  createRoom,
  LONG,
  PASSWORD,
  sendMessage,
  sentTexts,
  signUpByApi,
  uniqueName,
  waitForStatus,
} from './support/app.ts'
import {
  type Browser,
  buildClient,
  CHROMIUM,
  cleanUp,
  type FerryServer,
  launchBrowser,
  ROOT,
  requireChromium,
  startFerry,
  tempDir,
} from './support/ferry.ts'

let server: FerryServer
let phone: Browser
let desktop: BrowserContext
let ben: Page
const annName = uniqueName('ann')
const benName = uniqueName('ben')
/** Ann's public room, which Ben joins. */
let quayId: string

/** A desktop with a mouse: no touch, so `(pointer: coarse)` does not match. */
async function launchDesktop(): Promise<BrowserContext> {
  requireChromium()
  return chromium.launchPersistentContext(tempDir('ferry-desktop-'), {
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-sync'],
    viewport: { width: 1280, height: 800 },
  })
}

/** How the status element is laid out: its whole text must show, never cut. */
function statusBox(page: Page) {
  return page.getByTestId('status').evaluate((el) => {
    const rect = el.getBoundingClientRect()
    return {
      text: el.textContent ?? '',
      live: el.getAttribute('aria-live'),
      cut: el.scrollWidth > el.clientWidth + 1 || rect.left < 0 || rect.right > window.innerWidth + 1,
      height: rect.height,
    }
  })
}

/**
 * The manifest's screenshots for the install dialog (client/public/screenshots), drawn from this
 * run when FERRY_WRITE_SCREENSHOTS=1: a room on the phone (390×844) and on the desktop (1280×800).
 */
async function writeScreenshots(page: Page): Promise<void> {
  const dir = join(ROOT, 'client', 'public', 'screenshots')
  const settled = async (p: Page) => {
    // Up to date for a moment: a catch-up flickering past would be in the picture.
    await waitForStatus(p, /^Up to date$/)
    await p.waitForTimeout(1000)
    await waitForStatus(p, /^Up to date$/)
  }
  await settled(page)
  await page.screenshot({ path: join(dir, 'room-narrow.png') })
  await ben.goto(`${server.url}/rooms/${quayId}`)
  await settled(ben)
  await ben.screenshot({ path: join(dir, 'room-wide.png') })
}

const messageBox = (page: Page) => page.getByRole('textbox', { name: 'Message' })

async function logIn(page: Page, username: string): Promise<void> {
  await page.getByLabel('Username').fill(username)
  await page.getByLabel('Password').fill(PASSWORD)
  await page.getByRole('button', { name: 'Log in', exact: true }).click()
  await page.getByRole('heading', { name: 'Rooms' }).waitFor({ timeout: LONG })
}

beforeAll(async () => {
  server = await startFerry(await buildClient())
  ;[phone, desktop] = await Promise.all([launchBrowser(), launchDesktop()])
  ben = desktop.pages()[0] ?? (await desktop.newPage())
  await Promise.all([signUpByApi(server.url, annName), signUpByApi(server.url, benName)])
  // Ann logs in straight away; Ben comes to the sign-in screen as a new user would (defect 1).
  await phone.page.goto(server.url)
  await logIn(phone.page, annName)
})

afterAll(async () => {
  await desktop?.close()
  await cleanUp()
})

describe('signing in', () => {
  it('sign-up states its rules before anything is refused', async () => {
    await ben.goto(server.url)
    await ben.getByRole('button', { name: 'New here? Create an account' }).click()
    const rules = await ben.getByLabel('Username').evaluate((input) =>
      (input.getAttribute('aria-describedby') ?? '')
        .split(' ')
        .map((id) => document.getElementById(id)?.textContent ?? '')
        .join(' '),
    )
    expect(rules).toContain(`${LIMITS.usernameMin}–${LIMITS.usernameMax} characters`)
    expect(rules).toMatch(/letters, numbers, _ and -/)
    await ben.getByText(`At least ${LIMITS.passwordMin} characters`).waitFor({ timeout: LONG })
  })

  it('logging in works after a look at sign-up (defect 1)', async () => {
    await ben.goto(server.url)
    await ben.getByRole('button', { name: 'New here? Create an account' }).click()
    await ben.getByRole('button', { name: 'Have an account? Log in' }).click()
    await logIn(ben, benName)
  })
})

describe('the phone layout', () => {
  it('the status has its own line, never cut at 390 or 320 px, polite to screen readers; Log out is in the account menu (defect 4)', async () => {
    const page = phone.page
    quayId = await createRoom(page, 'Quay')
    await waitForStatus(page, /^Up to date$/)
    // Up to date: said to screen readers, no space taken on screen. Read text
    // and height together, polled: a sync that starts between two reads (the
    // room list after a create) may show "Catching up…" for a moment.
    await expect
      .poll(async () => {
        const box = await statusBox(page)
        return box.text === 'Up to date' && box.height <= 1
      })
      .toBe(true)
    expect(await page.getByRole('button', { name: 'Log out' }).count()).toBe(0)

    await phone.context.setOffline(true)
    try {
      await waitForStatus(page, 'Offline')
      for (let i = 1; i <= 8; i++) await sendMessage(page, `queued ${i}`)
      await waitForStatus(page, /^Offline · 8 waiting to send$/)
      const at390 = await statusBox(page)
      expect(at390).toMatchObject({ text: 'Offline · 8 waiting to send', live: 'polite', cut: false })
      expect(at390.height).toBeGreaterThan(10)
      await page.setViewportSize({ width: 320, height: 640 })
      expect(await statusBox(page)).toMatchObject({ text: 'Offline · 8 waiting to send', cut: false })
    } finally {
      await page.setViewportSize({ width: 390, height: 844 })
      await phone.context.setOffline(false)
    }
    await waitForStatus(page, /^Up to date$/)

    const account = page.getByRole('button', { name: new RegExp(`^Account: ${annName}$`) })
    await account.click()
    expect(await account.getAttribute('aria-expanded')).toBe('true')
    await page.getByRole('button', { name: 'Log out' }).waitFor({ timeout: LONG })
    await page.keyboard.press('Escape')
    // Escape closes the menu on the next render: poll rather than read once.
    await expect.poll(() => page.getByRole('button', { name: 'Log out' }).count()).toBe(0)
  })
})

describe('rooms', () => {
  it('a spaces-only room name gets a clear message, not the server schema text', async () => {
    const page = phone.page
    await page.goto(server.url)
    await page.getByRole('button', { name: 'New room' }).click()
    await page.getByLabel('Room name').fill('   ')
    await page.getByRole('button', { name: 'Create' }).click()
    const alert = page.getByRole('alert').filter({ hasText: 'Give the room a name' })
    await alert.waitFor({ timeout: LONG })
    expect(await alert.textContent()).not.toContain('body.')
    await page.getByRole('button', { name: 'Cancel' }).click()
  })

  it('a new room shows an empty state, not only "Load older messages"; rooms of one name are told apart', async () => {
    const page = phone.page
    await page.goto(server.url)
    const first = await createRoom(page, 'Twin')
    await page.getByRole('log').getByText('No messages yet').waitFor({ timeout: LONG })
    expect(await page.getByRole('button', { name: 'Load older messages' }).count()).toBe(0)
    await page.getByRole('button', { name: 'Back to rooms' }).click()
    const second = await createRoom(page, 'Twin')
    expect(second).not.toBe(first)
    await page.getByRole('button', { name: 'Back to rooms' }).click()
    const links = page.getByRole('link', { name: /^Twin/ })
    await expect.poll(() => links.count(), { timeout: LONG }).toBe(2)
    const names = await links.evaluateAll((els) => els.map((el) => el.textContent ?? ''))
    expect(new Set(names).size).toBe(2)
  })

  it('a room link reads sensibly to a screen reader (name, private, then the last message)', async () => {
    const page = phone.page
    await page.goto(server.url)
    await page.getByRole('button', { name: 'New room' }).click()
    await page.getByLabel('Room name').fill('Hideout')
    await page.getByLabel('Who can join').selectOption('private')
    await page.getByRole('button', { name: 'Create' }).click()
    await page.waitForURL(/\/rooms\/[0-9a-f-]{36}$/, { timeout: LONG })
    await page.getByRole('button', { name: 'Back to rooms' }).click()
    await page.getByRole('link', { name: /^Hideout, private\. No messages yet$/ }).waitFor({ timeout: LONG })
  })

  it('a made-up room link shows "Room not found" with a way back and no composer', async () => {
    const page = phone.page
    await page.goto(`${server.url}/rooms/${crypto.randomUUID()}`)
    await page.getByRole('heading', { name: 'Room not found' }).waitFor({ timeout: LONG })
    expect(await messageBox(page).count()).toBe(0)
    await page.getByRole('link', { name: 'Back to rooms' }).click()
    await page.getByRole('heading', { name: 'Rooms' }).waitFor({ timeout: LONG })
  })

  it('a member leaves a room from the room menu after a yes; the last member, its owner, is told it would be deleted', async () => {
    await ben.goto(`${server.url}/rooms/${quayId}`)
    await ben.getByRole('button', { name: 'Join this room' }).click()
    await messageBox(ben).waitFor({ timeout: LONG })
    await ben.getByRole('button', { name: 'Room options' }).click()
    await ben.getByRole('button', { name: 'Leave room' }).click()
    await ben.getByRole('button', { name: 'Leave', exact: true }).click()
    await ben.waitForURL(`${server.url}/`, { timeout: LONG })
    const members = await ben.request.get(`${server.url}/api/rooms/${quayId}/members`)
    const { members: list } = (await members.json()) as { members: Array<{ username: string }> }
    expect(list.map((m) => m.username)).toEqual([annName])

    const page = phone.page
    await page.goto(`${server.url}/rooms/${quayId}`)
    await page.getByRole('button', { name: 'Room options' }).click()
    await page.getByRole('button', { name: 'Leave room' }).click()
    await page.getByText('leaving deletes the room and all its messages').waitFor({ timeout: LONG })
    await page.getByRole('button', { name: 'Cancel' }).click()
    await page.keyboard.press('Escape')
  })
})

describe('writing', () => {
  it('on a touch phone Enter starts a new line and Send sends; a counter shows near the limit, in good grammar', async () => {
    const page = phone.page
    await page.goto(`${server.url}/rooms/${quayId}`)
    const box = messageBox(page)
    await box.fill('line one')
    await box.press('Enter')
    await box.pressSequentially('line two')
    expect(await box.inputValue()).toBe('line one\nline two')
    await page.getByRole('button', { name: 'Send' }).click()
    await expect.poll(() => sentTexts(page), { timeout: LONG }).toContain('line one\nline two')

    await box.fill('a'.repeat(LIMITS.messageBodyMax - 50))
    await page.getByText('50 characters left').waitFor({ timeout: LONG })
    await box.fill('a'.repeat(LIMITS.messageBodyMax + 1))
    await page
      .getByRole('alert')
      .filter({ hasText: /^1 character too long\.$/ })
      .waitFor({ timeout: LONG })
    await box.fill('')
  })

  it('editing a waiting message counts down near the limit and, past it, says why it was not saved', async () => {
    const page = phone.page
    await page.goto(`${server.url}/rooms/${quayId}`)
    await phone.context.setOffline(true)
    try {
      await waitForStatus(page, 'Offline')
      await sendMessage(page, 'to be edited')
      const queued = page.locator('li[data-state=waiting]').filter({ hasText: 'to be edited' })
      // By its id: while edited, its text is in a textarea's value, which hasText does not see.
      const item = page.locator(`li[data-client-id="${await queued.getAttribute('data-client-id')}"]`)
      // Its actions are in its menu (a tap on the message, or its status mark).
      await item.getByRole('button', { name: 'Waiting, not sent yet' }).click()
      await item.getByRole('menuitem', { name: 'Edit' }).click()
      const edit = item.getByRole('textbox', { name: 'Edit message' })
      await edit.fill('b'.repeat(LIMITS.messageBodyMax - 10))
      await item.getByText('10 characters left').waitFor({ timeout: LONG })
      await edit.fill('b'.repeat(LIMITS.messageBodyMax + 1))
      await item.getByRole('button', { name: 'Save' }).click()
      const reason = item.getByRole('alert').filter({ hasText: /^1 character too long\.$/ })
      await reason.waitFor({ timeout: LONG })
      // Seen, not only in the page: inside the visible part of the message list.
      const inView = await reason.evaluate((el) => {
        const box = el.getBoundingClientRect()
        const log = (el.closest('[role=log]') as HTMLElement).getBoundingClientRect()
        return box.height > 0 && box.top >= log.top && box.bottom <= log.bottom
      })
      expect(inView).toBe(true)
      await item.getByRole('button', { name: 'Cancel' }).click()
    } finally {
      await phone.context.setOffline(false)
    }
    await waitForStatus(page, /^Up to date$/)
  })

  it('right-to-left text is marked, and www. links are links', async () => {
    const page = phone.page
    await page.goto(`${server.url}/rooms/${quayId}`)
    await sendMessage(page, 'مرحبا بالجميع')
    await sendMessage(page, 'see www.example.org.')
    await expect.poll(() => sentTexts(page), { timeout: LONG }).toContain('see www.example.org.')
    const rtl = page.locator('[role=log] .msg__body').filter({ hasText: 'مرحبا بالجميع' })
    expect(await rtl.getAttribute('dir')).toBe('auto')
    const link = page.getByRole('log').getByRole('link', { name: 'www.example.org' })
    expect(await link.getAttribute('href')).toBe('https://www.example.org/')
    await page.getByRole('button', { name: 'Back to rooms' }).click()
    const preview = page.locator('.room__preview').first()
    expect(await preview.getAttribute('dir')).toBe('auto')
  })

  it('on a desktop Enter sends and Shift+Enter starts a line; a skip link leads to the message box', async () => {
    await ben.goto(server.url)
    await createRoom(ben, 'Deck')
    const box = messageBox(ben)
    await box.fill('first')
    await box.press('Shift+Enter')
    await box.pressSequentially('second')
    await box.press('Enter')
    await expect.poll(() => sentTexts(ben), { timeout: LONG }).toContain('first\nsecond')

    await ben.reload()
    await box.waitFor({ timeout: LONG })
    await ben.keyboard.press('Tab')
    const skip = ben.getByRole('link', { name: 'Skip to message box' })
    expect(await skip.evaluate((el) => el === document.activeElement)).toBe(true)
    await ben.keyboard.press('Enter')
    expect(await box.evaluate((el) => el === document.activeElement)).toBe(true)
  })
})

describe('screen readers', () => {
  it('hear the author of their own messages and of grouped messages', async () => {
    await ben.goto(`${server.url}/rooms/${quayId}`)
    await ben.getByRole('button', { name: 'Join this room' }).click()
    await sendMessage(ben, 'one from ben')
    await sendMessage(ben, 'two from ben')
    const page = phone.page
    await page.goto(`${server.url}/rooms/${quayId}`)
    const grouped = page.locator('[role=log] li[data-state=sent]').filter({ hasText: 'two from ben' })
    await grouped.waitFor({ timeout: LONG })
    expect(await grouped.textContent()).toContain(`${benName}:`)
    const own = page.locator('[role=log] li[data-state=sent]').filter({ hasText: 'see www.example.org.' })
    expect(await own.textContent()).toMatch(/^You:/)
    if (process.env.FERRY_WRITE_SCREENSHOTS) await writeScreenshots(page)
  })
})

describe('installing', () => {
  it('the manifest suits light mode and every orientation, with screenshots for the install dialog', async () => {
    const manifest = await (await phone.page.request.get(`${server.url}/manifest.webmanifest`)).json()
    expect(manifest.background_color).toBe('#f4f6fa')
    expect(manifest.orientation).toBeUndefined()
    const shots = manifest.screenshots as Array<{ src: string; sizes: string; form_factor?: string }>
    expect(shots.map((s) => s.form_factor).sort()).toEqual(['narrow', 'wide'])
    for (const shot of shots) {
      const res = await phone.page.request.get(`${server.url}${shot.src}`)
      expect(res.status()).toBe(200)
      expect(res.headers()['content-type']).toBe('image/png')
    }
  })

  it('an Install button appears when the browser offers installing, and asks the browser', async () => {
    const page = phone.page
    // Chromium offers installing on its own schedule, before or after the test's offer, and in every
    // new document (the page may be reloaded under it): its prompt() is made harmless for this page
    // from document start, so whichever offer the app holds, the click marks `prompted` and opens no
    // real dialog (the earlier listener that kept Chromium's event out still lost 1 CI run in 3).
    // This is the file's last case, so the script changes nothing for the others.
    await page.addInitScript(() => {
      const proto = (window as unknown as { BeforeInstallPromptEvent?: { prototype: Record<string, unknown> } })
        .BeforeInstallPromptEvent?.prototype
      if (proto) {
        proto.prompt = () => {
          ;(window as unknown as { prompted: boolean }).prompted = true
          return Promise.resolve()
        }
      }
    })
    await page.goto(server.url)
    await page.getByRole('heading', { name: 'Rooms' }).waitFor({ timeout: LONG })
    await page.evaluate(() => {
      const offer = new Event('beforeinstallprompt', { cancelable: true }) as Event & Record<string, unknown>
      offer.prompt = () => {
        ;(window as unknown as { prompted: boolean }).prompted = true
        return Promise.resolve()
      }
      offer.userChoice = Promise.resolve({ outcome: 'accepted', platform: 'web' })
      window.dispatchEvent(offer)
    })
    await page.getByRole('button', { name: 'Install' }).click()
    await page.waitForFunction(() => (window as unknown as { prompted?: boolean }).prompted === true)
    await expect.poll(() => page.getByRole('button', { name: 'Install' }).count(), { timeout: LONG }).toBe(0)
  })
})
