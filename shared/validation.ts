import type { ErrorCode } from './errors.ts'
import { LIMITS } from './limits.ts'

/** Length in user-perceived units close enough for limits: Unicode code points. */
export const characterCount = (text: string) => [...text].length

/** The MessageBody schema's rule (PostgreSQL text), checked here too so a client refuses before queueing. */
const storableText = new RegExp(LIMITS.storableTextPattern, 'u')

/**
 * Why a message body would be refused, or null when it is fine. The server
 * stores the trimmed body; the client uses this to refuse before queueing.
 */
export function messageBodyProblem(body: string): { code: ErrorCode; message: string } | null {
  if (!storableText.test(body)) {
    return {
      code: 'validation_failed',
      message: 'A message cannot contain U+0000 or a broken character (a lone surrogate)',
    }
  }
  const length = characterCount(body.trim())
  if (length < LIMITS.messageBodyMin) return { code: 'message_empty', message: 'A message cannot be empty' }
  if (length > LIMITS.messageBodyMax) {
    return {
      code: 'message_too_long',
      message: `A message can be at most ${LIMITS.messageBodyMax} characters (this one has ${length})`,
    }
  }
  return null
}
