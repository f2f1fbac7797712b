import { promises as fs } from 'node:fs'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { type Kysely, type Migration, type MigrationProvider, type MigrationResultSet, Migrator, sql } from 'kysely'

/** Set by the server build (vite.server.config.ts), which moves this module into build/server/main.js. */
declare const __FERRY_MIGRATIONS_DIR__: string | undefined
const migrationFolder = fileURLToPath(
  new URL(
    typeof __FERRY_MIGRATIONS_DIR__ === 'string' ? __FERRY_MIGRATIONS_DIR__ : '../../migrations',
    import.meta.url,
  ),
)

/**
 * Like Kysely's FileMigrationProvider, but the import happens in this module,
 * so whatever loads the app's TypeScript (tsx, vitest) also loads migrations.
 */
const provider: MigrationProvider = {
  async getMigrations() {
    const migrations: Record<string, Migration> = {}
    for (const file of (await fs.readdir(migrationFolder)).sort()) {
      if (!/\.(ts|js|mjs)$/.test(file) || file.endsWith('.d.ts')) continue
      migrations[file.replace(/\.(ts|js|mjs)$/, '')] = await import(
        pathToFileURL(path.join(migrationFolder, file)).href
      )
    }
    return migrations
  },
}

/**
 * Kysely's own migration tables live in the connection's current schema.
 * Named explicitly because without it Kysely looks for them in every schema,
 * so another schema's tables (a concurrent test run on the same server) would
 * make it skip creating its own.
 */
export async function createMigrator(db: Kysely<any>): Promise<Migrator> {
  const { rows } = await sql<{ schema: string }>`SELECT current_schema() AS schema`.execute(db)
  return new Migrator({ db, provider, migrationTableSchema: rows[0]!.schema })
}

function check({ error, results }: MigrationResultSet): MigrationResultSet {
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')
    throw new Error(`Migration ${failed?.migrationName ?? ''} failed: ${(error as Error).message ?? error}`)
  }
  return { results }
}

export async function migrateToLatest(db: Kysely<any>): Promise<MigrationResultSet> {
  return check(await (await createMigrator(db)).migrateToLatest())
}

export async function migrateDown(db: Kysely<any>): Promise<MigrationResultSet> {
  return check(await (await createMigrator(db)).migrateDown())
}
