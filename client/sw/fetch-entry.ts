/**
 * A push too large to carry its message names it only (room, seq): the
 * worker asks the server for that one entry when the network allows, and
 * checks the answer like any other (a stored entry is read back for years).
 */
import { Check } from 'typebox/schema'
import { EventsResponse } from '../../shared/api.ts'
import type { RoomEvent } from '../../shared/schemas.ts'

/** Enough for a slow link; the notification waits for it (event.waitUntil), so not much more. */
export const ENTRY_FETCH_TIMEOUT_MS = 8_000

/** The `message.created` at `seq`, or null (offline, refused, timed out, or not such an entry). Never rejects. */
export async function fetchPushedEntry(
  roomId: string,
  seq: number,
  fetchImpl: typeof fetch = fetch,
  timeoutMs = ENTRY_FETCH_TIMEOUT_MS,
): Promise<RoomEvent | null> {
  const controller = new AbortController()
  const timer = setTimeout(() => controller.abort(), timeoutMs)
  try {
    const response = await fetchImpl(`/api/rooms/${roomId}/events?after=${seq - 1}&limit=1`, {
      credentials: 'same-origin',
      signal: controller.signal,
    })
    if (!response.ok) return null
    const body: unknown = await response.json()
    if (!Check(EventsResponse, body)) return null
    const entry = body.events.find((e) => e.seq === seq)
    return entry && entry.roomId === roomId && entry.kind === 'message.created' ? entry : null
  } catch {
    // Offline or cut off: the notification still shows; the page fetches the message when it opens.
    return null
  } finally {
    clearTimeout(timer)
  }
}
