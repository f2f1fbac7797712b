/**
 * Turning notifications on and off on the page (issue 10): never offered on
 * first load, offered after a sent message, the permission asked only from
 * the button, the subscription made with the server's key and registered,
 * turning off unsubscribing and unregistering, a blocked permission said once.
 */
import 'fake-indexeddb/auto'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { getDb } from '../../client/db/page.ts'
import { DEFAULT_PUSH_DEVICE, readPushDevice, updatePushDevice } from '../../client/push/device.ts'
import type { PushPlatform } from '../../client/push/platform.ts'
import { readPushPrompt } from '../../client/push/prompt.ts'
import {
  dismissOffer,
  forgetNotifications,
  offerAfterSend,
  pushBusy,
  pushOffer,
  pushStatus,
  SUBSCRIBE_TIMEOUT_MS,
  setPushPlatform,
  startNotifications,
  turnOffNotifications,
  turnOnNotifications,
  unsubscribeHere,
} from '../../client/state/notifications.ts'
import { notice } from '../../client/state/store.ts'

const KEY = 'BOr8hZ3pq6VnMrJcq1XKsVyIvYqz9xwqbd9cHc1pFZ8'
const ME = '00000000-0000-4000-8000-00000000a11c'
const SUB_ID = '00000000-0000-4000-8000-0000000000a1'

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } })

/** A browser whose push service answers: permission as given, subscriptions in memory. */
function fakeBrowser(permission: NotificationPermission, answer: NotificationPermission = 'granted') {
  let current: PushSubscription | null = null
  const state = { permission, asked: 0, subscribed: [] as PushSubscriptionOptionsInit[], unsubscribed: 0 }
  const make = (options: PushSubscriptionOptionsInit, n: number): PushSubscription =>
    ({
      endpoint: `https://push.example/${n}`,
      options: { applicationServerKey: (options.applicationServerKey as Uint8Array).buffer },
      toJSON: () => ({
        endpoint: `https://push.example/${n}`,
        expirationTime: null,
        keys: { p256dh: 'cDI1NmRo', auth: 'YXV0aA' },
      }),
      unsubscribe: async () => {
        state.unsubscribed += 1
        current = null
        return true
      },
    }) as unknown as PushSubscription
  const pushManager = {
    getSubscription: async () => current,
    subscribe: async (options: PushSubscriptionOptionsInit) => {
      state.subscribed.push(options)
      current = make(options, state.subscribed.length)
      return current
    },
  } as unknown as PushManager
  const platform: PushPlatform = {
    supported: () => true,
    permission: () => state.permission,
    requestPermission: async () => {
      state.asked += 1
      state.permission = answer
      return answer
    },
    pushManager: async () => pushManager,
  }
  return { platform, state, current: () => current }
}

/** The server's three routes; returns what was asked. */
function server(offline = false): string[] {
  const asked: string[] = []
  vi.stubGlobal('fetch', async (url: string, init: RequestInit) => {
    asked.push(`${init.method} ${url}`)
    if (offline) throw new TypeError('Failed to fetch')
    if (url === '/api/push/key') return json({ publicKey: KEY })
    if (url === '/api/push/subscriptions') return json({ subscription: { id: SUB_ID } }, 201)
    if (url.startsWith('/api/push/subscriptions/')) return new Response(null, { status: 204 })
    return json({ error: { code: 'not_found', message: 'No such route' } }, 404)
  })
  return asked
}

beforeEach(async () => {
  const db = await getDb()
  await Promise.all([db.clear('pushDevice'), db.clear('pushPrompt')])
  forgetNotifications()
  notice.value = null
})
afterEach(() => vi.unstubAllGlobals())

describe('the offer', () => {
  it('is not there at start, comes after a sent message, and stays away once dismissed (across starts)', async () => {
    setPushPlatform(fakeBrowser('default').platform)
    server()
    await startNotifications(ME)
    expect(pushOffer.value).toBe(false)
    await offerAfterSend()
    expect(pushOffer.value).toBe(true)
    await dismissOffer()
    expect(pushOffer.value).toBe(false)
    forgetNotifications()
    await startNotifications(ME)
    await offerAfterSend()
    expect(pushOffer.value).toBe(false)
    expect((await readPushPrompt(await getDb(), ME)).answered).toBe(true)
  })

  it('is never made when notifications are blocked or the browser cannot show them', async () => {
    setPushPlatform(fakeBrowser('denied').platform)
    await startNotifications(ME)
    await offerAfterSend()
    expect(pushOffer.value).toBe(false)
    expect(pushStatus.value).toBe('blocked')
    setPushPlatform({ ...fakeBrowser('default').platform, supported: () => false })
    await startNotifications(ME)
    await offerAfterSend()
    expect(pushOffer.value).toBe(false)
    expect(pushStatus.value).toBe('unsupported')
  })
})

describe('turning notifications on and off', () => {
  it('asks the permission, subscribes with the server’s key, registers it and keeps what the worker needs', async () => {
    const browser = fakeBrowser('default')
    setPushPlatform(browser.platform)
    const asked = server()
    await startNotifications(ME)
    await offerAfterSend()
    await turnOnNotifications()
    expect(browser.state.asked).toBe(1)
    expect(browser.state.subscribed).toHaveLength(1)
    expect(browser.state.subscribed[0]!.userVisibleOnly).toBe(true)
    expect((browser.state.subscribed[0]!.applicationServerKey as Uint8Array).length).toBe(32)
    expect(asked).toEqual(['GET /api/push/key', 'POST /api/push/subscriptions'])
    expect(pushStatus.value).toBe('on')
    expect(pushOffer.value).toBe(false)
    expect(await readPushDevice(await getDb())).toEqual({
      ...DEFAULT_PUSH_DEVICE,
      wanted: true,
      subscription: { id: SUB_ID, endpoint: 'https://push.example/1', publicKey: KEY },
    })
  })

  it('turning off ends the browser’s subscription and unregisters it', async () => {
    const browser = fakeBrowser('granted')
    setPushPlatform(browser.platform)
    const asked = server()
    await turnOnNotifications()
    asked.length = 0
    await turnOffNotifications()
    expect(browser.state.unsubscribed).toBe(1)
    expect(asked).toEqual([`DELETE /api/push/subscriptions/${SUB_ID}`])
    expect(pushStatus.value).toBe('off')
    expect(await readPushDevice(await getDb())).toMatchObject({ wanted: false, subscription: null })
  })

  it('turning off offline still ends the subscription here (the server drops the dead endpoint later)', async () => {
    const browser = fakeBrowser('granted')
    setPushPlatform(browser.platform)
    server()
    await turnOnNotifications()
    server(true)
    await turnOffNotifications()
    expect(browser.current()).toBeNull()
    expect(pushStatus.value).toBe('off')
    expect(notice.value).toBeNull()
  })

  it('a denied permission says how to allow it, changes nothing else, and is not asked again', async () => {
    const browser = fakeBrowser('default', 'denied')
    setPushPlatform(browser.platform)
    const asked = server()
    await offerAfterSend()
    await turnOnNotifications()
    expect(pushStatus.value).toBe('blocked')
    expect(pushOffer.value).toBe(false)
    expect(browser.state.subscribed).toEqual([])
    expect(asked).toEqual([])
    await offerAfterSend()
    expect(pushOffer.value).toBe(false)
  })

  it('a prompt closed without an answer changes nothing', async () => {
    const browser = fakeBrowser('default', 'default')
    setPushPlatform(browser.platform)
    const asked = server()
    await turnOnNotifications()
    expect(pushStatus.value).toBe('off')
    expect(asked).toEqual([])
  })

  it('offline: says it needs a connection, stays off', async () => {
    setPushPlatform(fakeBrowser('granted').platform)
    server(true)
    await turnOnNotifications()
    expect(pushStatus.value).toBe('off')
    expect(notice.value).toMatch(/offline/)
    expect((await readPushDevice(await getDb())).wanted).toBe(false)
  })

  it('at each start a wanted subscription is registered again; a changed server key makes a new one', async () => {
    const browser = fakeBrowser('granted')
    setPushPlatform(browser.platform)
    const asked = server()
    await turnOnNotifications()
    asked.length = 0
    forgetNotifications()
    await startNotifications(ME)
    expect(pushStatus.value).toBe('on')
    expect(asked).toEqual(['GET /api/push/key', 'POST /api/push/subscriptions'])
    expect(browser.state.subscribed).toHaveLength(1)

    await updatePushDevice(await getDb(), (r) => r)
    vi.stubGlobal('fetch', async (url: string) =>
      url === '/api/push/key'
        ? json({ publicKey: `${KEY.slice(0, -2)}AA` })
        : json({ subscription: { id: SUB_ID } }, 200),
    )
    await startNotifications(ME)
    expect(browser.state.unsubscribed).toBe(1)
    expect(browser.state.subscribed).toHaveLength(2)
  })

  it('a push service that never answers ends in a notice, and the controls come back', async () => {
    const browser = fakeBrowser('granted')
    const stuck = await browser.platform.pushManager()
    stuck!.subscribe = () => new Promise<PushSubscription>(() => undefined)
    setPushPlatform(browser.platform)
    server()
    vi.useFakeTimers()
    try {
      const turning = turnOnNotifications()
      await vi.advanceTimersByTimeAsync(SUBSCRIBE_TIMEOUT_MS)
      await turning
    } finally {
      vi.useRealTimers()
    }
    expect(pushBusy.value).toBe(false)
    expect(pushStatus.value).toBe('off')
    expect(notice.value).toMatch(/could not subscribe/)
    expect((await readPushDevice(await getDb())).wanted).toBe(false)
  })

  it('logout ends the browser’s subscription', async () => {
    const browser = fakeBrowser('granted')
    setPushPlatform(browser.platform)
    server()
    await turnOnNotifications()
    await unsubscribeHere()
    expect(browser.current()).toBeNull()
  })
})
