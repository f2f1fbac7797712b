/**
 * Registers /sw.js with workbox-window (no inline script: the CSP forbids it).
 * A new version waits until the person clicks "Reload"; nothing is lost then,
 * because the outbox and drafts live in IndexedDB, not in the page, and every
 * outbox write has committed before the message is shown.
 *
 * This layer knows nothing of the screens: the state layer passes
 * `onUpdateReady`, which gets the function that applies the update.
 */
const UPDATE_CHECK_MS = 60 * 60 * 1000

export interface ServiceWorkerHooks {
  /** A new version is installed and waiting; `apply` activates it and reloads the page. */
  onUpdateReady?: (apply: () => void) => void
}

export async function registerServiceWorker(hooks: ServiceWorkerHooks = {}): Promise<void> {
  if (!('serviceWorker' in navigator) || import.meta.env.DEV) return
  // Not needed for the first paint, so not in the initial bundle.
  const { Workbox } = await import('workbox-window')
  const wb = new Workbox('/sw.js', { scope: '/' })
  let registration: ServiceWorkerRegistration | undefined
  // Each waiting worker is offered once, whoever noticed it first.
  let offered: ServiceWorker | null = null
  const offer = (waiting: ServiceWorker | undefined, apply: () => void) => {
    if (waiting) {
      if (waiting === offered) return
      offered = waiting
    }
    if (hooks.onUpdateReady) hooks.onUpdateReady(apply)
    else console.warn('[ferry] a new version is waiting; nothing offers it (no onUpdateReady)')
  }
  wb.addEventListener('waiting', (event) => {
    offer(event?.sw ?? registration?.waiting ?? undefined, () => {
      wb.addEventListener('controlling', () => location.reload())
      wb.messageSkipWaiting()
    })
  })
  wb.register()
    .then((registered) => {
      registration = registered
      if (registered) watchRegistration(registered)
    })
    .catch((error: unknown) =>
      // Without a worker the app still runs online; only the offline shell and Background Sync are missing.
      console.warn('[ferry] registering the service worker failed; offline start will not work', error),
    )
  /**
   * workbox-window stops listening for `updatefound` after the first one it
   * takes for an update from elsewhere (any found long after registering):
   * had that worker's install failed (a flaky link, a server mid-restart),
   * no later version would be offered until a reload. So the registration is
   * watched here too: a worker that reaches `installed` while this page has a
   * controller is a new version waiting.
   */
  const offerWaiting = (worker: ServiceWorker | null) => {
    if (!worker || !navigator.serviceWorker.controller) return
    offer(worker, () => {
      navigator.serviceWorker.addEventListener('controllerchange', () => location.reload())
      worker.postMessage({ type: 'SKIP_WAITING' })
    })
  }
  const watchRegistration = (registered: ServiceWorkerRegistration) => {
    offerWaiting(registered.waiting)
    registered.addEventListener('updatefound', () => {
      const installing = registered.installing
      installing?.addEventListener('statechange', () => {
        if (installing.state === 'installed') offerWaiting(installing)
      })
    })
  }
  const check = () => {
    if (document.visibilityState !== 'visible') return
    wb.update().catch((error: unknown) => {
      // Offline this is expected: the next check (visibility, hourly) asks again.
      if (navigator.onLine !== false) console.warn('[ferry] checking for a new version failed', error)
    })
  }
  document.addEventListener('visibilitychange', check)
  setInterval(check, UPDATE_CHECK_MS)
}
