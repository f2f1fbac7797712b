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

/** One failing handler must not keep the message from the others, nor throw into the publisher (e.g. the socket's frame handler). */
function deliver(message: TabMessage): void {
  for (const handler of handlers) {
    try {
      handler(message)
    } catch (error) {
      console.warn(`[ferry] a handler of the tab message "${message.type}" failed`, error)
    }
  }
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
