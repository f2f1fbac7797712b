/**
 * Notifications on this device (issue 10, docs/PUSH.md "Client: the page"):
 * the banner offered after the person's first message, turning them on
 * (permission, subscribe with the server's key, register) and off
 * (unsubscribe, unregister), keeping the registration alive at each start,
 * and the local unsubscribe at logout. Actions never reject.
 */
import { signal } from '@preact/signals'
import type { PushKeyResponse, PushSubscriptionResponse } from '../../shared/push/contract.ts'
import { ApiError, api } from '../api/http.ts'
import { getDb } from '../db/page.ts'
import type { PushDeviceRecord } from '../db/schema.ts'
import { DEFAULT_PUSH_DEVICE, readPushDevice, updatePushDevice } from '../push/device.ts'
import { base64UrlToBytes } from '../push/keys.ts'
import { browserPush, type PushPlatform } from '../push/platform.ts'
import { recordAnswer, recordSend } from '../push/prompt.ts'
import { notice } from './store.ts'

/**
 * `unsupported`: this browser cannot; `blocked`: the person (or the browser) denied the
 * permission, only the browser's settings can undo it; `off`/`on`: the person's choice here.
 */
export type PushStatus = 'unsupported' | 'blocked' | 'off' | 'on'

export const pushStatus = signal<PushStatus>('off')
/** The "Get notified of new messages" banner is showing. */
export const pushOffer = signal(false)
/** Turning on or off is under way (the controls wait). */
export const pushBusy = signal(false)

let platform: PushPlatform = browserPush
let device: PushDeviceRecord = DEFAULT_PUSH_DEVICE
/** Who is signed in, for the banner's history (client/push/prompt.ts); null when signed out. */
let me: string | null = null

/** Tests put a fake browser here. */
export function setPushPlatform(next: PushPlatform): void {
  platform = next
}

export const BLOCKED_HELP =
  'Notifications are blocked for Ferry in this browser. To get them, allow notifications for this site in the browser’s site settings, then turn them on here.'

function statusOf(record: PushDeviceRecord): PushStatus {
  if (!platform.supported()) return 'unsupported'
  const permission = platform.permission()
  if (permission === 'denied') return 'blocked'
  return record.wanted && permission === 'granted' ? 'on' : 'off'
}

/**
 * At each start once signed in: what the device record and the browser say, and, when the person
 * wants notifications here, the subscription registered again (idempotent on the server; it may
 * have been dropped, or the browser may have renewed it). Quiet: nothing to act on.
 */
export async function startNotifications(userId: string): Promise<void> {
  me = userId
  try {
    device = await readPushDevice(await getDb())
    pushStatus.value = statusOf(device)
    if (pushStatus.value === 'on') await register(false)
  } catch (error) {
    // Offline is the expected path: the next start registers it.
    if (!(error instanceof ApiError && error.code === 'network'))
      console.warn('[ferry] keeping the push subscription registered failed', error)
  }
}

/**
 * After a message the person sent: the banner, only after the first message they ever sent from
 * this device, and unless they chose already (dismissed or turned on, here and before, or blocked).
 * Never rejects.
 */
export async function offerAfterSend(): Promise<void> {
  const userId = me
  if (!userId || pushOffer.peek()) return
  try {
    const before = await recordSend(await getDb(), userId)
    // `promptDismissed`: a dismissal written by the version before the per-person record, until logout.
    if (before.sent || before.answered || device.promptDismissed || device.wanted) return
    if (me === userId && statusOf(device) === 'off') pushOffer.value = true
  } catch (error) {
    console.warn('[ferry] offering notifications failed', error)
  }
}

/** "Not now": the banner goes and never comes back for this person here, logout included (the account menu still has the setting). */
export async function dismissOffer(): Promise<void> {
  pushOffer.value = false
  await answerOffer()
}

async function answerOffer(): Promise<void> {
  if (!me) return
  try {
    await recordAnswer(await getDb(), me)
  } catch (error) {
    console.warn('[ferry] remembering the answered notification banner failed', error)
  }
}

/** Subscribes with the server's key (an old subscription made with another key is replaced) and registers it. */
async function register(fresh: boolean): Promise<void> {
  const pushManager = await platform.pushManager()
  if (!pushManager) throw new Error('no service worker to receive notifications')
  const { publicKey } = await api<PushKeyResponse>('GET', '/api/push/key')
  let subscription = await pushManager.getSubscription()
  if (subscription && (fresh || !sameKey(subscription, publicKey))) {
    await subscription.unsubscribe()
    subscription = null
  }
  subscription ??= await withinTime(
    pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: base64UrlToBytes(publicKey) }),
    SUBSCRIBE_TIMEOUT_MS,
  )
  const answer = await api<PushSubscriptionResponse>('POST', '/api/push/subscriptions', subscription.toJSON())
  const endpoint = subscription.endpoint
  device = await updatePushDevice(await getDb(), (r) => ({
    ...r,
    wanted: true,
    subscription: { id: answer.subscription.id, endpoint, publicKey },
  }))
}

/**
 * How long subscribing may take. The browser asks its push service (FCM for Chromium), which may
 * never answer: a browser without one (headless Chromium here) leaves the promise pending forever,
 * and the button would stay disabled.
 */
export const SUBSCRIBE_TIMEOUT_MS = 30_000

function withinTime<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the push service did not answer within ${ms / 1000} s`)), ms)
    promise.then(
      (value) => {
        clearTimeout(timer)
        resolve(value)
      },
      (error: unknown) => {
        clearTimeout(timer)
        reject(error)
      },
    )
  })
}

function sameKey(subscription: PushSubscription, publicKey: string): boolean {
  const held = subscription.options?.applicationServerKey
  if (!held) return false
  const a = new Uint8Array(held)
  const b = base64UrlToBytes(publicKey)
  return a.length === b.length && a.every((byte, i) => byte === b[i])
}

/** The banner's button or the account menu's "Turn on notifications": only ever from a tap (the permission prompt needs one). */
export async function turnOnNotifications(): Promise<void> {
  if (pushBusy.peek()) return
  pushBusy.value = true
  try {
    if (!platform.supported()) {
      pushStatus.value = 'unsupported'
      return
    }
    const permission = platform.permission() === 'granted' ? 'granted' : await platform.requestPermission()
    if (permission === 'denied') {
      pushStatus.value = 'blocked'
      pushOffer.value = false
      return
    }
    // The prompt was closed without an answer: nothing changes, the person can ask again.
    if (permission !== 'granted') return
    await register(false)
    pushStatus.value = 'on'
    pushOffer.value = false
    await answerOffer()
  } catch (error) {
    if (error instanceof ApiError && error.code === 'network') {
      notice.value = 'You are offline: turning notifications on needs a connection. Try again when connected.'
    } else {
      console.warn('[ferry] turning notifications on failed', error)
      notice.value =
        error instanceof ApiError
          ? error.message
          : 'This browser could not subscribe to notifications. Try again later.'
    }
  } finally {
    pushBusy.value = false
  }
}

/**
 * The account menu's "Turn off notifications": the browser's subscription ends at once (so
 * nothing more can arrive here, offline too) and the server is told; if it cannot be told now, its
 * next push to the dead endpoint is answered 410 and it drops it.
 */
export async function turnOffNotifications(): Promise<void> {
  if (pushBusy.peek()) return
  pushBusy.value = true
  try {
    const before = device.subscription
    device = await updatePushDevice(await getDb(), (r) => ({ ...r, wanted: false, subscription: null }))
    pushStatus.value = statusOf(device)
    await unsubscribeHere()
    if (before) {
      await api('DELETE', `/api/push/subscriptions/${before.id}`).catch((error: unknown) => {
        // Gone already (404), or offline: the endpoint is dead either way.
        if (!(error instanceof ApiError && (error.code === 'network' || error.status === 404)))
          console.warn('[ferry] unregistering the push subscription failed', error)
      })
    }
  } catch (error) {
    console.warn('[ferry] turning notifications off failed', error)
    notice.value = 'Could not turn notifications off. Try again.'
  } finally {
    pushBusy.value = false
  }
}

/**
 * Logout: the server removes the session's subscriptions; the browser's own ends here too, so
 * nothing meant for the last person arrives on this device. Never rejects.
 */
export async function unsubscribeHere(): Promise<void> {
  try {
    const subscription = platform.supported() ? await (await platform.pushManager())?.getSubscription() : null
    await subscription?.unsubscribe()
  } catch (error) {
    console.warn('[ferry] ending this browser’s push subscription failed', error)
  }
}

/** Signed out: nothing of the last person's choices shows. */
export function forgetNotifications(): void {
  device = DEFAULT_PUSH_DEVICE
  me = null
  pushOffer.value = false
  pushStatus.value = 'off'
}
