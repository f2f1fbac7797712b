/**
 * The HTTP API: request and response schemas for every route. The server
 * registers these on its routes; the client imports the types. See docs/API.md.
 */
import Type from 'typebox'
import { ReplyFields } from './conversation/requests.ts'
import { LIMITS } from './limits.ts'
import {
  Member,
  Message,
  MessageBody,
  Password,
  Role,
  Room,
  RoomEvent,
  Seq,
  StorableText,
  User,
  Username,
  Uuid,
  Visibility,
} from './schemas.ts'

const strict = { additionalProperties: false } as const

export const Credentials = Type.Object({ username: Username, password: Password }, strict)
export type Credentials = Type.Static<typeof Credentials>
/** Login accepts any string lengths so a wrong guess gets 401, not a hint about the rules. */
export const LoginBody = Type.Object(
  { username: StorableText({ maxLength: 64 }), password: StorableText({ maxLength: LIMITS.passwordMax }) },
  strict,
)
export const UserResponse = Type.Object({ user: User }, strict)
export type UserResponse = Type.Static<typeof UserResponse>

export const CreateRoomBody = Type.Object(
  { name: StorableText({ minLength: LIMITS.roomNameMin, maxLength: LIMITS.roomNameMax }), visibility: Visibility },
  strict,
)
export type CreateRoomBody = Type.Static<typeof CreateRoomBody>
export const RoomParams = Type.Object({ roomId: Uuid }, strict)
export const RoomResponse = Type.Object({ room: Room }, strict)
export type RoomResponse = Type.Static<typeof RoomResponse>
export const RoomsResponse = Type.Object({ rooms: Type.Array(Room) }, strict)
export type RoomsResponse = Type.Static<typeof RoomsResponse>

/**
 * `GET /api/rooms/discover`: public rooms the caller is not in, newest first, paged by the last room's id;
 * `q` keeps those whose name contains it (case-insensitive; blank means no filter).
 */
export const DiscoverQuery = Type.Object(
  {
    q: Type.Optional(StorableText({ maxLength: LIMITS.roomSearchMax })),
    before: Type.Optional(Uuid),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: LIMITS.roomDiscoverPageMax })),
  },
  strict,
)
export const DiscoverResponse = Type.Object({ rooms: Type.Array(Room), hasMore: Type.Boolean() }, strict)
export type DiscoverResponse = Type.Static<typeof DiscoverResponse>

export const AddMemberBody = Type.Object({ username: StorableText({ maxLength: 64 }) }, strict)
export const MembersResponse = Type.Object({ members: Type.Array(Member) }, strict)
export type MembersResponse = Type.Static<typeof MembersResponse>
export const MemberResponse = Type.Object({ member: Member }, strict)
/** `PATCH /api/rooms/:roomId/members/:userId` by the owner: `owner` hands the room over (the previous owner becomes an admin). */
export const SetRoleBody = Type.Object({ role: Role }, strict)
export type SetRoleBody = Type.Static<typeof SetRoleBody>

/** `afterClientId` and the reply fields: as in the WebSocket `send` frame (docs/PROTOCOL.md). */
export const SendMessageBody = Type.Object(
  { clientId: Uuid, body: MessageBody, afterClientId: Type.Optional(Uuid), ...ReplyFields },
  strict,
)
export type SendMessageBody = Type.Static<typeof SendMessageBody>
export const MessageResponse = Type.Object({ message: Message }, strict)
export type MessageResponse = Type.Static<typeof MessageResponse>

/**
 * `POST /api/rooms/:roomId/operations` (body: `OperationBody`, shared/conversation/requests.ts):
 * the stored entry, 201 when new, 200 for a resend of a stored clientId.
 */
export const OperationResponse = Type.Object({ event: RoomEvent }, strict)
export type OperationResponse = Type.Static<typeof OperationResponse>

export const HistoryQuery = Type.Object(
  {
    before: Type.Optional(Seq),
    /** The page around this seq (jump to a message, issue 12); not with `before`. */
    around: Type.Optional(Seq),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: LIMITS.historyPageMax })),
  },
  strict,
)
/**
 * Newest first. `hasMore`: older messages exist beyond the page. `hasNewer` only answers `around=`:
 * newer messages exist beyond the page (a `before=` page has none to tell).
 */
export const HistoryResponse = Type.Object(
  { messages: Type.Array(Message), hasMore: Type.Boolean(), hasNewer: Type.Optional(Type.Boolean()) },
  strict,
)
export type HistoryResponse = Type.Static<typeof HistoryResponse>

export const EventsQuery = Type.Object(
  {
    after: Type.Optional(Seq),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: LIMITS.catchUpPageMax })),
  },
  strict,
)
export const EventsResponse = Type.Object(
  { events: Type.Array(RoomEvent), hasMore: Type.Boolean(), lastSeq: Seq },
  strict,
)
export type EventsResponse = Type.Static<typeof EventsResponse>

export const ReadBody = Type.Object({ seq: Seq }, strict)
export const ReadResponse = Type.Object({ lastReadSeq: Seq, unreadCount: Type.Integer({ minimum: 0 }) }, strict)
export type ReadResponse = Type.Static<typeof ReadResponse>

/** 204 responses carry no body. */
export const NoContent = Type.Null()

export const HealthResponse = Type.Object({ status: Type.Literal('ok') }, strict)
