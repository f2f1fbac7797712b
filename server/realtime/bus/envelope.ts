import Type from 'typebox'
import { Compile } from 'typebox/compile'
import { PresenceUser } from '../../../shared/protocol.ts'
import { RoomEvent, Seq, Uuid } from '../../../shared/schemas.ts'
import type { ControlMessage, ReadMarker, RoomListChange } from '../bus.ts'

/**
 * What one node tells the others on a cross-process bus (docs/PROTOCOL.md,
 * "Fan-out and the bus seam"): one JSON envelope per transport message, the
 * same on PostgreSQL NOTIFY and Redis PUBLISH. Every envelope is validated on
 * arrival: another node may run another version of Ferry.
 */
export const ENVELOPE_VERSION = 1

/**
 * A committed run of one room's log, `from`..`to` (inclusive). `events` are
 * there when they fit the transport's payload limit; without them the
 * receiver reads the run from the database.
 */
export interface RoomPointer {
  roomId: string
  from: number
  to: number
  events?: RoomEvent[]
}

export interface EnvelopeHead {
  v: typeof ENVELOPE_VERSION
  nodeId: string
  /** Milliseconds since the epoch at publish (bus lag; clocks of one machine or NTP-synced). */
  sentAt: number
  /**
   * How many room-list and read-marker envelopes this node has published,
   * this one included: a receiver that sees the count jump knows it lost
   * some (room lists are not re-read by a resync; docs/SCALING.md, "Bus").
   */
  listSeq: number
}

export type Envelope = EnvelopeHead &
  (
    | { kind: 'events'; rooms: RoomPointer[] }
    | { kind: 'list'; change: RoomListChange }
    | { kind: 'markers'; markers: ReadMarker[] }
    | { kind: 'control'; message: ControlMessage }
  )

export type EnvelopeKind = Envelope['kind']

const strict = { additionalProperties: false } as const
const Id = Type.String({ minLength: 1, maxLength: 100 })
const Count = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })

/** Events from another node are used only when they are exactly what this version sends; otherwise read from the database. */
const StrictRoomEvent = { ...RoomEvent, additionalProperties: false }

const Pointer = Type.Object(
  { roomId: Uuid, from: Seq, to: Seq, events: Type.Optional(Type.Array(Type.Unknown())) },
  strict,
)

const ListChange = Type.Union([
  Type.Object({ kind: Type.Literal('added'), userId: Uuid, roomId: Uuid }, strict),
  Type.Object(
    {
      kind: Type.Literal('removed'),
      userId: Uuid,
      roomId: Uuid,
      visibility: Type.Union([Type.Literal('public'), Type.Literal('private')]),
    },
    strict,
  ),
  Type.Object({ kind: Type.Literal('created'), roomId: Uuid, ownerId: Uuid }, strict),
  Type.Object({ kind: Type.Literal('changed'), userId: Uuid, roomId: Uuid }, strict),
])

const Marker = Type.Object({ roomId: Uuid, userId: Uuid, lastReadSeq: Seq, unreadCount: Count }, strict)

const Control = Type.Union([
  Type.Object({ kind: Type.Literal('session-ended'), sessionId: Id }, strict),
  Type.Object({ kind: Type.Literal('left-room'), roomId: Uuid, userId: Uuid }, strict),
  Type.Object({ kind: Type.Literal('room-deleted'), roomId: Uuid }, strict),
  Type.Object(
    { kind: Type.Literal('presence'), nodeId: Id, roomId: Uuid, user: PresenceUser, present: Type.Boolean() },
    strict,
  ),
  Type.Object(
    { kind: Type.Literal('typing'), nodeId: Id, roomId: Uuid, user: PresenceUser, expiresInMs: Count },
    strict,
  ),
  Type.Object({ kind: Type.Literal('focus'), nodeId: Id, roomId: Uuid, userId: Uuid, focused: Type.Boolean() }, strict),
  Type.Object({ kind: Type.Literal('node-alive'), nodeId: Id }, strict),
  Type.Object({ kind: Type.Literal('node-gone'), nodeId: Id }, strict),
  Type.Object({ kind: Type.Literal('state-request'), nodeId: Id }, strict),
  Type.Object(
    {
      kind: Type.Literal('node-state'),
      nodeId: Id,
      present: Type.Array(Type.Tuple([Uuid, Uuid, Type.String()])),
      focused: Type.Array(Type.Tuple([Uuid, Uuid])),
    },
    strict,
  ),
])

// Unknown top-level fields are allowed (a newer node may add some); what each kind carries is checked strictly.
const Head = { v: Type.Literal(ENVELOPE_VERSION), nodeId: Id, sentAt: Count, listSeq: Count }
const EnvelopeSchema = Type.Union([
  Type.Object({ ...Head, kind: Type.Literal('events'), rooms: Type.Array(Pointer, { minItems: 1 }) }),
  Type.Object({ ...Head, kind: Type.Literal('list'), change: ListChange }),
  Type.Object({ ...Head, kind: Type.Literal('markers'), markers: Type.Array(Marker, { minItems: 1 }) }),
  Type.Object({ ...Head, kind: Type.Literal('control'), message: Control }),
])

const checkEnvelope = Compile(EnvelopeSchema)
const checkEvent = Compile(StrictRoomEvent)
const checkControl = Compile(Control)

const MAY_HOLD_FORBIDDEN_KEY = /__proto__|constructor|prototype/

/** Whether `message` is one this version of the bus carries (publishControl refuses others). */
export const isControlMessage = (message: unknown): message is ControlMessage => checkControl.Check(message)

export type Decoded = { ok: true; envelope: Envelope } | { ok: false; reason: string }

/**
 * Parses and validates one transport payload; never throws. A pointer's
 * events are kept only when every one of them is a valid event of that room
 * inside `from`..`to`, in order and without holes; otherwise they are
 * dropped and the receiver reads the run from the database.
 */
export function decodeEnvelope(payload: string): Decoded {
  let value: unknown
  try {
    value = JSON.parse(payload)
  } catch {
    return { ok: false, reason: 'not JSON' }
  }
  if (MAY_HOLD_FORBIDDEN_KEY.test(payload) && holdsForbiddenKey(value)) return { ok: false, reason: 'forbidden key' }
  if (!checkEnvelope.Check(value)) {
    const first = checkEnvelope.Errors(value)[0]
    return { ok: false, reason: `${first?.instancePath || '/'} ${first?.message ?? 'is invalid'}`.slice(0, 200) }
  }
  const envelope = value as Envelope
  if (envelope.kind === 'events') {
    for (const pointer of envelope.rooms) {
      if (pointer.from > pointer.to) return { ok: false, reason: 'pointer from > to' }
      if (pointer.events !== undefined && !eventsFit(pointer)) delete pointer.events
    }
  }
  return { ok: true, envelope }
}

function eventsFit({ roomId, from, to, events }: RoomPointer): boolean {
  if (!events || events.length !== to - from + 1) return false
  return events.every((event, i) => checkEvent.Check(event) && event.roomId === roomId && event.seq === from + i)
}

function holdsForbiddenKey(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false
  for (const key of Object.keys(value)) {
    if (key === '__proto__' || key === 'constructor' || key === 'prototype') return true
    if (holdsForbiddenKey((value as Record<string, unknown>)[key])) return true
  }
  return false
}

/** One pointer per room of a committed batch (a batch holds each room's events in seq order). */
export function pointersOf(events: readonly RoomEvent[]): RoomPointer[] {
  const byRoom = new Map<string, RoomEvent[]>()
  for (const event of events) {
    const list = byRoom.get(event.roomId)
    if (list) list.push(event)
    else byRoom.set(event.roomId, [event])
  }
  return [...byRoom].map(([roomId, list]) => ({ roomId, from: list[0]!.seq, to: list.at(-1)!.seq, events: list }))
}

/** Whether the pointer's events run from `from` to `to` with no hole (the bus sends events only then). */
export const isContiguous = ({ from, to, events }: RoomPointer): boolean =>
  events !== undefined && events.length === to - from + 1 && events.every((event, i) => event.seq === from + i)

/**
 * The encoded envelopes for one committed batch: pointers packed so each
 * envelope stays within `maxBytes`; a room's events ride along when they fit
 * beside its pointer, else the pointer goes alone (the receivers read it).
 */
export function encodeEvents(head: EnvelopeHead, pointers: readonly RoomPointer[], maxBytes: number): string[] {
  const prefix = JSON.stringify({ ...head, kind: 'events' }).slice(0, -1)
  const open = `${prefix},"rooms":[`
  const close = ']}'
  const fixed = Buffer.byteLength(open) + close.length
  const payloads: string[] = []
  let parts: string[] = []
  let bytes = fixed
  for (const pointer of pointers) {
    let part = JSON.stringify(isContiguous(pointer) ? pointer : { ...pointer, events: undefined })
    if (fixed + Buffer.byteLength(part) > maxBytes) {
      part = JSON.stringify({ roomId: pointer.roomId, from: pointer.from, to: pointer.to })
    }
    const size = Buffer.byteLength(part) + 1
    if (parts.length > 0 && bytes + size > maxBytes) {
      payloads.push(open + parts.join(',') + close)
      parts = []
      bytes = fixed
    }
    parts.push(part)
    bytes += size
  }
  if (parts.length > 0) payloads.push(open + parts.join(',') + close)
  return payloads
}

/** The encoded envelopes for one flush of read markers, split to stay within `maxBytes`. */
export function encodeMarkers(head: () => EnvelopeHead, markers: readonly ReadMarker[], maxBytes: number): string[] {
  const payloads: string[] = []
  let chunk: ReadMarker[] = []
  const flush = () => {
    if (chunk.length > 0) payloads.push(JSON.stringify({ ...head(), kind: 'markers', markers: chunk }))
    chunk = []
  }
  // A marker is ~150 bytes encoded; the envelope's head ~120.
  const perEnvelope = Math.max(1, Math.floor((maxBytes - 200) / 160))
  for (const marker of markers) {
    chunk.push(marker)
    if (chunk.length === perEnvelope) flush()
  }
  flush()
  return payloads
}
