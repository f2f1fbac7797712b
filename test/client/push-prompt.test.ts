/**
 * The "Get notified of new messages" banner is offered once per person on this
 * device: after the first message they ever send here, never again once they
 * dismissed it or turned notifications on, across reloads and logouts
 * (client/push/prompt.ts, store `pushPrompt`, kept by user id outside the
 * user stores). A record an older version or damage left reads as "not yet".
 */
import 'fake-indexeddb/auto'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { getDb } from '../../client/db/page.ts'
import { clearUserData } from '../../client/db/rooms.ts'
import type { PushPlatform } from '../../client/push/platform.ts'
import { DEFAULT_PUSH_PROMPT, pushPromptOf, readPushPrompt } from '../../client/push/prompt.ts'
import {
  dismissOffer,
  forgetNotifications,
  offerAfterSend,
  pushOffer,
  setPushPlatform,
  startNotifications,
  turnOnNotifications,
} from '../../client/state/notifications.ts'

const ALICE = '00000000-0000-4000-8000-00000000a11c'
const BOB = '00000000-0000-4000-8000-000000000b0b'
const KEY = 'BOr8hZ3pq6VnMrJcq1XKsVyIvYqz9xwqbd9cHc1pFZ8'

const platform = (permission: NotificationPermission): PushPlatform => {
  let current: PushSubscription | null = null
  const pushManager = {
    getSubscription: async () => current,
    subscribe: async () => {
      current = {
        endpoint: 'https://push.example/1',
        options: { applicationServerKey: null },
        toJSON: () => ({
          endpoint: 'https://push.example/1',
          expirationTime: null,
          keys: { p256dh: 'cA', auth: 'YQ' },
        }),
        unsubscribe: async () => true,
      } as unknown as PushSubscription
      return current
    },
  } as unknown as PushManager
  return {
    supported: () => true,
    permission: () => permission,
    requestPermission: async () => 'granted',
    pushManager: async () => pushManager,
  }
}

/** A reload, or a logout and a new sign-in: the page's memory and the user stores are gone. */
async function restart(userId: string, logout = false): Promise<void> {
  forgetNotifications()
  if (logout) await clearUserData(await getDb())
  await startNotifications(userId)
}

beforeEach(async () => {
  const db = await getDb()
  await Promise.all([db.clear('pushDevice'), db.clear('pushPrompt')])
  forgetNotifications()
  setPushPlatform(platform('default'))
})
afterEach(() => vi.unstubAllGlobals())

describe('the offer, once per person on this device', () => {
  it('comes after the first message ever sent here, and not after the next one after a reload', async () => {
    await startNotifications(ALICE)
    await offerAfterSend()
    expect(pushOffer.value).toBe(true)
    await restart(ALICE)
    expect(pushOffer.value).toBe(false)
    await offerAfterSend()
    expect(pushOffer.value).toBe(false)
    expect(await readPushPrompt(await getDb(), ALICE)).toEqual({ v: 1, sent: true, answered: false })
  })

  it('a dismissal outlives a reload and a logout; another person on the device still gets their offer', async () => {
    await startNotifications(ALICE)
    await offerAfterSend()
    await dismissOffer()
    expect(pushOffer.value).toBe(false)
    await restart(ALICE, true)
    await offerAfterSend()
    expect(pushOffer.value).toBe(false)
    expect(await readPushPrompt(await getDb(), ALICE)).toEqual({ v: 1, sent: true, answered: true })
    await restart(BOB, true)
    await offerAfterSend()
    expect(pushOffer.value).toBe(true)
  })

  it('notifications turned on before the first message: no offer later, even after a logout wiped the device record', async () => {
    vi.stubGlobal('fetch', async (url: string) =>
      url === '/api/push/key'
        ? new Response(JSON.stringify({ publicKey: KEY }), { headers: { 'content-type': 'application/json' } })
        : new Response(JSON.stringify({ subscription: { id: '00000000-0000-4000-8000-0000000000a1' } }), {
            status: 201,
            headers: { 'content-type': 'application/json' },
          }),
    )
    await startNotifications(ALICE)
    await turnOnNotifications()
    expect((await readPushPrompt(await getDb(), ALICE)).answered).toBe(true)
    await restart(ALICE, true)
    await offerAfterSend()
    expect(pushOffer.value).toBe(false)
  })

  it('two sends at once make one first message', async () => {
    await startNotifications(ALICE)
    const db = await getDb()
    await Promise.all([offerAfterSend(), offerAfterSend()])
    expect(pushOffer.value).toBe(true)
    expect(await readPushPrompt(db, ALICE)).toEqual({ v: 1, sent: true, answered: false })
  })

  it('a record from an older version or a damaged one means "not yet"', async () => {
    for (const value of [undefined, null, 'x', 1, { v: 2, sent: true, answered: true }, { sent: true }])
      expect(pushPromptOf(value)).toEqual(DEFAULT_PUSH_PROMPT)
    expect(pushPromptOf({ v: 1, sent: 'yes', answered: 1 })).toEqual(DEFAULT_PUSH_PROMPT)
    expect(pushPromptOf({ v: 1, sent: true, answered: false })).toEqual({ v: 1, sent: true, answered: false })
    const db = await getDb()
    await db.put('pushPrompt', { v: 9, sent: true, answered: true } as never, ALICE)
    await startNotifications(ALICE)
    await offerAfterSend()
    expect(pushOffer.value).toBe(true)
  })
})
