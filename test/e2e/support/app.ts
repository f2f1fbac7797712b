/** What a person does in the Ferry UI, written once for all browser tests. */

import type { Page } from 'playwright-core'
import { expect } from 'vitest'

export const LONG = 60_000
export const PASSWORD = 'correct horse battery'

export function uniqueName(prefix: string): string {
  return `${prefix}${Math.random().toString(36).slice(2, 8)}`
}

/** The session cookie a sign-up or log-in answer sets, as a Cookie header for fetch. */
function sessionCookie(res: Response): string {
  return res.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ')
}

/**
 * Someone signing up or logging in through the HTTP API, not a browser (another person, or the
 * person's other device): returns the session cookie for `apiCall`.
 */
export async function sessionByApi(baseUrl: string, path: 'signup' | 'login', username: string): Promise<string> {
  const res = await fetch(`${baseUrl}/api/auth/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: PASSWORD }),
  })
  expect(res.status, `${path} ${username}`).toBe(path === 'signup' ? 201 : 200)
  return sessionCookie(res)
}

export const signUpByApi = (baseUrl: string, username: string) => sessionByApi(baseUrl, 'signup', username)
export const logInByApi = (baseUrl: string, username: string) => sessionByApi(baseUrl, 'login', username)

/**
 * One API request as the holder of `cookie`; fails the test unless it succeeds. A write always
 * carries a JSON body, `{}` when there is nothing to say (the CSRF guard refuses anything else).
 */
export async function apiCall<T>(
  baseUrl: string,
  cookie: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { cookie, ...(method === 'GET' ? {} : { 'content-type': 'application/json' }) },
    ...(method === 'GET' ? {} : { body: JSON.stringify(body ?? {}) }),
  })
  expect(res.status, `${method} ${path}`).toBeLessThan(300)
  return (res.status === 204 ? undefined : await res.json()) as T
}

export async function signUp(page: Page, baseUrl: string, username: string): Promise<void> {
  await page.goto(baseUrl)
  await page.getByRole('button', { name: 'New here? Create an account' }).click()
  await page.getByLabel('Username').fill(username)
  await page.getByLabel('Password').fill(PASSWORD)
  await page.getByRole('button', { name: 'Sign up' }).click()
  await page.getByRole('heading', { name: 'Rooms' }).waitFor({ timeout: LONG })
}

export async function waitForStatus(page: Page, text: string | RegExp): Promise<void> {
  await page.getByTestId('status').filter({ hasText: text }).waitFor({ timeout: LONG })
}

export async function createRoom(page: Page, name: string): Promise<string> {
  await page.getByRole('button', { name: 'New room' }).click()
  await page.getByLabel('Room name').fill(name)
  await page.getByRole('button', { name: 'Create' }).click()
  await page.waitForURL(/\/rooms\/[0-9a-f-]{36}$/, { timeout: LONG })
  return new URL(page.url()).pathname.split('/').pop()!
}

export async function openRoom(page: Page, baseUrl: string, roomId: string): Promise<void> {
  await page.goto(`${baseUrl}/rooms/${roomId}`)
  await page.getByRole('log').waitFor({ timeout: LONG })
}

export async function joinRoom(page: Page, baseUrl: string, roomId: string): Promise<void> {
  await openRoom(page, baseUrl, roomId)
  await page.getByRole('button', { name: 'Join this room' }).click()
  await page.getByRole('textbox', { name: 'Message' }).waitFor({ timeout: LONG })
}

/** Opens a room from the list without a page load (works offline too). */
export async function switchRoom(page: Page, roomName: string): Promise<void> {
  const back = page.getByRole('button', { name: 'Back to rooms' })
  if (await back.isVisible()) await back.click()
  await page.getByRole('link', { name: new RegExp(roomName) }).click()
  await page.getByRole('heading', { name: roomName }).waitFor({ timeout: LONG })
}

/** Polls until `check` returns true (usable in hooks, where expect.poll is not). */
export async function waitUntil(check: () => Promise<boolean>, what: string, timeout = LONG): Promise<void> {
  const deadline = Date.now() + timeout
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** Clicks Send, as a person does on a phone (there Enter starts a new line; on a desktop it sends too). */
export async function sendMessage(page: Page, text: string): Promise<void> {
  const box = page.getByRole('textbox', { name: 'Message' })
  await box.fill(text)
  await page.getByRole('button', { name: 'Send' }).click()
  await waitUntil(async () => (await box.inputValue()) === '', 'the composer to clear')
}

/** Texts of acknowledged messages on screen, in order. */
export function sentTexts(page: Page): Promise<string[]> {
  return page.locator('[role=log] li[data-state=sent] .msg__body').allInnerTexts()
}

export function waitingTexts(page: Page): Promise<string[]> {
  return page.locator('[role=log] li[data-state=waiting] .msg__body').allInnerTexts()
}

/** The server's copy of a room (oldest first), read with the page's session cookie. */
export async function serverBodies(page: Page, baseUrl: string, roomId: string): Promise<string[]> {
  const res = await page.request.get(`${baseUrl}/api/rooms/${roomId}/messages?limit=100`)
  expect(res.status()).toBe(200)
  const { messages } = (await res.json()) as { messages: Array<{ seq: number; body: string }> }
  return messages.sort((a, b) => a.seq - b.seq).map((m) => m.body)
}

export async function waitForServiceWorker(page: Page): Promise<void> {
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, {
    timeout: LONG,
    polling: 250,
  })
}
