/**
 * The WebSocket protocol (GET /api/ws): one socket per client, JSON text
 * frames, each an object with a `type`. Every frame is validated against
 * these schemas on the server; the client imports the same types.
 * docs/PROTOCOL.md describes each frame, the codes and the resume algorithm.
 */
import Type from 'typebox'
import { DeleteFrame, EditFrame, OperationAckFrame, ReactFrame, ReplyFields } from './conversation/requests.ts'
import { ERROR_CODES } from './errors.ts'
import { LIMITS } from './limits.ts'
import { FocusFrame } from './push/contract.ts'
import { Message, MessageBody, Room, RoomEvent, Seq, Uuid } from './schemas.ts'

const strict = { additionalProperties: false } as const

// ---- client → server -------------------------------------------------------

/** Follow rooms; `after` is the last seq the client holds contiguously (0 for none). */
export const SubscribeFrame = Type.Object(
  {
    type: Type.Literal('subscribe'),
    rooms: Type.Array(Type.Object({ roomId: Uuid, after: Seq }, strict), {
      minItems: 1,
      maxItems: LIMITS.subscribeMaxRooms,
    }),
  },
  strict,
)
export const UnsubscribeFrame = Type.Object(
  {
    type: Type.Literal('unsubscribe'),
    roomIds: Type.Array(Uuid, { minItems: 1, maxItems: LIMITS.subscribeMaxRooms }),
  },
  strict,
)
/**
 * Append a message; answered by `ack` (after commit) or `error` with the same clientId.
 * `afterClientId` names the sender's previous item in this room (message or
 * operation) that is still unacknowledged on the client (omit it when there is none): the server stores
 * this one only once that one is stored, else answers `out_of_order`, so a
 * refused-then-resent message can never land after a later one.
 * `replyTo` / `replyToClientId` (at most one): the message this one replies to.
 */
export const SendFrame = Type.Object(
  {
    type: Type.Literal('send'),
    roomId: Uuid,
    clientId: Uuid,
    body: MessageBody,
    afterClientId: Type.Optional(Uuid),
    ...ReplyFields,
  },
  strict,
)
/** "I am typing in this room"; renew within LIMITS.typingTtlMs to keep it shown. */
export const TypingFrame = Type.Object({ type: Type.Literal('typing'), roomId: Uuid }, strict)

/** Application-level liveness check; answered by `pong` with the same `id`. */
export const PingFrame = Type.Object(
  { type: Type.Literal('ping'), id: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }) },
  strict,
)

/**
 * "I have read this room up to `seq`": forward-only and idempotent, so no
 * clientId and no answer. The server caps it at the room's last seq,
 * coalesces, writes it within LIMITS.readMarkerFlushMs and broadcasts it
 * (`receipts`, `read_marker`). A control frame: it spends the frame budget.
 */
export const ReadFrame = Type.Object({ type: Type.Literal('read'), roomId: Uuid, seq: Seq }, strict)

/** `edit`, `delete` and `react` (issue 9): shared/conversation/requests.ts; `focus` (issue 10): shared/push/contract.ts. */
export { DeleteFrame, EditFrame, FocusFrame, OperationAckFrame, ReactFrame }
export const ClientFrame = Type.Union([
  SubscribeFrame,
  UnsubscribeFrame,
  SendFrame,
  TypingFrame,
  PingFrame,
  ReadFrame,
  EditFrame,
  DeleteFrame,
  ReactFrame,
  FocusFrame,
])
export type ClientFrame = Type.Static<typeof ClientFrame>
export type SubscribeFrame = Type.Static<typeof SubscribeFrame>
export type SendFrame = Type.Static<typeof SendFrame>
export type PingFrame = Type.Static<typeof PingFrame>
export type ReadFrame = Type.Static<typeof ReadFrame>

// ---- server → client -------------------------------------------------------

export const PresenceUser = Type.Object({ userId: Uuid, username: Type.String() }, strict)
export type PresenceUser = Type.Static<typeof PresenceUser>

/**
 * Sent once when the socket opens. `limits` are the send limits this server
 * enforces (they are configurable), so a client paces its outbox to them.
 */
export const HelloFrame = Type.Object(
  {
    type: Type.Literal('hello'),
    userId: Uuid,
    username: Type.String(),
    serverTime: Type.String(),
    limits: Type.Object(
      { sendRatePerSecond: Type.Number({ exclusiveMinimum: 0 }), sendBurst: Type.Integer({ minimum: 1 }) },
      strict,
    ),
  },
  strict,
)
/** Room log entries, in seq order, never with a gap within one frame. */
export const EventsFrame = Type.Object(
  { type: Type.Literal('events'), roomId: Uuid, events: Type.Array(RoomEvent) },
  strict,
)
/** The send with this clientId is committed as `seq`; `duplicate` when it had been before. */
export const AckFrame = Type.Object(
  {
    type: Type.Literal('ack'),
    roomId: Uuid,
    clientId: Uuid,
    seq: Seq,
    duplicate: Type.Boolean(),
    message: Message,
  },
  strict,
)
/** The replay for this room is complete up to `lastSeq`; live events follow. */
export const CaughtUpFrame = Type.Object({ type: Type.Literal('caught_up'), roomId: Uuid, lastSeq: Seq }, strict)
/**
 * More than LIMITS.resumeMaxEvents were missed: the client drops its "contiguous"
 * claim for the room, loads the latest page over HTTP and pages older on demand.
 * Live events after `lastSeq` follow on the socket.
 */
export const ResetFrame = Type.Object({ type: Type.Literal('reset'), roomId: Uuid, lastSeq: Seq }, strict)
/** Who is online in the room (snapshot on subscribe); a user with many tabs counts once. */
export const PresenceFrame = Type.Object(
  { type: Type.Literal('presence'), roomId: Uuid, users: Type.Array(PresenceUser) },
  strict,
)
export const PresenceJoinFrame = Type.Object(
  { type: Type.Literal('presence_join'), roomId: Uuid, user: PresenceUser },
  strict,
)
export const PresenceLeaveFrame = Type.Object(
  { type: Type.Literal('presence_leave'), roomId: Uuid, userId: Uuid },
  strict,
)
export const TypingNoticeFrame = Type.Object(
  {
    type: Type.Literal('typing'),
    roomId: Uuid,
    userId: Uuid,
    username: Type.String(),
    expiresInMs: Type.Integer({ minimum: 0 }),
  },
  strict,
)
/** A refused or malformed frame; the socket stays usable. */
export const ErrorFrame = Type.Object(
  {
    type: Type.Literal('error'),
    code: Type.Enum([...ERROR_CODES]),
    message: Type.String(),
    clientId: Type.Optional(Uuid),
    roomId: Type.Optional(Uuid),
    retryAfterMs: Type.Optional(Type.Integer({ minimum: 0 })),
  },
  strict,
)

/**
 * The per-user room-list stream (docs/PROTOCOL.md, "Room list"): sent unasked
 * to every socket of the user it concerns. `room_added`: the user is now a
 * member of `room` (as the user sees it, like GET /api/rooms/:id).
 */
export const RoomAddedFrame = Type.Object({ type: Type.Literal('room_added'), room: Room }, strict)
/**
 * The user is no longer a member of the room. `visibility` `private`: the
 * user may not read it any more (forget it and its history); `public`: it
 * stays readable, unjoined. The socket has stopped following it.
 */
export const RoomRemovedFrame = Type.Object(
  {
    type: Type.Literal('room_removed'),
    roomId: Uuid,
    visibility: Type.Union([Type.Literal('public'), Type.Literal('private')]),
  },
  strict,
)
/** A new public room (to discover and join), sent to every other signed-in socket; never a private room. */
export const RoomCreatedFrame = Type.Object({ type: Type.Literal('room_created'), room: Room }, strict)

/** One member's read marker: they have read the room up to `lastReadSeq`. */
export const ReadReceipt = Type.Object({ userId: Uuid, lastReadSeq: Seq }, strict)
export type ReadReceipt = Type.Static<typeof ReadReceipt>
/**
 * Read markers of the room's members that moved (live, at most one frame per
 * room per flush) or, once after `presence` on subscribe, the most advanced
 * ones (at most LIMITS.receiptSnapshotMax). Markers only move forward: a
 * client keeps the highest it has seen per member, whatever order frames come in.
 */
export const ReceiptsFrame = Type.Object(
  {
    type: Type.Literal('receipts'),
    roomId: Uuid,
    readers: Type.Array(ReadReceipt, { maxItems: Math.max(LIMITS.receiptSnapshotMax, LIMITS.readMarkersPendingMax) }),
  },
  strict,
)
/**
 * To every socket of the reader: their own marker moved (read on this or
 * another device), with the room's unread count (capped like the room list's).
 */
export const ReadMarkerFrame = Type.Object(
  {
    type: Type.Literal('read_marker'),
    roomId: Uuid,
    lastReadSeq: Seq,
    unreadCount: Type.Integer({ minimum: 0 }),
  },
  strict,
)

/** Answer to `ping`. */
export const PongFrame = Type.Object(
  { type: Type.Literal('pong'), id: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }) },
  strict,
)

export const ServerFrame = Type.Union([
  HelloFrame,
  EventsFrame,
  AckFrame,
  // Issue 9: an edit's, delete's or reaction's ack carries the stored entry (`event`) instead of a message.
  OperationAckFrame,
  CaughtUpFrame,
  ResetFrame,
  PresenceFrame,
  PresenceJoinFrame,
  PresenceLeaveFrame,
  TypingNoticeFrame,
  ErrorFrame,
  PongFrame,
  RoomAddedFrame,
  RoomRemovedFrame,
  RoomCreatedFrame,
  ReceiptsFrame,
  ReadMarkerFrame,
])
export type ServerFrame = Type.Static<typeof ServerFrame>
export type EventsFrame = Type.Static<typeof EventsFrame>
export type AckFrame = Type.Static<typeof AckFrame>
export type ErrorFrame = Type.Static<typeof ErrorFrame>
export type RoomAddedFrame = Type.Static<typeof RoomAddedFrame>
export type RoomRemovedFrame = Type.Static<typeof RoomRemovedFrame>
export type RoomCreatedFrame = Type.Static<typeof RoomCreatedFrame>
export type ReceiptsFrame = Type.Static<typeof ReceiptsFrame>
export type ReadMarkerFrame = Type.Static<typeof ReadMarkerFrame>
