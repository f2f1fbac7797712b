import { render } from 'preact'
import './styles.css'
import { onDbBlocked } from './db/page.ts'
import { registerServiceWorker } from './pwa/register.ts'
import { boot, navigate, routeFromPath } from './state/actions.ts'
import { applyUpdate, notice, route } from './state/store.ts'
import { App } from './ui/App.tsx'
import { followDocumentTitle } from './ui/document-title.ts'

// The composition root: lower layers (db, pwa) report through these hooks and never import the UI state.
onDbBlocked(() => {
  notice.value = 'Ferry was updated: close its other tabs or windows to finish.'
})
// A promise nobody handled is a bug: log it with what we know, once, never as a notice.
window.addEventListener('unhandledrejection', (event: PromiseRejectionEvent) => {
  console.warn('[ferry] unhandled promise rejection', event.reason)
  event.preventDefault()
})

route.value = routeFromPath(location.pathname, history.state)
window.addEventListener('popstate', () => navigate(routeFromPath(location.pathname, history.state), true))
document.documentElement.dataset.build = __FERRY_BUILD__
render(<App />, document.getElementById('app')!)
followDocumentTitle()
boot().catch((error: unknown) => {
  console.warn('[ferry] start failed', error)
  notice.value = 'Ferry could not start. Reload the page to try again.'
})
// After load, so the worker's precache downloads never compete with the first paint.
window.addEventListener(
  'load',
  () => {
    registerServiceWorker({
      onUpdateReady: (apply) => {
        applyUpdate.value = apply
      },
    }).catch((error: unknown) => console.warn('[ferry] setting up the service worker failed', error))
  },
  { once: true },
)
