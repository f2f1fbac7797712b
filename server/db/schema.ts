import type { ColumnType, Generated, Selectable } from 'kysely'

/** int8 columns arrive as strings from pg (and PGlite's adapter); writes accept numbers. */
type Int8 = ColumnType<string, number | string, number | string>
type CreatedAt = ColumnType<Date, Date | string | undefined, never>

export interface UsersTable {
  id: Generated<string>
  username: string
  password_hash: string
  created_at: CreatedAt
}

export interface SessionsTable {
  id: string
  user_id: string
  created_at: CreatedAt
  expires_at: ColumnType<Date, Date | string, Date | string>
}

export interface RoomsTable {
  id: Generated<string>
  name: string
  visibility: 'public' | 'private'
  owner_id: string
  /** The topic of the latest `room.renamed`; null: none. */
  topic: ColumnType<string | null, string | null | undefined, string | null>
  last_seq: ColumnType<string, number | string | undefined, number | string>
  created_at: CreatedAt
}

export interface RoomMembersTable {
  room_id: string
  user_id: string
  role: 'owner' | 'admin' | 'member'
  joined_at: CreatedAt
  last_read_seq: ColumnType<string, number | string | undefined, number | string>
  /** What the member hears of the room by push (docs/PUSH.md). */
  notify_level: ColumnType<
    'all' | 'mentions' | 'none',
    'all' | 'mentions' | 'none' | undefined,
    'all' | 'mentions' | 'none'
  >
}

export interface RoomEventsTable {
  room_id: string
  seq: Int8
  kind: string
  author_id: string | null
  client_id: string | null
  body: string | null
  target_seq: ColumnType<string | null, number | string | null | undefined, number | string | null>
  reaction: string | null
  /** `member.*`: who joined, left or was removed (author_id is who did it). */
  subject_id: ColumnType<string | null, string | null | undefined, string | null>
  /** `room.renamed`: the topic it sets (body holds the name). */
  topic: ColumnType<string | null, string | null | undefined, string | null>
  created_at: CreatedAt
  /** `message.created`: the seq of the message it replies to. */
  reply_to: ColumnType<string | null, number | string | null | undefined, number | string | null>
  /** `message.created`/`message.edited`: members resolved from `@username` in the body. */
  mentions: ColumnType<string[], string[] | undefined, string[]>
  /** Denormalised state of a `message.created` row, kept with each entry that changes it (issue 9). */
  edited_seq: ColumnType<string | null, number | string | null | undefined, number | string | null>
  edited_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
  deleted_seq: ColumnType<string | null, number | string | null | undefined, number | string | null>
  deleted_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
  deleted_by: string | null
}

/** Who holds which emoji on a message, since the add at `seq` (the current state of its reaction entries). */
export interface MessageReactionsTable {
  room_id: string
  message_seq: Int8
  emoji: string
  user_id: string
  seq: Int8
}

/** A device's push endpoint, owned by the session that registered it (server/push/). */
export interface PushSubscriptionsTable {
  id: Generated<string>
  user_id: string
  session_id: string
  endpoint: string
  p256dh: string
  auth: string
  created_at: CreatedAt
  refreshed_at: ColumnType<Date, Date | string | undefined, Date | string>
  failures: ColumnType<number, number | undefined, number>
}

/** The generated VAPID key pair (one row, id 1) when the environment gives none. */
export interface PushVapidTable {
  id: number
  public_key: string
  private_key: string
  created_at: CreatedAt
}

export interface DB {
  users: UsersTable
  sessions: SessionsTable
  rooms: RoomsTable
  room_members: RoomMembersTable
  room_events: RoomEventsTable
  message_reactions: MessageReactionsTable
  push_subscriptions: PushSubscriptionsTable
  push_vapid: PushVapidTable
}

export type UserRow = Selectable<UsersTable>
export type RoomEventRow = Selectable<RoomEventsTable>
