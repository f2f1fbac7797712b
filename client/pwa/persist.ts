/**
 * Asks the browser not to evict our storage (the outbox lives there). Asked
 * once, after the person has engaged (sent a message, made or joined a room),
 * because Chromium grants it on engagement and other browsers may prompt.
 */
let asked = false

export async function requestPersistence(): Promise<boolean> {
  if (asked || typeof navigator === 'undefined' || !navigator.storage?.persist) return false
  asked = true
  try {
    if (await navigator.storage.persisted()) return true
    return await navigator.storage.persist()
  } catch (error) {
    // Callers fire and forget this; storage simply stays "best effort".
    console.warn('[ferry] asking for persistent storage failed', error)
    return false
  }
}
