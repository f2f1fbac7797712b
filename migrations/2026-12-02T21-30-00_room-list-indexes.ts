import { type Kysely, sql } from 'kysely'

// Frozen in time: this file imports nothing from the app.
//
// The room list reads public rooms newest first, a page at a time
// (GET /api/rooms, GET /api/rooms/discover): this index lets it stop after
// one page. The old index on visibility alone (two values) never helped a query.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`CREATE INDEX rooms_public_newest_idx ON rooms (created_at DESC, id DESC) WHERE visibility = 'public'`.execute(
    db,
  )
  await db.schema.dropIndex('rooms_visibility_idx').execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('rooms_visibility_idx').on('rooms').column('visibility').execute()
  await db.schema.dropIndex('rooms_public_newest_idx').execute()
}
