import type { TSchema } from 'typebox'
import { Compile } from 'typebox/compile'
import { uuidCanonicalizer } from '../../shared/canonical-ids.ts'
import { DeleteFrame, EditFrame, type OperationAckFrame, ReactFrame } from '../../shared/conversation/requests.ts'
import type { ErrorCode } from '../../shared/errors.ts'
import {
  type ClientFrame,
  type ErrorFrame,
  FocusFrame,
  PingFrame,
  ReadFrame,
  SendFrame,
  type ServerFrame,
  SubscribeFrame,
  TypingFrame,
  UnsubscribeFrame,
} from '../../shared/protocol.ts'

const schemas = new Map<string, TSchema>([
  ['subscribe', SubscribeFrame],
  ['unsubscribe', UnsubscribeFrame],
  ['send', SendFrame],
  ['typing', TypingFrame],
  ['ping', PingFrame],
  ['read', ReadFrame],
  ['edit', EditFrame],
  ['delete', DeleteFrame],
  ['react', ReactFrame],
  ['focus', FocusFrame],
])
const validators = new Map([...schemas].map(([type, schema]) => [type, Compile(schema)]))
/** Ids in lower case, as stored: a room named in upper case is the same room (shared/canonical-ids.ts). */
const canonicalizers = new Map([...schemas].map(([type, schema]) => [type, uuidCanonicalizer(schema)]))

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype'])
const MAY_HOLD_FORBIDDEN_KEY = /__proto__|constructor|prototype/
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

class ForbiddenKey extends Error {}

function rejectForbiddenKeys(key: string, value: unknown): unknown {
  if (FORBIDDEN_KEYS.has(key)) throw new ForbiddenKey(key)
  return value
}

export type ParsedFrame = { ok: true; frame: ClientFrame } | { ok: false; error: ErrorFrame }

export function errorFrame(
  code: ErrorCode,
  message: string,
  context: { clientId?: string | undefined; roomId?: string | undefined; retryAfterMs?: number } = {},
): ErrorFrame {
  const frame: ErrorFrame = { type: 'error', code, message }
  if (context.clientId !== undefined) frame.clientId = context.clientId
  if (context.roomId !== undefined) frame.roomId = context.roomId
  if (context.retryAfterMs !== undefined) frame.retryAfterMs = context.retryAfterMs
  return frame
}

/** The ids a refused frame is answered with, when the frame carries well-formed ones. */
function idsOf(value: Record<string, unknown>): { clientId?: string; roomId?: string } {
  const ids: { clientId?: string; roomId?: string } = {}
  if (typeof value.clientId === 'string' && UUID.test(value.clientId)) ids.clientId = value.clientId
  if (typeof value.roomId === 'string' && UUID.test(value.roomId)) ids.roomId = value.roomId
  return ids
}

/**
 * Parses and validates one text frame. Never throws: every problem becomes an
 * error frame (bad_request, unknown_frame or validation_failed). Keys that
 * could pollute prototypes are refused wherever they appear; the schemas are
 * strict, so any other unknown field is refused too.
 */
export function parseClientFrame(text: string): ParsedFrame {
  let value: unknown
  try {
    value = JSON.parse(text, MAY_HOLD_FORBIDDEN_KEY.test(text) ? rejectForbiddenKeys : undefined)
  } catch (error) {
    if (error instanceof ForbiddenKey) {
      return { ok: false, error: errorFrame('bad_request', `The key "${error.message}" is not allowed`) }
    }
    return { ok: false, error: errorFrame('bad_request', 'A frame must be valid JSON') }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, error: errorFrame('bad_request', 'A frame must be a JSON object with a "type"') }
  }
  const record = value as Record<string, unknown>
  const type = typeof record.type === 'string' ? record.type : undefined
  const validator = type === undefined ? undefined : validators.get(type)
  if (!validator) {
    const shown = type === undefined ? 'missing' : `"${type.slice(0, 40)}"`
    return { ok: false, error: errorFrame('unknown_frame', `Unknown frame type (${shown})`, idsOf(record)) }
  }
  if (!validator.Check(record)) {
    const first = validator.Errors(record)[0]
    const where = `${type}${first?.instancePath.replaceAll('/', '.') ?? ''}`
    const problem = first?.message === 'schema is false' ? 'is not an allowed field' : (first?.message ?? 'is invalid')
    return { ok: false, error: errorFrame('validation_failed', `${where} ${problem}`, idsOf(record)) }
  }
  canonicalizers.get(type!)?.(record)
  return { ok: true, frame: record as ClientFrame }
}

/** `OperationAckFrame` answers edit, delete and react (shared/conversation/requests.ts). */
export const encodeFrame = (frame: ServerFrame | OperationAckFrame): string => JSON.stringify(frame)
