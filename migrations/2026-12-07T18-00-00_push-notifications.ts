import { type Kysely, sql } from 'kysely'

// Frozen in time: this file imports nothing from the app.
//
// Notifications (issue 10, docs/PUSH.md):
// - push_subscriptions: one row per device's push endpoint, owned by the
//   session (the device's login) that registered it, so logging out or the
//   session's expiry sweep removes it (ON DELETE CASCADE).
// - room_members.notify_level: what the member hears of the room.
// - push_vapid: the server's VAPID key pair when the environment gives none,
//   one row generated at first start (insert-if-absent, then read: several
//   processes may start at once).
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('push_subscriptions')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('user_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('session_id', 'text', (c) => c.notNull().references('sessions.id').onDelete('cascade'))
    .addColumn('endpoint', 'text', (c) => c.notNull().unique())
    .addColumn('p256dh', 'text', (c) => c.notNull())
    .addColumn('auth', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    // Raised by every registration of the endpoint: the oldest refreshed goes first past the per-user bound.
    .addColumn('refreshed_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    // Failed deliveries in a row (after retries), reset by a success or a registration.
    .addColumn('failures', 'integer', (c) => c.notNull().defaultTo(0))
    .execute()
  await db.schema.createIndex('push_subscriptions_user_id_idx').on('push_subscriptions').column('user_id').execute()
  await db.schema
    .createIndex('push_subscriptions_session_id_idx')
    .on('push_subscriptions')
    .column('session_id')
    .execute()

  await sql`ALTER TABLE room_members ADD COLUMN notify_level text NOT NULL DEFAULT 'all'
    CHECK (notify_level IN ('all', 'mentions', 'none'))`.execute(db)

  await db.schema
    .createTable('push_vapid')
    .addColumn('id', 'integer', (c) => c.primaryKey().check(sql`id = 1`))
    .addColumn('public_key', 'text', (c) => c.notNull())
    .addColumn('private_key', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('push_vapid').execute()
  await db.schema.alterTable('room_members').dropColumn('notify_level').execute()
  await db.schema.dropTable('push_subscriptions').execute()
}
