/**
 * This device's notifications in IndexedDB (store `pushDevice`, key 'me'):
 * whether the person wants them here, the subscription the server holds (its
 * id, to unregister it; its endpoint and the server key it was made with, for
 * the service worker to re-register after `pushsubscriptionchange`, since it
 * cannot read the page's memory), and the banner's dismissal. Read as unknown
 * data: a damaged or other-shaped record reads as the default.
 */
import type { FerryDatabase, PushDeviceRecord } from '../db/schema.ts'

export const DEFAULT_PUSH_DEVICE: PushDeviceRecord = { v: 1, wanted: false, subscription: null, promptDismissed: false }

const isText = (value: unknown, max: number): value is string =>
  typeof value === 'string' && value.length > 0 && value.length <= max

function subscriptionOf(value: unknown): PushDeviceRecord['subscription'] {
  if (typeof value !== 'object' || value === null) return null
  const { id, endpoint, publicKey } = value as Record<string, unknown>
  return isText(id, 64) && isText(endpoint, 4096) && isText(publicKey, 256) ? { id, endpoint, publicKey } : null
}

export function pushDeviceOf(value: unknown): PushDeviceRecord {
  if (typeof value !== 'object' || value === null || (value as { v?: unknown }).v !== 1) return DEFAULT_PUSH_DEVICE
  const record = value as Record<string, unknown>
  return {
    v: 1,
    wanted: record.wanted === true,
    subscription: subscriptionOf(record.subscription),
    promptDismissed: record.promptDismissed === true,
  }
}

export async function readPushDevice(db: FerryDatabase): Promise<PushDeviceRecord> {
  return pushDeviceOf(await db.get('pushDevice', 'me'))
}

/** Changes the record in one transaction (read, change, write), so two writers never lose each other's field. */
export async function updatePushDevice(
  db: FerryDatabase,
  change: (record: PushDeviceRecord) => PushDeviceRecord,
): Promise<PushDeviceRecord> {
  const tx = db.transaction('pushDevice', 'readwrite')
  const next = change(pushDeviceOf(await tx.store.get('me')))
  tx.store.put(next, 'me')
  await tx.done
  return next
}
