/**
 * The address a notification opens: the room, and the message to show
 * (`?at=seq`). Shared by the service worker (which opens it) and the page
 * (which reads it at start and from the worker's message).
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

export function messageLink(roomId: string, seq: number): string {
  return `/rooms/${roomId.toLowerCase()}?at=${seq}`
}

/** The seq a room link's `?at=` names, or null (absent, or not a positive integer). */
export function atSeqOf(search: string): number | null {
  const raw = new URLSearchParams(search).get('at')
  if (raw === null || !/^[1-9][0-9]{0,15}$/.test(raw)) return null
  const seq = Number(raw)
  return Number.isSafeInteger(seq) ? seq : null
}

/** What a notification carries (`Notification.data`), checked when read back: the browser keeps it across restarts. */
export interface NotificationTarget {
  roomId: string
  seq: number
}

export function notificationTargetOf(data: unknown): NotificationTarget | null {
  if (typeof data !== 'object' || data === null) return null
  const { roomId, seq } = data as { roomId?: unknown; seq?: unknown }
  if (typeof roomId !== 'string' || !UUID.test(roomId)) return null
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1) return null
  return { roomId: roomId.toLowerCase(), seq }
}

/** The page's message from the worker: open this room at this message. */
export interface OpenMessageRequest {
  type: 'open-message'
  roomId: string
  seq: number
}

export function openMessageRequestOf(data: unknown): OpenMessageRequest | null {
  if (typeof data !== 'object' || data === null || (data as { type?: unknown }).type !== 'open-message') return null
  const target = notificationTargetOf(data)
  return target && { type: 'open-message', ...target }
}
