/**
 * What a client asks for to change a conversation (issue 9): edit, delete and
 * react frames, their HTTP bodies, reply fields for `send`, and the rename
 * body. Each outbox operation is one of these: its own `clientId` (permanent
 * dedupe, as for messages) and `afterClientId` in the same per-room chain as
 * messages, so an edit can never overtake the message it edits. The frames
 * are part of `ClientFrame` (shared/protocol.ts); docs/PROTOCOL.md,
 * "Conversation events (issue 9)".
 */
import Type, { type TProperties } from 'typebox'
import type { ErrorCode } from '../errors.ts'
import { LIMITS } from '../limits.ts'
import { MessageBody, RoomEvent, Seq, StorableText, Uuid } from '../schemas.ts'
import { messageBodyProblem } from '../validation.ts'
import { reactionProblem } from './emoji.ts'

const strict = { additionalProperties: false } as const
const MessageSeq = Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER })

/**
 * The message acted on: `targetSeq`, or `targetClientId` for one's own message
 * whose seq the client does not know yet (sent, not acknowledged). Exactly
 * one of the two (checked by `operationProblem`, a schema cannot say it
 * plainly). The server resolves a client id through the dedupe key, with the
 * sender as author.
 */
const target = { targetSeq: Type.Optional(MessageSeq), targetClientId: Type.Optional(Uuid) }
const queued = { clientId: Uuid, afterClientId: Type.Optional(Uuid) }

const edit = { type: Type.Literal('edit'), ...queued, ...target, body: MessageBody }
const del = { type: Type.Literal('delete'), ...queued, ...target }
/** `emoji` within the storable-text rule; `operationProblem` checks it is one emoji (`invalid_reaction`). */
const react = {
  type: Type.Literal('react'),
  ...queued,
  ...target,
  emoji: StorableText({ minLength: 1, maxLength: LIMITS.reactionMaxBytes }),
  action: Type.Union([Type.Literal('add'), Type.Literal('remove')]),
}

/** A socket frame names its room; the HTTP body does not (it is in the path). */
const frame = <P extends TProperties>(properties: P) => Type.Object({ ...properties, roomId: Uuid }, strict)
const body = <P extends TProperties>(properties: P) => Type.Object(properties, strict)

export const EditFrame = frame(edit)
export const DeleteFrame = frame(del)
export const ReactFrame = frame(react)
export const OperationFrame = Type.Union([EditFrame, DeleteFrame, ReactFrame])
export type EditFrame = Type.Static<typeof EditFrame>
export type DeleteFrame = Type.Static<typeof DeleteFrame>
export type ReactFrame = Type.Static<typeof ReactFrame>
export type OperationFrame = Type.Static<typeof OperationFrame>

/** `POST /api/rooms/:roomId/operations` (the HTTP fallback and Background Sync): one route, told apart by `type`. */
export const OperationBody = Type.Union([body(edit), body(del), body(react)])
export type OperationBody = Type.Static<typeof OperationBody>

/**
 * Fields `send` (and `POST …/messages`) gain for replies: `replyTo` a seq, or
 * `replyToClientId` for one's own message not acknowledged yet; at most one.
 */
export const ReplyFields = { replyTo: Type.Optional(MessageSeq), replyToClientId: Type.Optional(Uuid) }
export type ReplyFields = { replyTo?: number; replyToClientId?: string }

/** An operation's answer: the stored entry (`duplicate` when its clientId had been stored before). */
export const OperationAckFrame = Type.Object(
  {
    type: Type.Literal('ack'),
    roomId: Uuid,
    clientId: Uuid,
    seq: Seq,
    duplicate: Type.Boolean(),
    event: RoomEvent,
  },
  strict,
)
export type OperationAckFrame = Type.Static<typeof OperationAckFrame>

/** `PATCH /api/rooms/:roomId` by the owner or an admin: the whole new name and topic (empty: no topic). */
export const RenameRoomBody = Type.Object(
  {
    name: StorableText({ minLength: LIMITS.roomNameMin, maxLength: LIMITS.roomNameMax }),
    topic: StorableText({ maxLength: LIMITS.roomTopicMax }),
  },
  strict,
)
export type RenameRoomBody = Type.Static<typeof RenameRoomBody>

export type Problem = { code: ErrorCode; message: string }
const invalid = (message: string): Problem => ({ code: 'validation_failed', message })

type Targeted = { clientId: string; afterClientId?: string; targetSeq?: number; targetClientId?: string }

function targetProblem(op: Targeted): Problem | null {
  if ((op.targetSeq === undefined) === (op.targetClientId === undefined)) {
    return invalid('Name the message with exactly one of targetSeq and targetClientId')
  }
  if (op.targetClientId === op.clientId) return invalid('An operation cannot target itself')
  if (op.afterClientId === op.clientId) return invalid('afterClientId cannot name the operation itself')
  return null
}

/**
 * The rules of an operation that passed its schema and that a schema cannot
 * express; null when it may go to the append path. The client calls it before
 * queueing, the server before storing.
 */
export function operationProblem(op: OperationFrame | OperationBody): Problem | null {
  const problem = targetProblem(op)
  if (problem) return problem
  if (op.type === 'edit') return messageBodyProblem(op.body)
  if (op.type === 'react') {
    const why = reactionProblem(op.emoji)
    if (why) return { code: 'invalid_reaction', message: why }
  }
  return null
}

/** The reply fields of a `send` that passed its schema: at most one way of naming the message replied to. */
export function replyProblem(send: ReplyFields & { clientId: string }): Problem | null {
  if (send.replyTo !== undefined && send.replyToClientId !== undefined) {
    return invalid('Name the message replied to with replyTo or replyToClientId, not both')
  }
  if (send.replyToClientId === send.clientId) return invalid('A message cannot reply to itself')
  return null
}

/** The name and topic as stored: trimmed, the name not empty. */
export function renameProblem(rename: RenameRoomBody): Problem | null {
  if (rename.name.trim().length === 0) return invalid('A room needs a name')
  return null
}
