import { randomBytes } from 'node:crypto'
import { asAdmin, TEST_DATABASE_URL } from './databases.ts'

export interface ScratchDatabase {
  /** A DATABASE_URL for a server process: a whole database of its own (a process cannot be told a schema). */
  url: string
  drop(): Promise<void>
}

/** A fresh, empty PostgreSQL database on the test server, for tests that run real server processes. */
export async function createScratchDatabase(prefix = 'ferry_proc'): Promise<ScratchDatabase> {
  if (!TEST_DATABASE_URL) throw new Error('TEST_DATABASE_URL is not set')
  const name = `${prefix}_${randomBytes(6).toString('hex')}`
  await asAdmin(`CREATE DATABASE ${name}`)
  const url = new URL(TEST_DATABASE_URL)
  url.pathname = `/${name}`
  return {
    url: url.toString(),
    // FORCE: a killed process's connections may linger for a moment.
    drop: () => asAdmin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  }
}
