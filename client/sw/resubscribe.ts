/**
 * `pushsubscriptionchange`: the browser replaced (or dropped) this device's
 * push subscription. When the person wants notifications here, the worker
 * subscribes again with the key it was made with (kept in IndexedDB, the
 * worker cannot ask the page), registers the new one with the server and
 * unregisters the old one; the session cookie goes with the requests. Any
 * failure leaves the record as it was: the page registers again at its next
 * start (client/push/enable.ts `keepSubscribed`).
 */
import { Check } from 'typebox/schema'
import { PushSubscriptionResponse } from '../../shared/push/contract.ts'
import type { FerryDatabase } from '../db/schema.ts'
import { readPushDevice, updatePushDevice } from '../push/device.ts'
import { base64UrlToBytes } from '../push/keys.ts'

export interface ResubscribeDeps {
  db: FerryDatabase
  /** The subscription the event brings, if the browser made one already. */
  newSubscription: PushSubscription | null
  subscribe(options: PushSubscriptionOptionsInit): Promise<PushSubscription>
  fetch: typeof fetch
}

export type ResubscribeOutcome = 'not-wanted' | 'registered' | 'failed'

export async function resubscribe(deps: ResubscribeDeps): Promise<ResubscribeOutcome> {
  const device = await readPushDevice(deps.db)
  if (!device.wanted || !device.subscription) return 'not-wanted'
  try {
    const subscription =
      deps.newSubscription ??
      (await deps.subscribe({
        userVisibleOnly: true,
        applicationServerKey: base64UrlToBytes(device.subscription.publicKey),
      }))
    const response = await deps.fetch('/api/push/subscriptions', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(subscription.toJSON()),
    })
    const body: unknown = response.ok ? await response.json() : null
    if (!Check(PushSubscriptionResponse, body)) return 'failed'
    const old = device.subscription
    await updatePushDevice(deps.db, (record) => ({
      ...record,
      subscription: { id: body.subscription.id, endpoint: subscription.endpoint, publicKey: old.publicKey },
    }))
    if (old.id !== body.subscription.id) {
      // The old endpoint is dead; the server may have dropped it already (404 is fine).
      await deps
        .fetch(`/api/push/subscriptions/${old.id}`, {
          method: 'DELETE',
          credentials: 'same-origin',
          // The server's CSRF guard wants every write to be JSON, an empty one included.
          headers: { 'content-type': 'application/json' },
          body: '{}',
        })
        .catch(() => undefined)
    }
    return 'registered'
  } catch (error) {
    console.warn('[ferry sw] registering the renewed push subscription failed', error)
    return 'failed'
  }
}
