import type { Kysely } from 'kysely'
import { mentionedUsernames } from '../../shared/conversation/mentions.ts'
import { type OperationBody, operationProblem } from '../../shared/conversation/requests.ts'
import type { Session } from '../auth/sessions.ts'
import type { DB } from '../db/schema.ts'
import type { AppendRequest, WrittenKind } from './append-batch.ts'
import type { Appender, AppendResult } from './appender.ts'
import { asSeenBy } from './messages.service.ts'

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
 * the target checks (step 3). Refusals are answered as for sends (`asSeenBy`):
 * a removed member's queued operations fail with `not_member`, not as if the
 * room did not exist.
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
  return asSeenBy(db, session.user.id, roomId, await appender.append(request))
}
