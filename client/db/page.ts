/**
 * The page's single IndexedDB connection. This layer knows nothing of the
 * screens: what the person is told when an upgrade waits for other tabs is
 * registered from above at boot (`onDbBlocked`, wired in main.tsx).
 */
import { openFerryDb } from './open.ts'
import type { FerryDatabase } from './schema.ts'

let shared: Promise<FerryDatabase> | undefined
const blockedHandlers = new Set<() => void>()

/**
 * Runs `handler` when opening the database waits for another tab that still
 * holds an older version open. Returns the function that removes it. With no
 * handler registered the wait is only logged.
 */
export function onDbBlocked(handler: () => void): () => void {
  blockedHandlers.add(handler)
  return () => blockedHandlers.delete(handler)
}

function blocked(): void {
  if (blockedHandlers.size === 0) {
    console.warn('[ferry] opening the database waits for other Ferry tabs to close (an update is pending)')
    return
  }
  for (const handler of blockedHandlers) {
    try {
      handler()
    } catch (error) {
      console.warn('[ferry] a database-blocked handler failed', error)
    }
  }
}

/** The page's single connection. */
export function getDb(): Promise<FerryDatabase> {
  shared ??= openFerryDb({
    onBlocked: blocked,
    // This tab's code is older than the database another tab wants: reload into the new version.
    onBlocking: () => location.reload(),
  })
  return shared
}
