import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import { sql } from 'kysely'
import pg from 'pg'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { buildApp } from '../../server/app.ts'
import { createDatabase, type Database, PGLITE_OPTIONS } from '../../server/db/database.ts'
import { DataDirInUseError } from '../../server/db/lock-file.ts'
import { migrateDown, migrateToLatest } from '../../server/db/migrate.ts'
import type { Message } from '../../shared/schemas.ts'
import { createRoom, sendMessage } from '../support/api.ts'
import { signUp, testConfig } from '../support/app.ts'
import { createTestDatabase, describeEachEngine, TEST_DATABASE_URL } from '../support/databases.ts'

const PASSWORD = 'correct horse battery'

/** Writes through the HTTP API on one app instance, then closes it. */
async function writeSomeMessages(database: Database) {
  const app = await buildApp({ config: testConfig(), database, serveClient: false })
  const alice = await signUp(app, 'persist_alice')
  const room = await createRoom(alice, 'private', 'kept')
  const sent: Message[] = []
  for (const body of ['first', 'second', 'third']) sent.push(await sendMessage(alice, room.id, body))
  await app.close()
  return { roomId: room.id, sent }
}

/** Opens a new app on `database`, logs in again and reads the room back. */
async function readBack(database: Database, roomId: string) {
  const app = await buildApp({ config: testConfig(), database, serveClient: false })
  try {
    const login = await app.inject({
      method: 'POST',
      url: '/api/auth/login',
      headers: { 'content-type': 'application/json' },
      payload: { username: 'persist_alice', password: PASSWORD },
    })
    expect(login.statusCode).toBe(200)
    const cookies = Object.fromEntries(login.cookies.map((c) => [c.name, c.value]))
    const history = await app.inject({ method: 'GET', url: `/api/rooms/${roomId}/messages`, cookies })
    const events = await app.inject({ method: 'GET', url: `/api/rooms/${roomId}/events?after=0`, cookies })
    // The log continues where it stopped: the next seq follows on.
    const next = await app.inject({
      method: 'POST',
      url: `/api/rooms/${roomId}/messages`,
      cookies,
      headers: { 'content-type': 'application/json' },
      payload: { clientId: crypto.randomUUID(), body: 'after restart' },
    })
    return { history: history.json(), events: events.json(), next: next.json() }
  } finally {
    await app.close()
  }
}

describe('persistence on embedded PGlite [pglite]', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-persist-'))
  afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }))

  it('keeps every message across a restart, and a second open of the data directory is refused', async () => {
    // Seed the directory from the migrated template instead of running initdb (several seconds).
    const seed = new PGlite(path.join(dataDir, 'pgdata'), {
      ...PGLITE_OPTIONS,
      loadDataDir: new Blob([fs.readFileSync(inject('pgliteTemplate'))]),
    })
    await seed.waitReady
    await seed.close()

    const first = await createDatabase({ dataDir })
    let written: Awaited<ReturnType<typeof writeSomeMessages>>
    try {
      await migrateToLatest(first.db)
      expect(fs.readFileSync(path.join(dataDir, 'ferry.lock'), 'utf8')).toBe(String(process.pid))
      // While it is open, nobody else (not even this process) may open the same directory.
      const second = createDatabase({ dataDir })
      await expect(second).rejects.toBeInstanceOf(DataDirInUseError)
      await expect(second).rejects.toThrow(/in use.*DATA_DIR/s)
      written = await writeSomeMessages(first)
    } finally {
      await first.close()
    }
    expect(fs.existsSync(path.join(dataDir, 'ferry.lock'))).toBe(false)

    const reopened = await createDatabase({ dataDir })
    try {
      await migrateToLatest(reopened.db)
      const { history, events, next } = await readBack(reopened, written.roomId)
      // Each history message also carries its folded `state` (issue 9); the message itself is as sent.
      expect(history.messages.map(({ state: _, ...message }: { state?: unknown }) => message)).toEqual(
        [...written.sent].reverse(),
      )
      expect(events.events.map((e: { seq: number; body: string }) => [e.seq, e.body])).toEqual([
        [1, 'first'],
        [2, 'second'],
        [3, 'third'],
      ])
      expect(events.lastSeq).toBe(3)
      expect(next.message.seq).toBe(4)
    } finally {
      await reopened.close()
    }
  })
})

describe.skipIf(!TEST_DATABASE_URL)(
  `persistence on PostgreSQL [postgres]${TEST_DATABASE_URL ? '' : ' — NOT RUN: TEST_DATABASE_URL is not set'}`,
  () => {
    const schema = `ferry_test_${randomBytes(6).toString('hex')}`
    afterAll(async () => {
      const admin = new pg.Client({ connectionString: TEST_DATABASE_URL })
      await admin.connect()
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
      await admin.end()
    })

    it('keeps every message across a restart (a new pool on the same database)', async () => {
      const admin = new pg.Client({ connectionString: TEST_DATABASE_URL })
      await admin.connect()
      await admin.query(`CREATE SCHEMA ${schema}`)
      await admin.end()

      const first = await createDatabase({ databaseUrl: TEST_DATABASE_URL, schema, poolSize: 4 })
      let written: Awaited<ReturnType<typeof writeSomeMessages>>
      try {
        await migrateToLatest(first.db)
        written = await writeSomeMessages(first)
      } finally {
        await first.close()
      }
      const reopened = await createDatabase({ databaseUrl: TEST_DATABASE_URL, schema, poolSize: 4 })
      try {
        const { results } = await migrateToLatest(reopened.db)
        expect(results).toEqual([])
        const { history, events, next } = await readBack(reopened, written.roomId)
        // Each history message also carries its folded `state` (issue 9); the message itself is as sent.
        expect(history.messages.map(({ state: _, ...message }: { state?: unknown }) => message)).toEqual(
          [...written.sent].reverse(),
        )
        expect(events.lastSeq).toBe(3)
        expect(next.message.seq).toBe(4)
      } finally {
        await reopened.close()
      }
    })
  },
)

describeEachEngine('migrations', (engine) => {
  it('migrate down drops the schema and migrate up restores a working one', async () => {
    const database = await createTestDatabase(engine)
    const tables = async () =>
      (
        await sql<{ table_name: string }>`
          SELECT table_name FROM information_schema.tables
          WHERE table_schema = current_schema() AND table_name NOT LIKE 'kysely_%'
          ORDER BY table_name`.execute(database.db)
      ).rows.map((r) => r.table_name)
    const TABLES = [
      'message_reactions',
      'push_subscriptions',
      'push_vapid',
      'room_events',
      'room_members',
      'rooms',
      'sessions',
      'users',
    ]
    try {
      expect(await tables()).toEqual(TABLES)

      // Down one migration at a time, newest first; down with nothing applied is a no-op, not an error.
      const downs: Array<[string, string]> = []
      for (let step = 0; step < 100; step++) {
        const results = (await migrateDown(database.db)).results ?? []
        if (results.length === 0) break
        downs.push(...results.map((r): [string, string] => [r.direction, r.status]))
      }
      expect(downs.length).toBeGreaterThan(0)
      expect(downs).toEqual(downs.map(() => ['Down', 'Success']))
      expect(await tables()).toEqual([])

      const up = await migrateToLatest(database.db)
      expect(up.results?.map((r) => [r.direction, r.status])).toEqual(downs.map(() => ['Up', 'Success']))
      expect(await tables()).toEqual(TABLES)
      expect((await migrateToLatest(database.db)).results).toEqual([])

      // The restored schema works end to end, and keeps its constraints.
      const app = await buildApp({ config: testConfig(), database, serveClient: false })
      try {
        const alice = await signUp(app, 'migrated_user')
        const room = await createRoom(alice)
        expect((await sendMessage(alice, room.id, 'works')).seq).toBe(1)
        const taken = await app.inject({
          method: 'POST',
          url: '/api/auth/signup',
          headers: { 'content-type': 'application/json' },
          payload: { username: 'MIGRATED_USER', password: PASSWORD },
        })
        expect(taken.statusCode).toBe(409)
      } finally {
        await app.close()
      }
    } finally {
      await database.close()
    }
  })
})
