import type { Kysely } from 'kysely'
import { mentionedUsernames } from '../../shared/conversation/mentions.ts'
import { type ReplyFields, replyProblem } from '../../shared/conversation/requests.ts'
import { messageBodyProblem } from '../../shared/validation.ts'
import type { Session } from '../auth/sessions.ts'
import type { DB } from '../db/schema.ts'
import { AppError } from '../http/app-error.ts'
import { canRead } from '../rooms/access.ts'
import { wasMember } from '../rooms/room-log.ts'
import { findRoomAccess } from '../rooms/rooms.repository.ts'
import type { Appender, AppendResult } from './appender.ts'

/**
 * Validates a send and hands it to the one append path; used by HTTP and
 * WebSocket alike. The appender answers a stored clientId with the original
 * event before it looks at membership, so an outbox retry after leaving a
 * room still succeeds. Refusals are answered as the sender may see them
 * (`asSeenBy`).
 */
export async function sendMessage(
  db: Kysely<DB>,
  appender: Appender,
  session: Session,
  input: { roomId: string; clientId: string; body: string; afterClientId?: string | undefined } & ReplyFields,
): Promise<AppendResult> {
  const problem = messageBodyProblem(input.body) ?? replyProblem(input)
  if (problem) return { ok: false, ...problem }
  // Ids arrive in lower case, as stored (made canonical where they were validated: shared/canonical-ids.ts).
  const { roomId, clientId, afterClientId } = input
  if (afterClientId === clientId) {
    return { ok: false, code: 'validation_failed', message: 'afterClientId must name an earlier message, not this one' }
  }
  const body = input.body.trim()
  const result = await appender.append({
    roomId,
    authorId: session.user.id,
    authorName: session.user.username,
    clientId,
    body,
    ...(afterClientId ? { afterClientId } : {}),
    // A reply names its target like an operation does; the append checks it is a message of this room.
    ...(input.replyTo !== undefined ? { targetSeq: input.replyTo } : {}),
    ...(input.replyToClientId !== undefined ? { targetClientId: input.replyToClientId } : {}),
    // The body's @names; the append keeps those of room members (docs/PROTOCOL.md, "Wire to columns").
    ...(body.includes('@') ? { mentionNames: mentionedUsernames(body) } : {}),
  })
  return asSeenBy(db, session.user.id, roomId, result)
}

/**
 * A write's answer as its author may see it, for sends and operations alike:
 * `not_member` for a private room the user cannot read becomes `not_found`
 * (ids cannot be probed), except for someone the log names as having left or
 * been removed: they know the room exists, and whatever they had queued for
 * it fails with the reason.
 */
export async function asSeenBy(
  db: Kysely<DB>,
  userId: string,
  roomId: string,
  result: AppendResult,
): Promise<AppendResult> {
  if (
    !result.ok &&
    result.code === 'not_member' &&
    !canRead(await findRoomAccess(db, userId, roomId)) &&
    !(await wasMember(db, roomId, userId))
  ) {
    return { ok: false, code: 'not_found', message: 'No such room' }
  }
  return result
}

const STATUS: Record<string, number> = {
  not_found: 404,
  not_member: 403,
  message_empty: 400,
  message_too_long: 400,
  validation_failed: 400,
  out_of_order: 409,
  forbidden: 403,
  target_not_found: 404,
  target_deleted: 409,
  invalid_reaction: 400,
  not_storable: 422,
  rate_limited: 429,
  overloaded: 503,
}

export function appendFailure(result: Extract<AppendResult, { ok: false }>): AppError {
  return new AppError(STATUS[result.code] ?? 400, result.code, result.message)
}
