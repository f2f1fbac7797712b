import { render } from 'preact'
import './styles.css'
import { registerServiceWorker } from './pwa/register.ts'
import { boot, navigate, routeFromPath } from './state/actions.ts'
import { route } from './state/store.ts'
import { App } from './ui/App.tsx'

route.value = routeFromPath(location.pathname)
window.addEventListener('popstate', () => navigate(routeFromPath(location.pathname), true))
document.documentElement.dataset.build = __FERRY_BUILD__
render(<App />, document.getElementById('app')!)
void boot()
// After load, so the worker's precache downloads never compete with the first paint.
window.addEventListener('load', () => void registerServiceWorker(), { once: true })
