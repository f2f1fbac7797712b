/**
 * `notificationclick` (issue 10): which window opens the room at the message,
 * and `pushsubscriptionchange`: the worker registers the renewed subscription
 * from what IndexedDB keeps (it cannot read the page's memory).
 */
import { describe, expect, it, vi } from 'vitest'
import { DEFAULT_PUSH_DEVICE, pushDeviceOf, readPushDevice, updatePushDevice } from '../../client/push/device.ts'
import { type ClickWindow, clickAction, handleNotificationClick } from '../../client/sw/click.ts'
import { resubscribe } from '../../client/sw/resubscribe.ts'
import { freshDb, ROOM_A, ROOM_B } from './support.ts'

const ORIGIN = 'https://ferry.example'
const target = { roomId: ROOM_A, seq: 50 }
const win = (id: string, path: string, over: Partial<ClickWindow> = {}): ClickWindow => ({
  id,
  url: `${ORIGIN}${path}`,
  focused: false,
  visibilityState: 'hidden',
  ...over,
})
const open = { type: 'open-message', roomId: ROOM_A, seq: 50 }

describe('notification click: where the room opens', () => {
  it('opens a new window at the room and message when no Ferry window is open', () => {
    expect(clickAction(target, [], ORIGIN)).toEqual({ kind: 'open', url: `/rooms/${ROOM_A}?at=50` })
    // Another site's window is not ours to take over.
    expect(clickAction(target, [{ ...win('x', '/'), url: 'https://elsewhere.example/' }], ORIGIN)).toEqual({
      kind: 'open',
      url: `/rooms/${ROOM_A}?at=50`,
    })
  })

  it('prefers a window showing that room, then the focused one, then a visible one, then any', () => {
    const list = win('list', '/', { visibilityState: 'visible' })
    const focused = win('focused', `/rooms/${ROOM_B}`, { focused: true, visibilityState: 'visible' })
    const inRoom = win('room', `/rooms/${ROOM_A.toUpperCase()}`)
    const hidden = win('hidden', '/discover')
    expect(clickAction(target, [list, focused, inRoom], ORIGIN)).toEqual({
      kind: 'post',
      windowId: 'room',
      message: open,
    })
    expect(clickAction(target, [list, focused], ORIGIN)).toMatchObject({ windowId: 'focused' })
    expect(clickAction(target, [hidden, list], ORIGIN)).toMatchObject({ windowId: 'list' })
    expect(clickAction(target, [hidden], ORIGIN)).toMatchObject({ windowId: 'hidden' })
  })

  it('tells the chosen window and focuses it; opens one otherwise; a damaged notification opens the app', async () => {
    const posted: unknown[] = []
    const focus = vi.fn(async () => undefined)
    const openWindow = vi.fn(async (_url: string) => null)
    const windows = async () => [{ ...win('w', '/'), focus, postMessage: (m: unknown) => posted.push(m) }]
    await handleNotificationClick(target, { windows, openWindow, origin: ORIGIN })
    expect(posted).toEqual([open])
    expect(focus).toHaveBeenCalled()
    expect(openWindow).not.toHaveBeenCalled()

    await handleNotificationClick(target, { windows: async () => [], openWindow, origin: ORIGIN })
    expect(openWindow).toHaveBeenLastCalledWith(`/rooms/${ROOM_A}?at=50`)
    await handleNotificationClick({ roomId: 'javascript:alert(1)', seq: 1 }, { windows, openWindow, origin: ORIGIN })
    expect(openWindow).toHaveBeenLastCalledWith('/')
  })
})

describe('the device record', () => {
  it('reads damaged or other-shaped records as the default', () => {
    for (const value of [undefined, null, 'x', { v: 2, wanted: true }, { wanted: true }])
      expect(pushDeviceOf(value)).toEqual(DEFAULT_PUSH_DEVICE)
    expect(pushDeviceOf({ v: 1, wanted: 'yes', subscription: { id: 1 }, promptDismissed: true })).toEqual({
      ...DEFAULT_PUSH_DEVICE,
      promptDismissed: true,
    })
  })
})

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } })
}

const OLD_ID = '00000000-0000-4000-8000-0000000000a1'
const NEW_ID = '00000000-0000-4000-8000-0000000000a2'
const KEY = 'BOr8hZ3pq6VnMrJcq1XKsVyIvYqz9xwqbd9cHc1pFZ8'

function fakeSubscription(endpoint: string): PushSubscription {
  return {
    endpoint,
    toJSON: () => ({ endpoint, expirationTime: null, keys: { p256dh: 'cDI1NmRo', auth: 'YXV0aA' } }),
  } as unknown as PushSubscription
}

describe('pushsubscriptionchange: re-registering', () => {
  it('subscribes again with the kept key, registers the new endpoint and drops the old one', async () => {
    const db = await freshDb()
    await updatePushDevice(db, (r) => ({
      ...r,
      wanted: true,
      subscription: { id: OLD_ID, endpoint: 'https://push.example/old', publicKey: KEY },
    }))
    const calls: Array<[string, RequestInit | undefined]> = []
    const fetchImpl = (async (url: string, init?: RequestInit) => {
      calls.push([url, init])
      return url === '/api/push/subscriptions'
        ? json(201, { subscription: { id: NEW_ID } })
        : new Response(null, { status: 204 })
    }) as typeof fetch
    const subscribe = vi.fn(async (_o: PushSubscriptionOptionsInit) => fakeSubscription('https://push.example/new'))
    expect(await resubscribe({ db, newSubscription: null, subscribe, fetch: fetchImpl })).toBe('registered')
    const options = subscribe.mock.calls[0]![0]
    expect(options.userVisibleOnly).toBe(true)
    expect((options.applicationServerKey as Uint8Array).length).toBe(32)
    expect(calls.map(([url, init]) => [init?.method, url])).toEqual([
      ['POST', '/api/push/subscriptions'],
      ['DELETE', `/api/push/subscriptions/${OLD_ID}`],
    ])
    expect(JSON.parse(String(calls[0]![1]!.body))).toMatchObject({ endpoint: 'https://push.example/new' })
    expect((await readPushDevice(db)).subscription).toEqual({
      id: NEW_ID,
      endpoint: 'https://push.example/new',
      publicKey: KEY,
    })
  })

  it('does nothing when the person does not want notifications here, and keeps the record when the server refuses', async () => {
    const db = await freshDb()
    const fetchImpl = vi.fn(async () => json(401, { error: { code: 'unauthorized', message: 'Sign in' } }))
    const subscribe = vi.fn(async () => fakeSubscription('https://push.example/new'))
    expect(await resubscribe({ db, newSubscription: null, subscribe, fetch: fetchImpl as typeof fetch })).toBe(
      'not-wanted',
    )
    expect(subscribe).not.toHaveBeenCalled()

    const kept = { id: OLD_ID, endpoint: 'https://push.example/old', publicKey: KEY }
    await updatePushDevice(db, (r) => ({ ...r, wanted: true, subscription: kept }))
    const given = fakeSubscription('https://push.example/given')
    expect(await resubscribe({ db, newSubscription: given, subscribe, fetch: fetchImpl as typeof fetch })).toBe(
      'failed',
    )
    expect(subscribe).not.toHaveBeenCalled()
    expect((await readPushDevice(db)).subscription).toEqual(kept)
  })
})
