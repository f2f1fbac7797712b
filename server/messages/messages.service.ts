import { messageBodyProblem } from '../../shared/validation.ts'
import type { Session } from '../auth/sessions.ts'
import { AppError } from '../http/app-error.ts'
import type { Appender, AppendResult } from './appender.ts'

/** Validates a send and hands it to the one append path. Used by HTTP and WebSocket alike. */
export function sendMessage(
  appender: Appender,
  session: Session,
  input: { roomId: string; clientId: string; body: string },
): Promise<AppendResult> {
  const problem = messageBodyProblem(input.body)
  if (problem) return Promise.resolve({ ok: false, ...problem })
  return appender.append({
    roomId: input.roomId,
    authorId: session.user.id,
    authorName: session.user.username,
    clientId: input.clientId.toLowerCase(),
    body: input.body.trim(),
  })
}

const STATUS: Record<string, number> = { not_found: 404, not_member: 403, message_empty: 400, message_too_long: 400 }

export function appendFailure(result: Extract<AppendResult, { ok: false }>): AppError {
  return new AppError(STATUS[result.code] ?? 400, result.code, result.message)
}
