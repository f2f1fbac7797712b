/**
 * Leader election with the Web Locks API: the tab holding the lock owns the
 * socket and flushes the outbox; the lock passes on when that tab closes.
 *
 * A frozen tab keeps its lock, so:
 * 1. the leader gives the lock up on `freeze` and asks again on `resume`;
 * 2. the leader sends a heartbeat; a visible follower that hears none for
 *    STALE_MS takes the lock over (`steal`), and the old leader, whose lock
 *    request then rejects, stops its socket and queues up again.
 */
import { onTabMessage, tellOthers } from './bus.ts'

const LOCK = 'ferry-leader'
const HEARTBEAT_MS = 3_000
const STALE_MS = 15_000

/** `lead` starts the leader's work and returns the function that stops it. */
export function electLeader(lead: () => () => void): () => void {
  const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined
  if (!locks) {
    // No Web Locks (very old browsers, tests): every tab leads; clientIds keep sends single.
    return lead()
  }
  let release: (() => void) | null = null
  let lastHeartbeat = Date.now()
  let closed = false
  let queued = false

  const request = (steal: boolean) => {
    if (closed || release || (queued && !steal)) return
    queued = true
    locks
      .request(LOCK, steal ? { steal: true } : {}, () => {
        queued = false
        // Already leading through another request (a steal overtook our place in line).
        if (closed || release) return
        const stop = lead()
        const beat = setInterval(() => tellOthers({ type: 'heartbeat', at: Date.now() }), HEARTBEAT_MS)
        tellOthers({ type: 'heartbeat', at: Date.now() })
        return new Promise<void>((resolve) => {
          release = () => {
            release = null
            clearInterval(beat)
            stop()
            resolve()
          }
        })
      })
      .catch((error: unknown) => {
        queued = false
        // AbortError: our lock was stolen (we were frozen or too slow), the expected case. Anything
        // else (the lock manager failed, or starting the leader's work threw) is a bug worth seeing.
        if (!(error instanceof DOMException && error.name === 'AbortError')) {
          console.warn('[ferry] leading this tab failed; asking for the lock again', error)
        }
        // Either way: stop leading and wait in line again.
        release?.()
        setTimeout(() => request(false), 1_000)
      })
  }

  const stopListening = onTabMessage((message) => {
    if (message.type === 'heartbeat') lastHeartbeat = message.at
  })
  const watchdog = setInterval(() => {
    if (!release && document.visibilityState === 'visible' && Date.now() - lastHeartbeat > STALE_MS) {
      lastHeartbeat = Date.now()
      request(true)
    }
  }, HEARTBEAT_MS)
  const onFreeze = () => release?.()
  const onResume = () => {
    lastHeartbeat = Date.now()
    request(false)
  }
  document.addEventListener('freeze', onFreeze)
  document.addEventListener('resume', onResume)
  request(false)

  return () => {
    closed = true
    clearInterval(watchdog)
    stopListening()
    document.removeEventListener('freeze', onFreeze)
    document.removeEventListener('resume', onResume)
    release?.()
  }
}
