import type { Kysely } from 'kysely'
import type { OperationAckFrame, OperationFrame } from '../../shared/conversation/requests.ts'
import type { AckFrame, ErrorFrame, SendFrame } from '../../shared/protocol.ts'
import type { Session } from '../auth/sessions.ts'
import type { DB } from '../db/schema.ts'
import type { Appender, AppendResult } from '../messages/appender.ts'
import { toMessage } from '../messages/events.ts'
import { sendMessage } from '../messages/messages.service.ts'
import { applyOperation } from '../messages/operations.service.ts'
import { errorFrame } from './frames.ts'

/**
 * A `send` frame through the one append path. The append is queued
 * synchronously, so a socket's pipelined sends keep their order; the answer
 * comes after the commit: `ack` (also for a resend, with the original seq) or
 * `error` with the clientId. Membership is checked inside the appender's
 * transaction, so a refused send stores and publishes nothing.
 */
export async function acceptSend(
  db: Kysely<DB>,
  appender: Appender,
  session: Session,
  frame: SendFrame,
): Promise<AckFrame | ErrorFrame> {
  const { roomId, clientId } = frame
  const result = await sendMessage(db, appender, session, frame)
  if (!result.ok) return refusal(result, clientId, roomId)
  const { event, duplicate } = result
  return { type: 'ack', roomId, clientId, seq: event.seq, duplicate, message: toMessage(event) }
}

/**
 * An `edit`, `delete` or `react` frame (issue 9), the same way: one `ack`
 * carrying the stored entry in `event` (the original one for a resend), or
 * one `error` with the clientId and the typed code.
 */
export async function acceptOperation(
  db: Kysely<DB>,
  appender: Appender,
  session: Session,
  frame: OperationFrame,
): Promise<OperationAckFrame | ErrorFrame> {
  const { roomId, clientId } = frame
  const { roomId: _, ...op } = frame
  const result = await applyOperation(db, appender, session, roomId, op)
  if (!result.ok) return refusal(result, clientId, roomId)
  const { event, duplicate } = result
  return { type: 'ack', roomId, clientId, seq: event.seq, duplicate, event }
}

function refusal(result: Extract<AppendResult, { ok: false }>, clientId: string, roomId: string): ErrorFrame {
  const { retryAfterMs } = result
  return errorFrame(result.code, result.message, {
    clientId,
    roomId,
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  })
}
