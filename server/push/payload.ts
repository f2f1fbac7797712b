import { LIMITS } from '../../shared/limits.ts'
import type { PushPayload } from '../../shared/push/contract.ts'
import type { RoomEvent } from '../../shared/schemas.ts'

/** The first `max` characters (code points, as message lengths are counted), never half a surrogate pair. */
export function preview(body: string, max = LIMITS.pushPreviewMax): string {
  let out = ''
  let count = 0
  for (const char of body) {
    if (count++ === max) break
    out += char
  }
  return out
}

export interface PayloadInput {
  event: RoomEvent
  roomName: string
  unread: number
  mention: boolean
}

/**
 * The push message's plaintext (shared/push/contract.ts): the whole
 * `message.created` entry rides along when the JSON stays within
 * LIMITS.pushPayloadMax bytes, so the service worker can store it before it
 * shows the notification; otherwise the worker fetches it.
 */
export function buildPayload({ event, roomName, unread, mention }: PayloadInput): string {
  const payload: PushPayload = {
    v: 1,
    roomId: event.roomId,
    roomName,
    seq: event.seq,
    authorName: event.authorName ?? '',
    preview: preview(event.body ?? ''),
    mention,
    unread,
    sentAt: event.createdAt,
  }
  const withEvent = JSON.stringify({ ...payload, event })
  return Buffer.byteLength(withEvent) <= LIMITS.pushPayloadMax ? withEvent : JSON.stringify(payload)
}
