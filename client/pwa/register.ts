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
  wb.addEventListener('waiting', () => {
    const apply = () => {
      wb.addEventListener('controlling', () => location.reload())
      wb.messageSkipWaiting()
    }
    if (hooks.onUpdateReady) hooks.onUpdateReady(apply)
    else console.warn('[ferry] a new version is waiting; nothing offers it (no onUpdateReady)')
  })
  wb.register().catch((error: unknown) =>
    // Without a worker the app still runs online; only the offline shell and Background Sync are missing.
    console.warn('[ferry] registering the service worker failed; offline start will not work', error),
  )
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
