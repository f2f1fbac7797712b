/**
 * The push message as the service worker reads it: input from outside, like
 * any frame. Anything that is not a version-1 PushPayload (shared/push/contract.ts)
 * whose `event`, when present, is the very message it announces, is ignored.
 */
import { Check } from 'typebox/schema'
import { LIMITS } from '../../shared/limits.ts'
import { PushPayload } from '../../shared/push/contract.ts'

/** The push's data as text (PushMessageData.text()), or null when there is none or it is not ours. */
export function parsePushPayload(text: string | null | undefined): PushPayload | null {
  if (typeof text !== 'string' || text.length === 0) return null
  // Characters ≤ bytes: a text longer than the byte limit cannot be a payload the server sent.
  if (text.length > LIMITS.pushPayloadMax) return null
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch {
    return null
  }
  if (!Check(PushPayload, data) || data.seq < 1) return null
  const { event } = data
  // An entry that is not the announced message would be stored as something it is not.
  if (event && (event.kind !== 'message.created' || event.roomId !== data.roomId || event.seq !== data.seq)) return null
  return data
}
