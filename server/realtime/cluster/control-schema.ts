import { type Static, Type } from 'typebox'
import { Compile } from 'typebox/compile'
import { LIMITS } from '../../../shared/limits.ts'
import { Uuid } from '../../../shared/schemas.ts'
import type { ControlMessage } from '../bus.ts'

/**
 * The wire shape of `ControlMessage` (server/realtime/bus.ts), checked on
 * every message read off the bus: another node may run another version, or
 * something else may write to the channel. Unknown fields are allowed (a
 * newer node may add one) and ignored; an unknown `kind` or a wrong type is
 * dropped by the reader.
 */
const NodeId = Type.String({ minLength: 1, maxLength: 64 })
const Username = Type.String({ minLength: 1, maxLength: LIMITS.usernameMax })
const User = Type.Object({ userId: Uuid, username: Username })
/** The most entries one chunk can hold under BUS_MAX_CONTROL_BYTES (an entry is at least ~45 bytes). */
const MAX_CHUNK_ENTRIES = 1_000
/** Longer than any typing TTL a server is configured with; a bigger value is not a typing signal. */
const MAX_TYPING_MS = 10 * 60_000

export const ControlMessageSchema = Type.Union([
  Type.Object({ kind: Type.Literal('session-ended'), sessionId: Type.String({ minLength: 1, maxLength: 128 }) }),
  Type.Object({ kind: Type.Literal('left-room'), roomId: Uuid, userId: Uuid }),
  Type.Object({ kind: Type.Literal('room-deleted'), roomId: Uuid }),
  Type.Object({
    kind: Type.Literal('presence'),
    nodeId: NodeId,
    roomId: Uuid,
    user: User,
    present: Type.Boolean(),
  }),
  Type.Object({
    kind: Type.Literal('typing'),
    nodeId: NodeId,
    roomId: Uuid,
    user: User,
    expiresInMs: Type.Integer({ minimum: 0, maximum: MAX_TYPING_MS }),
  }),
  Type.Object({ kind: Type.Literal('focus'), nodeId: NodeId, roomId: Uuid, userId: Uuid, focused: Type.Boolean() }),
  Type.Object({ kind: Type.Literal('node-alive'), nodeId: NodeId }),
  Type.Object({ kind: Type.Literal('node-gone'), nodeId: NodeId }),
  Type.Object({ kind: Type.Literal('state-request'), nodeId: NodeId }),
  Type.Object({
    kind: Type.Literal('node-state'),
    nodeId: NodeId,
    present: Type.Array(Type.Tuple([Uuid, Uuid, Username]), { maxItems: MAX_CHUNK_ENTRIES }),
    focused: Type.Array(Type.Tuple([Uuid, Uuid]), { maxItems: MAX_CHUNK_ENTRIES }),
  }),
])

// The schema and the contract must describe the same messages: this fails to compile when they drift.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
const _contractMatches: Same<Static<typeof ControlMessageSchema>, ControlMessage> = true
void _contractMatches

const compiled = Compile(ControlMessageSchema)

/** What the reader makes of a message off the bus: the message, or why it was dropped (for the log; never the content). */
export type ControlReading = { ok: true; message: ControlMessage } | { ok: false; kind: string; problem: string }

export function readControl(value: unknown): ControlReading {
  if (compiled.Check(value)) return { ok: true, message: value as ControlMessage }
  const kind =
    typeof value === 'object' && value !== null && typeof (value as { kind?: unknown }).kind === 'string'
      ? (value as { kind: string }).kind.slice(0, 32)
      : typeof value
  const first = compiled.Errors(value)[0]
  return { ok: false, kind, problem: `${first?.instancePath || '/'} ${first?.message ?? 'is invalid'}`.slice(0, 200) }
}
