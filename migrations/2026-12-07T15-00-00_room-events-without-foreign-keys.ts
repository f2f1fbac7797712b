import { type Kysely, sql } from 'kysely'

// Frozen in time: this file imports nothing from the app.
//
// Issue 14: room_events loses its four foreign keys (room_id → rooms, author_id,
// subject_id and deleted_by → users). Each ran a trigger per inserted row, a
// `FOR KEY SHARE` lookup of the room or user, on the hot path: measured with
// `npm run bench -- pg-append` (variant "ferry, no foreign keys", 5 interleaved
// rounds, quiet machine) they were 25–35 % of the database CPU of a stored
// write at batch 3–30 on PostgreSQL (107 → 70 µs at batch 10).
//
// Nothing they guarded is lost:
// - every write goes through ferry_append_batch / ferry_append_ops or
//   changeRoom, which lock the room's row and check the author's membership in
//   the same transaction (room_members keeps its own foreign keys, so a member
//   row names an existing room and user);
// - the app deletes a room only in changeRoom, with the room's row locked, and
//   deletes its log in the same transaction (it used to be the cascade);
// - the app deletes no user. An operator who deletes one must first set their
//   room_events.author_id / subject_id / deleted_by to NULL (the old SET NULL);
//   docs/DEVELOPING.md says so.
const FOREIGN_KEYS = [
  ['room_id', 'rooms', 'CASCADE'],
  ['author_id', 'users', 'SET NULL'],
  ['subject_id', 'users', 'SET NULL'],
  ['deleted_by', 'users', 'SET NULL'],
] as const

export async function up(db: Kysely<any>): Promise<void> {
  for (const [column] of FOREIGN_KEYS)
    await sql.raw(`ALTER TABLE room_events DROP CONSTRAINT room_events_${column}_fkey`).execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const [column, table, onDelete] of FOREIGN_KEYS)
    await sql
      .raw(
        `ALTER TABLE room_events ADD CONSTRAINT room_events_${column}_fkey
           FOREIGN KEY (${column}) REFERENCES ${table} (id) ON DELETE ${onDelete}`,
      )
      .execute(db)
}
