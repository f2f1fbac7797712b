/**
 * Issue 8, item 10: axe-core on every screen, light and dark, at 390×844 (a phone: touch, mobile)
 * and 1280×800 (a desktop with a mouse): no serious or critical violation of WCAG 2.1 A/AA. The
 * room list is audited with every kind of row: a draft, an unread badge, the @ of an unread mention,
 * rooms of one name (short ids); a room with a notice line and "Seen by"; the search screen with a
 * result (issue 12).
 * One server; one browser context per viewport; the colour scheme switches with emulateMedia.
 * Every screen is saved to docs/screenshots/ in both schemes (the set a reviewer looks at).
 * Findings are gathered over all screens and reported together (rule, impact, screen, targets),
 * so one run shows everything there is to fix.
 */
import { join } from 'node:path'
import { AxeBuilder } from '@axe-core/playwright'
import { type BrowserContext, chromium, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  apiCall,
  createRoom,
  LONG,
  PASSWORD,
  sendMessage,
  signUpByApi,
  switchRoom,
  uniqueName,
  waitForStatus,
  waitUntil,
} from './support/app.ts'
import {
  buildClient,
  CHROMIUM,
  cleanUp,
  type FerryServer,
  ROOT,
  requireChromium,
  startFerry,
  tempDir,
} from './support/ferry.ts'

const TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']
const SCHEMES = ['light', 'dark'] as const

let server: FerryServer
const contexts: BrowserContext[] = []

async function launch(viewport: { width: number; height: number }, mobile: boolean): Promise<Page> {
  requireChromium()
  const context = await chromium.launchPersistentContext(tempDir('ferry-axe-'), {
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-sync'],
    viewport,
    isMobile: mobile,
    hasTouch: mobile,
  })
  contexts.push(context)
  return context.pages()[0] ?? (await context.newPage())
}

/** Where each audited screen is photographed, so a reviewer can look without running anything. */
const SHOTS = join(ROOT, 'docs', 'screenshots')

/**
 * Runs axe on what is on screen now, in both colour schemes; returns one line per serious/critical
 * finding. Each screen and scheme is also saved as docs/screenshots/<width>-<screen>-<scheme>.png.
 */
async function audit(page: Page, screen: string): Promise<string[]> {
  const found: string[] = []
  const slug = screen.replace(/[^a-z0-9]+/gi, '-').toLowerCase()
  for (const colorScheme of SCHEMES) {
    await page.emulateMedia({ colorScheme })
    await page.screenshot({ path: join(SHOTS, `${page.viewportSize()?.width}-${slug}-${colorScheme}.png`) })
    const { violations } = await new AxeBuilder({ page }).withTags(TAGS).analyze()
    for (const v of violations) {
      if (v.impact !== 'serious' && v.impact !== 'critical') continue
      const targets = v.nodes.map(
        (n) =>
          `${n.target.join(' ')} ${n.html.slice(0, 300)}${n.failureSummary ? ` (${n.failureSummary.replace(/\s+/g, ' ').slice(0, 160)})` : ''}`,
      )
      found.push(`[${screen}, ${colorScheme}] ${v.id} (${v.impact}): ${targets.join(' | ')}`)
    }
  }
  await page.emulateMedia({ colorScheme: 'light' })
  return found
}

/** Ben's session (through the API): he makes the public room Discover lists, and writes to each Ann. */
let ben: string

beforeAll(async () => {
  server = await startFerry(await buildClient())
  ben = await signUpByApi(server.url, uniqueName('ben'))
  await apiCall(server.url, ben, 'POST', '/api/rooms', { name: 'Harbour', visibility: 'public' })
})

/**
 * Ben adds Ann to a private room also called "Quay" and writes twice, mentioning her: her list then
 * has a row with an unread badge and the @ of an unread mention, and two rows of one name, told
 * apart by their short ids.
 */
async function benWritesTo(username: string): Promise<void> {
  const { room } = await apiCall<{ room: { id: string } }>(server.url, ben, 'POST', '/api/rooms', {
    name: 'Quay',
    visibility: 'private',
  })
  await apiCall(server.url, ben, 'POST', `/api/rooms/${room.id}/members`, { username })
  for (const body of ['Tide turns at six', `@${username} bring the charts`]) {
    await apiCall(server.url, ben, 'POST', `/api/rooms/${room.id}/messages`, { clientId: crypto.randomUUID(), body })
  }
}

/** Whether the composer's draft of the open room is saved on the device (it is written a moment after typing). */
const draftSaved = (page: Page) =>
  page.evaluate(
    () =>
      new Promise<boolean>((resolve, reject) => {
        const open = indexedDB.open('ferry')
        open.onerror = () => reject(open.error)
        open.onsuccess = () => {
          const count = open.result.transaction('drafts').objectStore('drafts').count()
          count.onsuccess = () => {
            resolve(count.result > 0)
            open.result.close()
          }
          count.onerror = () => reject(count.error)
        }
      }),
  )

afterAll(async () => {
  for (const context of contexts) await context.close()
  await cleanUp()
})

/** Walks every screen a person meets, auditing each. */
async function walk(page: Page): Promise<string[]> {
  const found: string[] = []
  await page.goto(server.url)
  await page.getByRole('button', { name: 'New here? Create an account' }).waitFor({ timeout: LONG })
  found.push(...(await audit(page, 'sign-in')))

  await page.getByRole('button', { name: 'New here? Create an account' }).click()
  await page.getByRole('button', { name: 'Sign up' }).waitFor({ timeout: LONG })
  found.push(...(await audit(page, 'sign-up')))

  const annName = uniqueName('ann')
  await page.getByLabel('Username').fill(annName)
  await page.getByLabel('Password').fill(PASSWORD)
  await page.getByRole('button', { name: 'Sign up' }).click()
  await page.getByRole('heading', { name: 'Rooms' }).waitFor({ timeout: LONG })
  const roomId = await createRoom(page, 'Quay')
  await waitForStatus(page, /^Up to date$/)
  await sendMessage(page, 'Morning, all')
  await page.locator('[role=log] li[data-state=sent]').first().waitFor({ timeout: LONG })
  // Text left in the box: the list shows the room with "Draft: …".
  await page.getByRole('textbox', { name: 'Message' }).fill('Half a thought')
  await waitUntil(() => draftSaved(page), 'the draft to be saved')
  await benWritesTo(annName)

  // The list with every kind of row: a draft, an unread badge, and two of one name with short ids.
  await page.goto(server.url)
  const list = page.locator('.room-list')
  await list.locator('.room__draft').waitFor({ timeout: LONG })
  await list.getByRole('img', { name: '2 unread' }).waitFor({ timeout: LONG })
  await list.getByRole('img', { name: '@ mentioned you' }).waitFor({ timeout: LONG })
  await expect.poll(() => list.locator('.room__id').count(), { timeout: LONG }).toBe(2)
  found.push(...(await audit(page, 'room list')))

  await page.getByRole('button', { name: 'Discover' }).click()
  await page.getByRole('heading', { name: 'Discover' }).waitFor({ timeout: LONG })
  await page.getByText('Harbour').first().waitFor({ timeout: LONG })
  found.push(...(await audit(page, 'Discover')))
  await page.getByRole('button', { name: 'Join Harbour' }).click()
  await page.getByRole('button', { name: 'Join Harbour' }).waitFor({ state: 'detached', timeout: LONG })

  // Ben joins Ann's room and reads it: a notice line ("… joined") and "Seen by …" under her message.
  await apiCall(server.url, ben, 'POST', `/api/rooms/${roomId}/join`)
  await apiCall(server.url, ben, 'POST', `/api/rooms/${roomId}/read`, { seq: 1_000 })
  await page.goto(`${server.url}/rooms/${roomId}`)
  await waitForStatus(page, /^Up to date$/)
  await page.locator('[role=log] .notice-row').waitFor({ timeout: LONG })
  await page.locator('[role=log] .msg__seen').waitFor({ timeout: LONG })
  await page.context().setOffline(true)
  try {
    await waitForStatus(page, 'Offline')
    await sendMessage(page, 'Waiting for the signal')
    const waiting = page.locator('[role=log] li[data-state=waiting]')
    await waiting.waitFor({ timeout: LONG })
    found.push(...(await audit(page, 'room with a waiting message, offline')))

    await waiting.getByRole('button', { name: 'Waiting, not sent yet' }).click()
    await page.getByRole('menu', { name: 'Message actions' }).waitFor({ timeout: LONG })
    found.push(...(await audit(page, 'message action menu')))
    await page.keyboard.press('Escape')
    await page.getByRole('menu', { name: 'Message actions' }).waitFor({ state: 'detached', timeout: LONG })
  } finally {
    await page.context().setOffline(false)
  }
  await waitForStatus(page, /^Up to date$/)

  await page.getByRole('button', { name: 'Members' }).click()
  await page.getByRole('dialog', { name: 'Members' }).waitFor({ timeout: LONG })
  found.push(...(await audit(page, 'members sheet')))
  await page.keyboard.press('Escape')
  await page.getByRole('dialog', { name: 'Members' }).waitFor({ state: 'detached', timeout: LONG })

  // Issue 10: the room menu's notification choice, the room muted, and the account menu's setting.
  await page.getByRole('button', { name: 'Room options' }).click()
  await page.getByRole('radio', { name: 'Only mentions' }).check()
  found.push(...(await audit(page, 'room menu, muted')))
  await page.keyboard.press('Escape')
  await page.getByRole('button', { name: /^Account: / }).click()
  await page.getByText(/^Notifications: /).waitFor({ timeout: LONG })
  found.push(...(await audit(page, 'account menu')))
  await page.keyboard.press('Escape')

  // Issue 12: the search screen with a result, opened from the room (so its scope toggle shows).
  await page.getByRole('button', { name: 'Search in this room' }).click()
  await page.getByRole('searchbox', { name: 'Search messages' }).fill('morning')
  await page.getByRole('list', { name: 'Results' }).getByRole('link').first().waitFor({ timeout: LONG })
  found.push(...(await audit(page, 'search')))
  await page.keyboard.press('Escape')
  await page.getByRole('searchbox', { name: 'Search messages' }).waitFor({ state: 'detached', timeout: LONG })

  // A failed message: sent offline to Harbour, which Ann then leaves from another device.
  await page.goto(server.url)
  await switchRoom(page, 'Harbour')
  await waitForStatus(page, /^Up to date$/)
  const harbourId = new URL(page.url()).pathname.split('/').pop()
  await page.context().setOffline(true)
  await waitForStatus(page, 'Offline')
  await sendMessage(page, 'Anyone at the harbour?')
  // The API request context is not the browser's network: it reaches the server while the page is offline.
  const left = await page.request.post(`${server.url}/api/rooms/${harbourId}/leave`, {
    headers: { 'content-type': 'application/json', origin: server.url },
    data: {},
  })
  expect(left.status()).toBe(204)
  await page.context().setOffline(false)
  await page.locator('[role=log] li[data-state=failed]').waitFor({ timeout: LONG })
  found.push(...(await audit(page, 'room with a failed message')))
  return found
}

/**
 * Each walk audits eleven screens in two colour schemes (axe and a screenshot each): 84 s alone at
 * load average 15, so the e2e project's 120 s default is too close on a busy machine. A limit,
 * not a measurement.
 */
const WALK_LIMIT_MS = 240_000

describe('axe-core: no serious or critical accessibility violation, light and dark', () => {
  it(
    'at 390×844 on a touch phone',
    async () => {
      const page = await launch({ width: 390, height: 844 }, true)
      const found = await walk(page)
      expect(found, `\n${found.join('\n')}\n`).toEqual([])
    },
    WALK_LIMIT_MS,
  )

  it(
    'at 1280×800 on a desktop',
    async () => {
      const page = await launch({ width: 1280, height: 800 }, false)
      const found = await walk(page)
      expect(found, `\n${found.join('\n')}\n`).toEqual([])
    },
    WALK_LIMIT_MS,
  )
})
