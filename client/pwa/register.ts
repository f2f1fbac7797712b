/**
 * Registers /sw.js with workbox-window (no inline script: the CSP forbids it).
 * A new version waits until the person clicks "Reload"; nothing is lost then,
 * because the outbox and drafts live in IndexedDB, not in the page, and every
 * outbox write has committed before the message is shown.
 */
import { applyUpdate } from '../state/store.ts'

const UPDATE_CHECK_MS = 60 * 60 * 1000

export async function registerServiceWorker(): Promise<void> {
  if (!('serviceWorker' in navigator) || import.meta.env.DEV) return
  // Not needed for the first paint, so not in the initial bundle.
  const { Workbox } = await import('workbox-window')
  const wb = new Workbox('/sw.js', { scope: '/' })
  wb.addEventListener('waiting', () => {
    applyUpdate.value = () => {
      wb.addEventListener('controlling', () => location.reload())
      wb.messageSkipWaiting()
    }
  })
  void wb.register()
  const check = () => {
    if (document.visibilityState === 'visible') void wb.update().catch(() => undefined)
  }
  document.addEventListener('visibilitychange', check)
  setInterval(check, UPDATE_CHECK_MS)
}
