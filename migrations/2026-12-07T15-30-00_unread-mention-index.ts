import { type Kysely, sql } from 'kysely'

// Frozen in time: this file imports nothing from the app.
//
// The room list's `@` marker (issue 9 item 2): each room row carries the newest
// unread message that mentions the caller (`unreadMentionSeq`). Only messages
// with mentions are in this partial index, so finding that message reads the
// room's few mentioning messages after the read marker instead of walking every
// unread entry of a busy room.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`CREATE INDEX room_events_mentions_idx ON room_events (room_id, seq)
    WHERE kind = 'message.created' AND mentions <> '{}'`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('room_events_mentions_idx').execute()
}
