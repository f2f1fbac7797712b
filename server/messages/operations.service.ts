import type { Kysely } from 'kysely'
import { mentionedUsernames } from '../../shared/conversation/mentions.ts'
import { type OperationBody, operationProblem } from '../../shared/conversation/requests.ts'
import type { Session } from '../auth/sessions.ts'
import type { DB } from '../db/schema.ts'
import { canRead } from '../rooms/access.ts'
import { findRoomAccess } from '../rooms/rooms.repository.ts'
import type { AppendRequest, WrittenKind } from './append-batch.ts'
import type { Appender, AppendResult } from './appender.ts'

const KIND_OF = (op: OperationBody): WrittenKind => {
  if (op.type === 'edit') return 'message.edited'
  if (op.type === 'delete') return 'message.deleted'
  return op.action === 'add' ? 'reaction.added' : 'reaction.removed'
}

/**
 * An edit, delete or reaction (issue 9) through the one append path, for
 * HTTP and WebSocket alike: the rules a schema cannot say
 * (`operationProblem`: validation steps 1–2 of docs/PROTOCOL.md), then the
 * appender, whose transaction answers dedupe, sender order, membership and
 * the target checks (step 3). As for sends, a refusal for a private room the
 * user cannot see is answered as for a room that does not exist.
 */
export async function applyOperation(
  db: Kysely<DB>,
  appender: Appender,
  session: Session,
  roomId: string,
  op: OperationBody,
): Promise<AppendResult> {
  const problem = operationProblem(op)
  if (problem) return { ok: false, ...problem }
  const body = op.type === 'edit' ? op.body.trim() : null
  const request: AppendRequest = {
    roomId,
    authorId: session.user.id,
    authorName: session.user.username,
    clientId: op.clientId,
    body,
    kind: KIND_OF(op),
    ...(op.afterClientId ? { afterClientId: op.afterClientId } : {}),
    ...(op.targetSeq !== undefined ? { targetSeq: op.targetSeq } : {}),
    ...(op.targetClientId !== undefined ? { targetClientId: op.targetClientId } : {}),
    ...(op.type === 'react' ? { reaction: op.emoji } : {}),
    ...(body !== null ? { mentionNames: mentionedUsernames(body) } : {}),
  }
  const result = await appender.append(request)
  if (!result.ok && result.code === 'not_member' && !canRead(await findRoomAccess(db, session.user.id, roomId))) {
    return { ok: false, code: 'not_found', message: 'No such room' }
  }
  return result
}
