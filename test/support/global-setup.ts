import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import type { TestProject } from 'vitest/node'
import { createDatabase, PGLITE_OPTIONS } from '../../server/db/database.ts'
import { migrateToLatest } from '../../server/db/migrate.ts'

/**
 * Builds one migrated PGlite data directory and dumps it, so every test file
 * starts its own embedded database from it in ~1–2 s instead of ~5 s.
 */
export default async function setup(project: TestProject) {
  const file = path.join(os.tmpdir(), `ferry-pglite-template-${process.pid}.tar.gz`)
  const pglite = new PGlite('memory://', PGLITE_OPTIONS)
  const database = await createDatabase({ pglite })
  await migrateToLatest(database.db)
  await database.close()
  const dump = await pglite.dumpDataDir('gzip')
  fs.writeFileSync(file, Buffer.from(await dump.arrayBuffer()))
  await pglite.close()
  project.provide('pgliteTemplate', file)
  const warnIfNoPostgres = () => {
    if (process.env.TEST_DATABASE_URL) return
    console.warn(
      '\n[ferry] TEST_DATABASE_URL is not set: the PostgreSQL half of the integration suite did NOT run\n' +
        '        (its tests are counted as skipped). Set it, e.g.\n' +
        '        TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test, to run it.\n',
    )
  }
  warnIfNoPostgres()
  return () => {
    fs.rmSync(file, { force: true })
    // Again at the end, where a person reading the run's summary will see it.
    warnIfNoPostgres()
  }
}

declare module 'vitest' {
  export interface ProvidedContext {
    pgliteTemplate: string
  }
}
