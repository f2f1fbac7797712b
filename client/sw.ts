/// <reference lib="webworker" />
/**
 * Ferry's service worker: the precached app shell, offline navigation to it,
 * the update handshake, and the Background Sync outbox flush. API responses
 * are never cached here: IndexedDB holds the data.
 */
import { clientsClaim } from 'workbox-core'
import { cleanupOutdatedCaches, createHandlerBoundToURL, precacheAndRoute } from 'workbox-precaching'
import { NavigationRoute, registerRoute } from 'workbox-routing'
import { openFerryDb } from './db/open.ts'
import { OUTBOX_SYNC_TAG } from './pwa/background-sync.ts'
import { flushOutboxOverHttp } from './sw/flush.ts'

declare const self: ServiceWorkerGlobalScope & { __WB_MANIFEST: Array<{ url: string; revision: string | null }> }

// The first install takes over open tabs at once; later versions wait for the update prompt.
clientsClaim()
precacheAndRoute(self.__WB_MANIFEST)
cleanupOutdatedCaches()
registerRoute(new NavigationRoute(createHandlerBoundToURL('/index.html'), { denylist: [/^\/api\//] }))

// The page asks for this only when the person clicks "Reload" in the update prompt.
self.addEventListener('message', (event) => {
  if (event.data?.type === 'SKIP_WAITING') {
    self.skipWaiting().catch((error: unknown) => console.warn('[ferry sw] activating the new version failed', error))
  }
})

interface SyncEvent extends ExtendableEvent {
  tag: string
}

self.addEventListener('sync', (event) => {
  const sync = event as SyncEvent
  if (sync.tag !== OUTBOX_SYNC_TAG) return
  sync.waitUntil(
    (async () => {
      const windows = await self.clients.matchAll({ type: 'window' })
      if (windows.length > 0) return
      const db = await openFerryDb()
      try {
        await flushOutboxOverHttp(db)
      } finally {
        db.close()
      }
    })().catch((error: unknown) => {
      // Logged, then rethrown: a failed sync event is what makes the browser try it again later.
      console.warn('[ferry sw] background flush of the outbox failed; the browser retries later', error)
      throw error
    }),
  )
})
