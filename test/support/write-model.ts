import { mentionedUsernames } from '../../shared/conversation/mentions.ts'
import { type OperationBody, operationProblem, replyProblem } from '../../shared/conversation/requests.ts'
import type { ErrorCode } from '../../shared/errors.ts'
import { LIMITS } from '../../shared/limits.ts'
import { messageBodyProblem } from '../../shared/validation.ts'

/**
 * The fuzzers' model of a write to a room's log (a `send`, or an `edit`,
 * `delete` or `react`), from docs/PROTOCOL.md alone ("Sender order",
 * "Conversation events": validation in this order): what the server must
 * answer, given the room's log as the database holds it before the write.
 * Used by the HTTP and the WebSocket fuzz alike, so both judge by one rule
 * book, and never by the server's code.
 */

/** One entry of the room's log, as read from `room_events`. */
export interface LogRow {
  seq: string | number
  kind: string
  author_id: string | null
  client_id: string | null
  deleted_seq: string | number | null
  edited_seq: string | number | null
}

/** A write as sent (ids in any letter case: the server makes them canonical). */
export type Write =
  | ({ type: 'send'; clientId: string; body: string; afterClientId?: string } & {
      replyTo?: number
      replyToClientId?: string
    })
  | OperationBody

/** Where the author stands: a member (`moderator`: owner or admin), a non-member of a public room, or a room they may not see. */
export type Standing = 'member' | 'moderator' | 'notMember' | 'hidden'

export type Verdict =
  | { refused: ErrorCode }
  /** A resend: answered with the stored entry (as it is now). */
  | { duplicate: LogRow }
  /** Stored at the room's next seq; `target` is the message acted on or replied to. */
  | { stored: { target: LogRow | null; mentions: string[] } }

const lower = (id: string | undefined) => id?.toLowerCase()

/**
 * The answer to `write` by `authorId`. `members`: the room's members by
 * lower-case username (for mentions).
 */
export function judgeWrite(
  write: Write,
  authorId: string,
  standing: Standing,
  log: readonly LogRow[],
  members: ReadonlyMap<string, string>,
): Verdict {
  const clientId = lower(write.clientId)!
  const after = lower(write.afterClientId)
  // Steps 1–2: the rules after the schema, on canonical ids.
  if (write.type === 'send') {
    const send = {
      ...write,
      clientId,
      ...(write.replyToClientId ? { replyToClientId: lower(write.replyToClientId) } : {}),
    }
    const problem = messageBodyProblem(write.body) ?? replyProblem(send)
    if (problem) return { refused: problem.code }
    if (after === clientId) return { refused: 'validation_failed' }
  } else {
    const problem = operationProblem({
      ...write,
      clientId,
      ...(after === undefined ? {} : { afterClientId: after }),
      ...(write.targetClientId === undefined ? {} : { targetClientId: lower(write.targetClientId) }),
    } as OperationBody)
    if (problem) return { refused: problem.code }
  }
  // Step 3, in the append transaction: the room, dedupe, membership, sender order, the target.
  if (standing === 'hidden') return { refused: 'not_found' }
  const mine = log.filter((row) => row.author_id === authorId && row.client_id !== null)
  const stored = mine.find((row) => row.client_id === clientId)
  if (stored) return { duplicate: stored }
  if (standing === 'notMember') return { refused: 'not_member' }
  if (after !== undefined && !mine.some((row) => row.client_id === after)) return { refused: 'out_of_order' }
  const targetSeq = write.type === 'send' ? write.replyTo : write.targetSeq
  const targetClientId = lower(write.type === 'send' ? write.replyToClientId : write.targetClientId)
  let target: LogRow | null = null
  if (targetSeq !== undefined || targetClientId !== undefined) {
    target =
      log.find(
        (row) =>
          row.kind === 'message.created' &&
          (targetSeq !== undefined
            ? Number(row.seq) === targetSeq
            : row.author_id === authorId && row.client_id === targetClientId),
      ) ?? null
    if (!target) return { refused: 'target_not_found' }
  }
  if (write.type !== 'send' && target) {
    if (target.deleted_seq !== null) return { refused: 'target_deleted' }
    const own = target.author_id === authorId
    if (write.type === 'edit' && !own) return { refused: 'forbidden' }
    if (write.type === 'delete' && !own && standing !== 'moderator') return { refused: 'forbidden' }
  }
  const text = write.type === 'send' || write.type === 'edit' ? write.body.trim() : ''
  const mentions = mentionedUsernames(text)
    .flatMap((name) => (members.has(name) ? [members.get(name)!] : []))
    .slice(0, LIMITS.mentionsMax)
  return { stored: { target, mentions } }
}

/** The kind of entry a stored write is. */
export function kindOf(write: Write): string {
  if (write.type === 'send') return 'message.created'
  if (write.type === 'edit') return 'message.edited'
  if (write.type === 'delete') return 'message.deleted'
  return write.action === 'add' ? 'reaction.added' : 'reaction.removed'
}
