/**
 * Issue 8, item 10: axe-core on every screen, light and dark, at 390×844 (a phone: touch, mobile)
 * and 1280×800 (a desktop with a mouse): no serious or critical violation of WCAG 2.1 A/AA.
 * One server; one browser context per viewport; the colour scheme switches with emulateMedia.
 * Every screen is saved to docs/screenshots/ in both schemes (the set a reviewer looks at).
 * Findings are gathered over all screens and reported together (rule, impact, screen, targets),
 * so one run shows everything there is to fix.
 */
import { join } from 'node:path'
import { AxeBuilder } from '@axe-core/playwright'
import { type BrowserContext, chromium, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRoom, LONG, PASSWORD, sendMessage, switchRoom, uniqueName, waitForStatus } from './support/app.ts'
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

/** A public room Ben made (through the API), so Discover has something to list. */
async function benMakesPublicRoom(): Promise<void> {
  const signup = await fetch(`${server.url}/api/auth/signup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: uniqueName('ben'), password: PASSWORD }),
  })
  expect(signup.status).toBe(201)
  const cookie = signup.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ')
  const res = await fetch(`${server.url}/api/rooms`, {
    method: 'POST',
    headers: { cookie, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'Harbour', visibility: 'public' }),
  })
  expect(res.status).toBeLessThan(300)
}

beforeAll(async () => {
  server = await startFerry(await buildClient())
  await benMakesPublicRoom()
})

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

  await page.getByLabel('Username').fill(uniqueName('ann'))
  await page.getByLabel('Password').fill(PASSWORD)
  await page.getByRole('button', { name: 'Sign up' }).click()
  await page.getByRole('heading', { name: 'Rooms' }).waitFor({ timeout: LONG })
  const roomId = await createRoom(page, 'Quay')
  await waitForStatus(page, /^Up to date$/)
  await sendMessage(page, 'Morning, all')
  await page.locator('[role=log] li[data-state=sent]').first().waitFor({ timeout: LONG })

  await page.goto(server.url)
  await page.getByRole('link', { name: /Quay/ }).waitFor({ timeout: LONG })
  found.push(...(await audit(page, 'room list')))

  await page.getByRole('button', { name: 'Discover' }).click()
  await page.getByRole('heading', { name: 'Discover' }).waitFor({ timeout: LONG })
  await page.getByText('Harbour').first().waitFor({ timeout: LONG })
  found.push(...(await audit(page, 'Discover')))
  await page.getByRole('button', { name: 'Join Harbour' }).click()
  await page.getByRole('button', { name: 'Join Harbour' }).waitFor({ state: 'detached', timeout: LONG })

  await page.goto(`${server.url}/rooms/${roomId}`)
  await waitForStatus(page, /^Up to date$/)
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

describe('axe-core: no serious or critical accessibility violation, light and dark', () => {
  it('at 390×844 on a touch phone', async () => {
    const page = await launch({ width: 390, height: 844 }, true)
    const found = await walk(page)
    expect(found, `\n${found.join('\n')}\n`).toEqual([])
  })

  it('at 1280×800 on a desktop', async () => {
    const page = await launch({ width: 1280, height: 800 }, false)
    const found = await walk(page)
    expect(found, `\n${found.join('\n')}\n`).toEqual([])
  })
})
