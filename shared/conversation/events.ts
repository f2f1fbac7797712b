/**
 * What each kind of room-log entry carries (issue 9). On the wire every entry
 * is one flat `RoomEvent` (shared/schemas.ts), because it is one row of
 * `room_events` and every kind shares the same seq, dedupe key and sync code;
 * these schemas narrow it per kind, so code that acts on a kind (the fold, the
 * timeline's notices, the server's writers) knows which fields are set.
 * docs/PROTOCOL.md, "Conversation events (issue 9)", maps each field to its column.
 */
import Type, { type TProperties } from 'typebox'
import { IsoDate, Seq, Uuid } from '../schemas.ts'

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()])

/** Fields every kind has. `authorId` is the actor; null only once that user's account is gone. */
const common = {
  roomId: Uuid,
  seq: Seq,
  authorId: Nullable(Uuid),
  authorName: Nullable(Type.String()),
  createdAt: IsoDate,
}
/** A change a person made through the outbox: deduped by `(room_id, author_id, client_id)`. */
const written = { ...common, clientId: Uuid }
/** The message an amendment applies to; always an earlier `message.created` of the same room. */
const amends = { ...written, targetSeq: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }) }
/** Membership notices are written by the server on join, leave, add and remove: no client id. */
const notice = { ...common, clientId: Nullable(Uuid), body: Type.Null(), targetSeq: Type.Null(), reaction: Type.Null() }

const kind = <K extends string, P extends TProperties>(name: K, properties: P) =>
  Type.Object({ kind: Type.Literal(name), ...properties })

/** `body` is null once the message is deleted: the server removes the text from this row too. */
export const MessageCreatedEvent = kind('message.created', {
  ...written,
  body: Nullable(Type.String()),
  targetSeq: Type.Null(),
  reaction: Type.Null(),
  replyTo: Type.Optional(Nullable(Seq)),
  mentions: Type.Optional(Type.Array(Uuid)),
})
/** The whole new text (not a diff), so the latest edit alone decides the body; null once the target is deleted. */
export const MessageEditedEvent = kind('message.edited', {
  ...amends,
  body: Nullable(Type.String()),
  reaction: Type.Null(),
  mentions: Type.Optional(Type.Array(Uuid)),
})
/** A tombstone; `authorId` is who deleted it (the author, or a moderator). */
export const MessageDeletedEvent = kind('message.deleted', { ...amends, body: Type.Null(), reaction: Type.Null() })
/** One emoji by one person (`authorId`); a person holds each emoji on a message at most once. */
export const ReactionAddedEvent = kind('reaction.added', { ...amends, body: Type.Null(), reaction: Type.String() })
export const ReactionRemovedEvent = kind('reaction.removed', { ...amends, body: Type.Null(), reaction: Type.String() })
/** Who joined, left or was removed (null once their account is gone); `authorId` is who did it. */
const member = { ...notice, subjectId: Nullable(Uuid), subjectName: Nullable(Type.String()) }
/** `authorId` joined by themself (then `subjectId` is the same) or added `subjectId`. */
export const MemberJoinedEvent = kind('member.joined', member)
export const MemberLeftEvent = kind('member.left', member)
/** `authorId` (owner or admin) removed `subjectId`. */
export const MemberRemovedEvent = kind('member.removed', member)
/** The room's name (`body`) and topic from now on: whole state, so the latest rename alone decides. */
export const RoomRenamedEvent = kind('room.renamed', {
  ...common,
  clientId: Nullable(Uuid),
  body: Type.String(),
  topic: Nullable(Type.String()),
  targetSeq: Type.Null(),
  reaction: Type.Null(),
})

export const ConversationEvent = Type.Union([
  MessageCreatedEvent,
  MessageEditedEvent,
  MessageDeletedEvent,
  ReactionAddedEvent,
  ReactionRemovedEvent,
  MemberJoinedEvent,
  MemberLeftEvent,
  MemberRemovedEvent,
  RoomRenamedEvent,
])
export type ConversationEvent = Type.Static<typeof ConversationEvent>
export type MessageCreatedEvent = Type.Static<typeof MessageCreatedEvent>
export type MessageEditedEvent = Type.Static<typeof MessageEditedEvent>
export type MessageDeletedEvent = Type.Static<typeof MessageDeletedEvent>
export type ReactionEvent = Type.Static<typeof ReactionAddedEvent> | Type.Static<typeof ReactionRemovedEvent>
