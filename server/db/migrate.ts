import { promises as fs } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { FileMigrationProvider, type Kysely, type MigrationResultSet, Migrator } from 'kysely'

const migrationFolder = fileURLToPath(new URL('../../migrations', import.meta.url))

export function createMigrator(db: Kysely<any>): Migrator {
  return new Migrator({ db, provider: new FileMigrationProvider({ fs, path, migrationFolder }) })
}

function check({ error, results }: MigrationResultSet): MigrationResultSet {
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')
    throw new Error(`Migration ${failed?.migrationName ?? ''} failed: ${(error as Error).message ?? error}`)
  }
  return { results }
}

export async function migrateToLatest(db: Kysely<any>): Promise<MigrationResultSet> {
  return check(await createMigrator(db).migrateToLatest())
}

export async function migrateDown(db: Kysely<any>): Promise<MigrationResultSet> {
  return check(await createMigrator(db).migrateDown())
}
