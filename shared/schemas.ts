/**
 * Basic wire types used by both the HTTP API and the WebSocket protocol.
 * Plain JSON Schema (TypeBox), so the server validates with them and the
 * client takes its types from them.
 */
import Type from 'typebox'
import { ERROR_CODES } from './errors.ts'
import { LIMITS } from './limits.ts'

export const Uuid = Type.String({ format: 'uuid', maxLength: 36 })
export const Seq = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })
export const IsoDate = Type.String({ maxLength: 40 })

/**
 * Text PostgreSQL can store exactly as sent: no U+0000 (`text` refuses it, and
 * the statement with it fails) and no lone UTF-16 surrogate (the UTF-8
 * encoder would store U+FFFD instead, so the text would change). Surrogate
 * pairs (emoji, astral characters) are fine. Every free-text field carries
 * it, so the HTTP validator and the frame parser both refuse such input.
 */
export const STORABLE_TEXT_PATTERN = LIMITS.storableTextPattern
export const StorableText = (options: { minLength?: number; maxLength: number }) =>
  Type.String({ ...options, pattern: STORABLE_TEXT_PATTERN })

export const Username = Type.String({
  minLength: LIMITS.usernameMin,
  maxLength: LIMITS.usernameMax,
  pattern: LIMITS.usernamePattern,
})
export const Password = StorableText({ minLength: LIMITS.passwordMin, maxLength: LIMITS.passwordMax })
/** Length is checked after trimming by the server (message_empty / message_too_long). */
export const MessageBody = StorableText({ maxLength: LIMITS.messageBodyMax * 2 })

export const User = Type.Object({
  id: Uuid,
  username: Type.String(),
  createdAt: IsoDate,
})
export type User = Type.Static<typeof User>

export const Visibility = Type.Union([Type.Literal('public'), Type.Literal('private')])
export type Visibility = Type.Static<typeof Visibility>

export const Role = Type.Union([Type.Literal('owner'), Type.Literal('admin'), Type.Literal('member')])
export type Role = Type.Static<typeof Role>

const NullableSeq = Type.Union([Seq, Type.Null()])
/**
 * A message's current state as the server folds it (issue 9): the shape of
 * `MessageState` in shared/conversation/fold.ts, which the client hands to
 * `foldSnapshot`. `through`: every entry about this message up to that seq
 * is folded in.
 */
export const MessageStateSchema = Type.Object(
  {
    roomId: Uuid,
    seq: Seq,
    clientId: Type.Union([Uuid, Type.Null()]),
    authorId: Type.Union([Uuid, Type.Null()]),
    authorName: Type.Union([Type.String(), Type.Null()]),
    createdAt: IsoDate,
    body: Type.Union([Type.String(), Type.Null()]),
    replyTo: NullableSeq,
    mentions: Type.Array(Uuid),
    edited: Type.Union([Type.Object({ seq: Seq, at: IsoDate }, { additionalProperties: false }), Type.Null()]),
    deleted: Type.Union([
      Type.Object(
        { seq: NullableSeq, at: Type.Union([IsoDate, Type.Null()]), by: Type.Union([Uuid, Type.Null()]) },
        { additionalProperties: false },
      ),
      Type.Null(),
    ]),
    reactions: Type.Array(
      Type.Object(
        {
          emoji: Type.String(),
          holders: Type.Array(Type.Object({ userId: Uuid, seq: Seq }, { additionalProperties: false })),
        },
        { additionalProperties: false },
      ),
    ),
    through: Seq,
  },
  { additionalProperties: false },
)

/**
 * A message as history shows it and as a send's answer (`ack`, `POST …/messages`)
 * confirms it. `replyTo` and `mentions` are those of its `message.created`
 * entry, as the server stored them (a reply by `replyToClientId` resolved to
 * its seq; only the @names of room members): set only when they hold
 * something, as on the entry (absent means none). `state` (history pages,
 * issue 9): its folded current state (edited text, deletion, reactions,
 * reply, mentions), while `body` stays the text as first written ('' once
 * deleted) for clients from before it.
 */
export const Message = Type.Object({
  roomId: Uuid,
  seq: Seq,
  clientId: Uuid,
  authorId: Uuid,
  authorName: Type.String(),
  body: Type.String(),
  createdAt: IsoDate,
  replyTo: Type.Optional(Seq),
  mentions: Type.Optional(Type.Array(Uuid)),
  state: Type.Optional(MessageStateSchema),
})
export type Message = Type.Static<typeof Message>

/**
 * Kinds of entries in a room's log. Only `message.created` is written today;
 * the others are reserved so that clients built now already carry them
 * through their sync code (edits, deletes, reactions, membership notices,
 * renames). Each kind's fields: shared/conversation/events.ts.
 */
export const EVENT_KINDS = [
  'message.created',
  'message.edited',
  'message.deleted',
  'reaction.added',
  'reaction.removed',
  'member.joined',
  'member.left',
  'member.removed',
  'room.renamed',
] as const
export const EventKind = Type.Enum([...EVENT_KINDS])
export type EventKind = (typeof EVENT_KINDS)[number]

/**
 * What a client accepts as a log entry's kind: the kinds above, or any kind shaped like
 * one, which a newer server may write. Such an entry is stored in its place (the room's
 * seqs stay gap-free) and shown as nothing; refusing the frame instead would make an
 * installed client replace its socket and be sent the same frame again, forever.
 */
const LogEntryKind = Type.Union([EventKind, Type.String({ pattern: '^[a-z]+(\\.[a-z]+(_[a-z]+)*)+$', maxLength: 64 })])

/** One entry of a room's log; `seq` is gap-free per room, starting at 1. */
export const RoomEvent = Type.Object({
  roomId: Uuid,
  seq: Seq,
  kind: LogEntryKind,
  authorId: Type.Union([Uuid, Type.Null()]),
  authorName: Type.Union([Type.String(), Type.Null()]),
  clientId: Type.Union([Uuid, Type.Null()]),
  /** Text of a created or edited message. */
  body: Type.Union([Type.String(), Type.Null()]),
  /** The message (by seq) an edit, delete or reaction applies to. */
  targetSeq: Type.Union([Seq, Type.Null()]),
  /** The emoji of a reaction. */
  reaction: Type.Union([Type.String(), Type.Null()]),
  createdAt: IsoDate,
  // Issue 9 fields, optional so that servers and rows from before it stay valid (absent = null or []).
  /** `message.created`: the seq of the message this one replies to. */
  replyTo: Type.Optional(Type.Union([Seq, Type.Null()])),
  /** `message.created`/`message.edited`: members the server found mentioned in `body`. */
  mentions: Type.Optional(Type.Array(Uuid)),
  /** `member.*`: the member who joined, left or was removed (`authorId` is who did it). */
  subjectId: Type.Optional(Type.Union([Uuid, Type.Null()])),
  subjectName: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  /** `room.renamed`: the room's topic from now on (`body` holds its name). */
  topic: Type.Optional(Type.Union([Type.String(), Type.Null()])),
})
export type RoomEvent = Type.Static<typeof RoomEvent>

export const Room = Type.Object({
  id: Uuid,
  name: Type.String(),
  /** Set by `PATCH /api/rooms/:roomId` (`room.renamed`); null or absent: none. Optional so rows from older servers stay valid. */
  topic: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  visibility: Visibility,
  ownerId: Uuid,
  createdAt: IsoDate,
  lastSeq: Seq,
  /** The caller's role, or null when the caller is not a member (public rooms). */
  role: Type.Union([Role, Type.Null()]),
  memberCount: Type.Integer({ minimum: 0 }),
  lastMessage: Type.Union([Message, Type.Null()]),
  /** Messages by others after the caller's read marker; 0 for non-members. */
  unreadCount: Type.Integer({ minimum: 0 }),
  lastReadSeq: Seq,
  /**
   * The newest message by someone else after the caller's read marker that mentions them (the
   * room list's `@`), null when none. Optional so rows from older servers and caches stay valid.
   * The marker shows while it is above `lastReadSeq`, so reading past it clears it anywhere.
   */
  unreadMentionSeq: Type.Optional(Type.Union([Seq, Type.Null()])),
})
export type Room = Type.Static<typeof Room>

export const Member = Type.Object({
  userId: Uuid,
  username: Type.String(),
  role: Role,
  joinedAt: IsoDate,
})
export type Member = Type.Static<typeof Member>

export const ErrorResponse = Type.Object({
  error: Type.Object({
    code: Type.Enum([...ERROR_CODES]),
    message: Type.String(),
  }),
})
