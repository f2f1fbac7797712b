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
import { handleNotificationClick } from './sw/click.ts'
import { fetchPushedEntry } from './sw/fetch-entry.ts'
import { flushOutboxOverHttp } from './sw/flush.ts'
import { handlePush } from './sw/push.ts'
import { resubscribe } from './sw/resubscribe.ts'
import type { TabMessage } from './tabs/messages.ts'

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

/** To every tab, on the tab bus's channel (client/tabs/bus.ts). */
function tellTabs(message: TabMessage): void {
  const channel = new BroadcastChannel('ferry')
  channel.postMessage(message)
  channel.close()
}

interface SyncEvent extends ExtendableEvent {
  tag: string
}

self.addEventListener('sync', (event) => {
  const sync = event as SyncEvent
  if (sync.tag !== OUTBOX_SYNC_TAG) return
  sync.waitUntil(
    (async () => {
      // Any Ferry window flushes itself, one the worker does not control too (opened before the
      // worker took over, or reloaded bypassing it): racing it, the worker would settle messages
      // that window still shows as waiting.
      const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true })
      if (windows.length > 0) return
      const db = await openFerryDb()
      try {
        await flushOutboxOverHttp(db, fetch, () => Date.now(), tellTabs)
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

// Notifications (issue 10, docs/PUSH.md): the pushed message is stored before it is announced.
self.addEventListener('push', (event) => {
  event.waitUntil(
    handlePush(event.data?.text() ?? null, {
      openDb: () => openFerryDb(),
      fetchEntry: (roomId, seq) => fetchPushedEntry(roomId, seq),
      online: () => self.navigator.onLine,
      windows: () => self.clients.matchAll({ type: 'window', includeUncontrolled: true }),
      show: (title, options) => self.registration.showNotification(title, options),
      badge: self.navigator,
      tell: tellTabs,
    }).catch((error: unknown) => console.warn('[ferry sw] handling a push failed', error)),
  )
})

self.addEventListener('notificationclick', (event) => {
  event.notification.close()
  event.waitUntil(
    handleNotificationClick(event.notification.data, {
      windows: () => self.clients.matchAll({ type: 'window', includeUncontrolled: true }),
      openWindow: (url) => self.clients.openWindow(url),
      origin: self.location.origin,
    }),
  )
})

interface PushSubscriptionChangeEvent extends ExtendableEvent {
  readonly newSubscription: PushSubscription | null
}

self.addEventListener('pushsubscriptionchange', (event) => {
  const change = event as PushSubscriptionChangeEvent
  change.waitUntil(
    (async () => {
      const db = await openFerryDb()
      try {
        await resubscribe({
          db,
          newSubscription: change.newSubscription ?? null,
          subscribe: (options) => self.registration.pushManager.subscribe(options),
          fetch: (input, init) => fetch(input, init),
        })
      } finally {
        db.close()
      }
    })().catch((error: unknown) => console.warn('[ferry sw] renewing the push subscription failed', error)),
  )
})
