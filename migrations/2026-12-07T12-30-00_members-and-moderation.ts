import { type Kysely, sql } from 'kysely'

// Frozen in time: this file imports nothing from the app.
//
// Issue 9, member notices and moderation (docs/PROTOCOL.md, "Conversation events"):
// - room_events.subject_id: who joined, left or was removed (`member.*`; author_id is
//   who did it). SET NULL when that account goes, like author_id.
//   Indexed (partial): the few notices of a user, found by who they name.
// - room_events.topic: the topic a `room.renamed` entry sets (its body is the name).
// - rooms.topic: the room's current topic (null: none), kept with rooms.name in the
//   same transaction as the `room.renamed` entry.
// - room_members.role accepts 'admin' (removes members and renames the room).
export async function up(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE room_events ADD COLUMN subject_id uuid REFERENCES users (id) ON DELETE SET NULL`.execute(db)
  // A user's notices: "did they leave or get removed from this room?" (a former member's
  // send to a private room answers not_member, not not_found), and SET NULL when they go.
  await sql`CREATE INDEX room_events_subject_idx ON room_events (subject_id, room_id) WHERE subject_id IS NOT NULL`.execute(
    db,
  )
  await sql`ALTER TABLE room_events ADD COLUMN topic text`.execute(db)
  await sql`ALTER TABLE rooms ADD COLUMN topic text`.execute(db)
  await sql`ALTER TABLE room_members DROP CONSTRAINT room_members_role_check`.execute(db)
  await sql`ALTER TABLE room_members ADD CONSTRAINT room_members_role_check
    CHECK (role IN ('owner', 'admin', 'member'))`.execute(db)
}

// Admins become members again; notices and topics go with their columns.
export async function down(db: Kysely<any>): Promise<void> {
  await sql`UPDATE room_members SET role = 'member' WHERE role = 'admin'`.execute(db)
  await sql`ALTER TABLE room_members DROP CONSTRAINT room_members_role_check`.execute(db)
  await sql`ALTER TABLE room_members ADD CONSTRAINT room_members_role_check CHECK (role IN ('owner', 'member'))`.execute(
    db,
  )
  await sql`ALTER TABLE rooms DROP COLUMN topic`.execute(db)
  await sql`ALTER TABLE room_events DROP COLUMN topic`.execute(db)
  await sql`DROP INDEX room_events_subject_idx`.execute(db)
  await sql`ALTER TABLE room_events DROP COLUMN subject_id`.execute(db)
}
