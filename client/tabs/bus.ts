/**
 * One channel for everything that changes what tabs show. `publish` delivers
 * to this tab and to every other tab of the app (BroadcastChannel does not
 * echo to the sender, so local delivery is explicit).
 */
import type { TabMessage } from './messages.ts'

type Handler = (message: TabMessage) => void

const handlers = new Set<Handler>()
const channel = typeof BroadcastChannel === 'function' ? new BroadcastChannel('ferry') : null
channel?.addEventListener('message', (event: MessageEvent<TabMessage>) => deliver(event.data))

function deliver(message: TabMessage): void {
  for (const handler of handlers) handler(message)
}

export function publish(message: TabMessage): void {
  deliver(message)
  channel?.postMessage(message)
}

/** Only to the other tabs (e.g. a request for the leader). */
export function tellOthers(message: TabMessage): void {
  channel?.postMessage(message)
}

export function onTabMessage(handler: Handler): () => void {
  handlers.add(handler)
  return () => handlers.delete(handler)
}
