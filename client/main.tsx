import { effect } from '@preact/signals'
import { render } from 'preact'
import './styles.css'
import { getDb, onDbBlocked } from './db/page.ts'
import { openMessageRequestOf } from './push/links.ts'
import { registerServiceWorker } from './pwa/register.ts'
import { afterNextPaint } from './state/after-paint.ts'
import { startBadge } from './state/badge.ts'
import { keepFirstScreen } from './state/first-screen.ts'
import { startFocusReports } from './state/focus.ts'
import { startMemberRefresh } from './state/members.ts'
import { navigate, routeFromPath } from './state/navigation.ts'
import { startRoomLevels } from './state/room-levels.ts'
import { boot } from './state/session.ts'
import { applyUpdate, notice, route, user } from './state/store.ts'
import { App } from './ui/App.tsx'
import { followDocumentTitle } from './ui/document-title.ts'

// Marks for the cold-start breakdown (bench/client.ts); free otherwise.
performance.mark('ferry:first-module')
// The composition root: lower layers (db, pwa) report through these hooks and never import the UI state.
onDbBlocked(() => {
  notice.value = 'Ferry was updated: close its other tabs or windows to finish.'
})
// Opening IndexedDB is the slowest step of a cold start: begin it before anything else runs (boot awaits the same connection).
const opening = getDb()
// A promise nobody handled is a bug: log it with what we know, once, never as a notice.
window.addEventListener('unhandledrejection', (event: PromiseRejectionEvent) => {
  console.warn('[ferry] unhandled promise rejection', event.reason)
  event.preventDefault()
})

route.value = routeFromPath(location.pathname, history.state, location.search)
window.addEventListener('popstate', () =>
  navigate(routeFromPath(location.pathname, history.state, location.search), true),
)
// A notification tapped while this window is open: the service worker asks it to show the message.
navigator.serviceWorker?.addEventListener('message', (event: MessageEvent) => {
  const request = openMessageRequestOf(event.data)
  if (request) navigate({ name: 'room', roomId: request.roomId, at: request.seq })
})
document.documentElement.dataset.build = __FERRY_BUILD__
render(<App />, document.getElementById('app')!)
followDocumentTitle()
// Open member lists follow role changes and member notices as they arrive (state/members.ts).
startMemberRefresh()
// The room on screen goes to the server (through the leader's socket): no push for it (issue 10).
startFocusReports()
// Per-room notification levels: the room rows' muted icon and the room menu's choice (issue 10).
startRoomLevels()
// The unread total on the app icon, on every change of the counts (issue 10).
startBadge()
// The next cold start paints from one saved record of what is shown (db/first-screen.ts).
opening.then(keepFirstScreen, () => {
  // Nothing to save into: boot reports the failed open.
})
/** Resolves once the first screen is known (the cached one, or signing in), i.e. is being painted. */
function firstScreenDecided(): Promise<void> {
  return new Promise((resolve) => {
    const stop = effect(() => {
      if (user.value === undefined) return
      resolve()
      queueMicrotask(() => stop())
    })
  })
}

// After load and after the first screen is painted, so neither the worker's registration nor its
// precache downloads compete with the first paint (the worker already serves this start if installed).
const started = boot().then(
  () => undefined,
  (error: unknown) => {
    console.warn('[ferry] start failed', error)
    notice.value = 'Ferry could not start. Reload the page to try again.'
  },
)
const loaded = new Promise<void>((resolve) => {
  if (document.readyState === 'complete') resolve()
  else window.addEventListener('load', () => resolve(), { once: true })
})
Promise.all([loaded, Promise.race([firstScreenDecided(), started])])
  .then(() => afterNextPaint())
  .then(() =>
    registerServiceWorker({
      onUpdateReady: (apply) => {
        applyUpdate.value = apply
      },
    }),
  )
  .catch((error: unknown) => console.warn('[ferry] setting up the service worker failed', error))
