import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import { PGlite } from '@electric-sql/pglite'
import pg from 'pg'
import { describe, inject } from 'vitest'
import { createDatabase, type Database, PGLITE_OPTIONS } from '../../server/db/database.ts'
import { migrateToLatest } from '../../server/db/migrate.ts'

export type EngineName = 'pglite' | 'postgres'

/** PostgreSQL for the integration suite; when unset, that half is reported as not run. */
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL

/**
 * One suite, two databases (as Kysely tests itself): runs `body` against
 * embedded PGlite always, and against PostgreSQL when TEST_DATABASE_URL is set.
 */
export function describeEachEngine(title: string, body: (engine: EngineName) => void): void {
  describe(`${title} [pglite]`, () => body('pglite'))
  const postgresTitle = TEST_DATABASE_URL
    ? `${title} [postgres]`
    : `${title} [postgres] — NOT RUN: TEST_DATABASE_URL is not set`
  describe.skipIf(!TEST_DATABASE_URL)(postgresTitle, () => body('postgres'))
}

/**
 * A fresh, migrated database for one test file: PGlite from the migrated
 * template, or a new schema on the PostgreSQL server (dropped by `close`).
 */
export async function createTestDatabase(engine: EngineName, options: { poolSize?: number } = {}): Promise<Database> {
  if (engine === 'pglite') {
    const template = fs.readFileSync(inject('pgliteTemplate'))
    const pglite = new PGlite('memory://', { ...PGLITE_OPTIONS, loadDataDir: new Blob([template]) })
    const database = await createDatabase({ pglite })
    return {
      ...database,
      async close() {
        await database.close()
        await pglite.close()
      },
    }
  }
  if (!TEST_DATABASE_URL) throw new Error('TEST_DATABASE_URL is not set')
  const schema = `ferry_test_${randomBytes(6).toString('hex')}`
  await asAdmin(`CREATE SCHEMA ${schema}`)
  const database = await createDatabase({ databaseUrl: TEST_DATABASE_URL, schema, poolSize: options.poolSize ?? 10 })
  await migrateToLatest(database.db)
  return {
    ...database,
    async close() {
      // The pool ends first (waiting for queries still under way), then the schema goes from a
      // connection of its own: dropping it through the pool while a late write of the closing app
      // was still running ended once in "deadlock detected" (ws-liveness [postgres] teardown).
      await database.close()
      await asAdmin(`DROP SCHEMA ${schema} CASCADE`)
    },
  }
}

/** One statement on a connection of its own (schema or database create/drop, outside any app's pool). */
export async function asAdmin(statement: string): Promise<void> {
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL })
  await admin.connect()
  try {
    await admin.query(statement)
  } finally {
    await admin.end()
  }
}
