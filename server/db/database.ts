import path from 'node:path'
import { PGlite, type PGliteOptions } from '@electric-sql/pglite'
import { unaccent } from '@electric-sql/pglite/contrib/unaccent'
import { createPgConfig } from '@electric-sql/pglite/node-postgres'
import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import { acquireLock } from './lock-file.ts'
import type { DB } from './schema.ts'

/**
 * Options every PGlite instance of Ferry is created with: the `unaccent`
 * extension's files, which the search configuration's dictionary needs
 * (migrations/2026-12-08T01-00-00_message-search.ts). An instance of a
 * migrated data directory opened without it fails every message insert.
 */
export const PGLITE_OPTIONS = { extensions: { unaccent } } satisfies PGliteOptions

export interface Database {
  db: Kysely<DB>
  kind: 'pglite' | 'postgres'
  /** The embedded instance, when running on PGlite (for LISTEN/NOTIFY and tests). */
  pglite: PGlite | undefined
  close(): Promise<void>
}

export interface DatabaseOptions {
  /** PostgreSQL URL; absent → embedded PGlite. */
  databaseUrl?: string | undefined
  /** PGlite data directory; `memory://` for an in-memory database (tests). */
  dataDir?: string
  /** PostgreSQL schema to use (tests isolate each run in its own). */
  schema?: string
  /** An already created PGlite instance (tests start from a template). */
  pglite?: PGlite
  poolSize?: number
}

/**
 * One code path over two engines: PGlite goes through its own node-postgres
 * adapter, so both engines are driven by Kysely's PostgresDialect over a pg
 * Pool and return the same types (int8 as string, timestamptz as Date).
 */
export async function createDatabase(options: DatabaseOptions): Promise<Database> {
  if (options.databaseUrl) {
    const pool = new pg.Pool({
      connectionString: options.databaseUrl,
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: 10_000,
      ...(options.schema ? { options: `-c search_path=${options.schema}` } : {}),
    })
    pool.on('error', () => {
      // An idle client lost its connection; the pool replaces it. Queries report their own errors.
    })
    const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) })
    return { db, kind: 'postgres', pglite: undefined, close: () => db.destroy() }
  }

  let release = () => {}
  let pglite = options.pglite
  if (!pglite) {
    const dataDir = options.dataDir ?? './data'
    if (dataDir.startsWith('memory://')) {
      pglite = new PGlite(dataDir, PGLITE_OPTIONS)
    } else {
      release = acquireLock(dataDir)
      try {
        pglite = new PGlite(path.join(dataDir, 'pgdata'), PGLITE_OPTIONS)
        await pglite.waitReady
      } catch (error) {
        release()
        throw error
      }
    }
  }
  const owned = !options.pglite
  // PGlite is one connection: a second pool client would wait forever, so fail fast instead.
  const pool = new pg.Pool({ ...createPgConfig(pglite), max: 1, connectionTimeoutMillis: 30_000 })
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) })
  const instance = pglite
  return {
    db,
    kind: 'pglite',
    pglite,
    async close() {
      await db.destroy()
      if (owned) await instance.close()
      release()
    },
  }
}
