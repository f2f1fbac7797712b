/**
 * Background Sync (Chromium): if every Ferry tab is closed before the outbox
 * drains, the service worker gets a `sync` event when the network is back and
 * flushes it over HTTP with the same clientIds (see client/sw/flush.ts).
 */
export const OUTBOX_SYNC_TAG = 'ferry-outbox'

interface SyncManager {
  register(tag: string): Promise<void>
}

export async function requestBackgroundFlush(): Promise<void> {
  if (typeof navigator === 'undefined' || !('serviceWorker' in navigator)) return
  try {
    const registration = (await navigator.serviceWorker.getRegistration()) as
      | (ServiceWorkerRegistration & { sync?: SyncManager })
      | undefined
    await registration?.sync?.register(OUTBOX_SYNC_TAG)
  } catch {
    // Not supported or not permitted: tabs flush on open, online and visibility instead.
  }
}
