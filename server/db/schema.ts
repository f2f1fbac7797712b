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
  last_seq: ColumnType<string, number | string | undefined, number | string>
  created_at: CreatedAt
}

export interface RoomMembersTable {
  room_id: string
  user_id: string
  role: 'owner' | 'member'
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
  created_at: CreatedAt
}

export interface DB {
  users: UsersTable
  sessions: SessionsTable
  rooms: RoomsTable
  room_members: RoomMembersTable
  room_events: RoomEventsTable
}

export type UserRow = Selectable<UsersTable>
export type RoomEventRow = Selectable<RoomEventsTable>
