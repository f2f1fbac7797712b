/**
 * Issue 9 items 2 and 3 in real Chromium, two people on two phones: Alice mentions Bob, whose room
 * list shows an @ on the room until he opens it; he reads, his client sends a `read` frame, the
 * server coalesces it and broadcasts `receipts`, and Alice sees "Seen by bob" under her message.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRoom, joinRoom, LONG, sendMessage, signUp, uniqueName, waitForStatus } from './support/app.ts'
import { type Browser, buildClient, cleanUp, type FerryServer, launchBrowser, startFerry } from './support/ferry.ts'

let server: FerryServer
let alice: Browser
let bob: Browser
const aliceName = uniqueName('alice')
const bobName = uniqueName('bob')
const roomName = `Quay ${uniqueName('')}`

beforeAll(async () => {
  const clientDir = await buildClient()
  server = await startFerry(clientDir)
  ;[alice, bob] = await Promise.all([launchBrowser(), launchBrowser()])
  await Promise.all([signUp(alice.page, server.url, aliceName), signUp(bob.page, server.url, bobName)])
}, 4 * LONG)

afterAll(async () => {
  await cleanUp()
})

describe('mentions and read receipts between two people', () => {
  it('a mention gives Bob an @ until he opens the room; once he has read, Alice sees "Seen by bob"', async () => {
    const roomId = await createRoom(alice.page, roomName)
    // A public room Bob joins, so the mention names a member.
    await joinRoom(bob.page, server.url, roomId)
    await bob.page.getByRole('button', { name: 'Back to rooms' }).click()
    await bob.page.getByRole('heading', { name: 'Rooms' }).waitFor({ timeout: LONG })
    await waitForStatus(bob.page, /^Up to date$/)
    const bobsRow = bob.page.getByRole('link', { name: new RegExp(roomName) })
    await expect.poll(() => bobsRow.locator('.badge--mention').count(), { timeout: LONG }).toBe(0)

    await sendMessage(alice.page, `@${bobName} the boat is in`)
    // Live, without a reload: the @ and the unread count on Bob's list.
    await bobsRow.locator('.badge--mention').waitFor({ timeout: LONG })
    expect(await bobsRow.getAttribute('aria-label')).toContain('@ mentioned you')
    expect(await alice.page.locator('.msg__seen').count()).toBe(0)

    await bobsRow.click()
    await bob.page.getByRole('heading', { name: roomName }).waitFor({ timeout: LONG })
    await bob.page.locator('[role=log] li.msg--mention').waitFor({ timeout: LONG })

    // Alice: Bob's receipt under her message, live.
    const seen = alice.page.locator('[role=log] li.msg--own .msg__seen')
    await seen.waitFor({ timeout: LONG })
    expect(await seen.textContent()).toBe(`Seen by ${bobName}`)

    // Bob's list: the @ is gone once he has read the message.
    await bob.page.getByRole('button', { name: 'Back to rooms' }).click()
    await bob.page.getByRole('heading', { name: 'Rooms' }).waitFor({ timeout: LONG })
    await expect.poll(() => bobsRow.locator('.badge').count(), { timeout: LONG }).toBe(0)
  })
})
