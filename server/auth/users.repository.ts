import { type Kysely, sql } from 'kysely'
import type { DB, UserRow } from '../db/schema.ts'

export function findUserByUsername(db: Kysely<DB>, username: string): Promise<UserRow | undefined> {
  return db
    .selectFrom('users')
    .selectAll()
    .where(sql<string>`lower(username)`, '=', username.toLowerCase())
    .executeTakeFirst()
}

/** Returns undefined when the username is taken (case-insensitively). */
export async function insertUser(db: Kysely<DB>, username: string, passwordHash: string): Promise<UserRow | undefined> {
  return db
    .insertInto('users')
    .values({ username, password_hash: passwordHash })
    .onConflict((oc) => oc.expression(sql`lower(username)`).doNothing())
    .returningAll()
    .executeTakeFirst()
}
