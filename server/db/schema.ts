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

export interface DB {
  users: UsersTable
  sessions: SessionsTable
  rooms: RoomsTable
  room_members: RoomMembersTable
  room_events: RoomEventsTable
  message_reactions: MessageReactionsTable
}

export type UserRow = Selectable<UsersTable>
export type RoomEventRow = Selectable<RoomEventsTable>
