/**
 * The tunnel: Alice goes offline, writes 10 messages across two rooms,
 * reloads while offline (they are still there, waiting), comes back → Bob
 * gets each exactly once, in order. Then a cold start in airplane mode shows
 * the rooms and history she had seen.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createRoom,
  joinRoom,
  LONG,
  openRoom,
  sendMessage,
  sentTexts,
  serverBodies,
  signUp,
  switchRoom,
  uniqueName,
  waitForServiceWorker,
  waitForStatus,
  waitingTexts,
} from './support/app.ts'
import { type Browser, buildClient, cleanUp, type FerryServer, launchBrowser, startFerry } from './support/ferry.ts'

let server: FerryServer
let alice: Browser
let bob: Browser
const rooms: Record<'Deck' | 'Galley', string> = { Deck: '', Galley: '' }
// Interleaved across the rooms, so per-room order and cross-room independence are both exercised.
const plan: Array<['Deck' | 'Galley', string]> = [
  ['Deck', 'tunnel 1'],
  ['Deck', 'tunnel 2'],
  ['Galley', 'tunnel 3'],
  ['Galley', 'tunnel 4'],
  ['Deck', 'tunnel 5'],
  ['Galley', 'tunnel 6'],
  ['Deck', 'tunnel 7'],
  ['Deck', 'tunnel 8'],
  ['Galley', 'tunnel 9'],
  ['Galley', 'tunnel 10'],
]
const expected = (room: 'Deck' | 'Galley') => plan.filter(([r]) => r === room).map(([, text]) => text)

beforeAll(async () => {
  server = await startFerry(await buildClient())
  ;[alice, bob] = await Promise.all([launchBrowser(), launchBrowser()])
  await signUp(alice.page, server.url, uniqueName('alice'))
  await signUp(bob.page, server.url, uniqueName('bob'))
  rooms.Deck = await createRoom(alice.page, 'Deck')
  await sendMessage(alice.page, 'before the tunnel')
  await alice.page.getByRole('button', { name: 'Back to rooms' }).click()
  rooms.Galley = await createRoom(alice.page, 'Galley')
  await joinRoom(bob.page, server.url, rooms.Deck)
  await joinRoom(bob.page, server.url, rooms.Galley)
  await waitForServiceWorker(alice.page)
  await waitForStatus(alice.page, /^Up to date$/)
})

afterAll(cleanUp)

describe('offline outbox', () => {
  it('queues 10 messages offline, keeps them across an offline reload, then delivers each exactly once in order', async () => {
    const page = alice.page
    await alice.context.setOffline(true)
    await waitForStatus(page, 'Offline')

    let current: 'Deck' | 'Galley' | null = null
    for (const [room, text] of plan) {
      if (room !== current) {
        await switchRoom(page, room)
        current = room
      }
      await sendMessage(page, text)
    }
    await waitForStatus(page, '10 waiting to send')

    await page.reload()
    await waitForStatus(page, '10 waiting to send')
    await page.getByRole('log').waitFor({ timeout: LONG })
    await expect.poll(() => waitingTexts(page), { timeout: LONG }).toEqual(expected('Galley'))
    await switchRoom(page, 'Deck')
    await expect.poll(() => waitingTexts(page), { timeout: LONG }).toEqual(expected('Deck'))

    await alice.context.setOffline(false)
    await waitForStatus(page, /^Up to date$/)
    await expect.poll(() => sentTexts(page), { timeout: LONG }).toEqual(['before the tunnel', ...expected('Deck')])

    // Bob, who stayed online, sees each message once and in the order written.
    await openRoom(bob.page, server.url, rooms.Deck)
    await expect.poll(() => sentTexts(bob.page), { timeout: LONG }).toEqual(['before the tunnel', ...expected('Deck')])
    await openRoom(bob.page, server.url, rooms.Galley)
    await expect.poll(() => sentTexts(bob.page), { timeout: LONG }).toEqual(expected('Galley'))

    // And the server holds exactly one row per message.
    expect(await serverBodies(bob.page, server.url, rooms.Deck)).toEqual(['before the tunnel', ...expected('Deck')])
    expect(await serverBodies(bob.page, server.url, rooms.Galley)).toEqual(expected('Galley'))
  })

  it('a cold start in airplane mode shows the rooms and history seen before', async () => {
    const profile = alice.profileDir
    await alice.close()
    alice = await launchBrowser(profile)
    await alice.context.setOffline(true)
    const page = alice.page
    await page.goto(server.url)
    await page.getByRole('heading', { name: 'Rooms' }).waitFor({ timeout: LONG })
    await expect(page.getByRole('link', { name: /Deck/ }).isVisible()).resolves.toBe(true)
    await switchRoom(page, 'Galley')
    await expect.poll(() => sentTexts(page), { timeout: LONG }).toEqual(expected('Galley'))
    await switchRoom(page, 'Deck')
    await expect.poll(() => sentTexts(page), { timeout: LONG }).toEqual(['before the tunnel', ...expected('Deck')])
    await waitForStatus(page, /Offline|Connecting/)
    await alice.context.setOffline(false)
  })
})
