/**
 * Room list cost with many rooms (issue 7, item 7): seeds `rooms` public rooms
 * (a few messages each), makes one user a member of `memberOf` of them, and
 * times `GET /api/rooms` for that user through the app (in process, no
 * network), `calls` times after a warm-up, on PGlite and on PostgreSQL.
 */
import { sql } from 'kysely'
import { createDatabase, type Database } from '../server/db/database.ts'
import { inProcessApp } from './lib/in-process-app.ts'
import { createTempDatabase, postgresProblem } from './lib/pg.ts'
import { quietGate } from './lib/proc.ts'
import { percentiles, round } from './lib/stats.ts'

export interface RoomsListResult {
  engine: 'pglite' | 'postgres'
  rooms: number
  memberOf: number
  calls: number
  p50Ms?: number
  p99Ms?: number
  maxMs?: number
  /** Rooms in one answer, and how many of them the user belongs to. */
  listed?: number
  listedMember?: number
  responseBytes?: number
  backgroundBusyPct?: number
  /** GET /api/rooms/discover?q=…: p50 ms per search, by how much of the public rooms it must walk. */
  discover?: Array<{ search: string; found: number; p50Ms: number; p99Ms: number }>
  skipped?: string
  error?: string
}

export interface RoomsListOptions {
  rooms: number
  memberOf: number
  calls: number
  log: (s: string) => void
}

const MESSAGES_PER_ROOM = 3

/** Everything in a few set-based statements, so seeding 10,000 rooms takes seconds. */
async function seed(database: Database, ownerId: string, userId: string, rooms: number, memberOf: number) {
  const { db } = database
  await sql`
    INSERT INTO rooms (name, visibility, owner_id, last_seq, created_at)
    SELECT 'room ' || i, 'public', ${ownerId}::uuid, ${MESSAGES_PER_ROOM}, now() - make_interval(secs => i)
    FROM generate_series(1, ${rooms}) AS i`.execute(db)
  await sql`
    INSERT INTO room_members (room_id, user_id, role)
    SELECT id, owner_id, 'owner' FROM rooms WHERE owner_id = ${ownerId}::uuid`.execute(db)
  await sql`
    INSERT INTO room_events (room_id, seq, kind, author_id, client_id, body, created_at)
    SELECT r.id, s, 'message.created', r.owner_id, gen_random_uuid(), 'message ' || s, r.created_at + make_interval(secs => s)
    FROM rooms r, generate_series(1, ${MESSAGES_PER_ROOM}) AS s
    WHERE r.owner_id = ${ownerId}::uuid`.execute(db)
  // The user's rooms are spread over the whole list (every n-th room), not the newest ones.
  await sql`
    INSERT INTO room_members (room_id, user_id, role, last_read_seq)
    SELECT id, ${userId}::uuid, 'member', 1 FROM (
      SELECT id, row_number() OVER (ORDER BY created_at) AS n FROM rooms WHERE owner_id = ${ownerId}::uuid
    ) numbered
    WHERE n % ${Math.max(1, Math.floor(rooms / memberOf))} = 0
    LIMIT ${memberOf}`.execute(db)
  await sql`ANALYZE`.execute(db)
}

async function measure(engine: 'pglite' | 'postgres', database: Database, options: RoomsListOptions) {
  const result: RoomsListResult = {
    engine,
    rooms: options.rooms,
    memberOf: options.memberOf,
    calls: options.calls,
  }
  const { app, signUp } = await inProcessApp(database)
  try {
    const owner = await signUp('bench_owner')
    const user = await signUp('bench_reader')
    const t0 = performance.now()
    await seed(database, owner.id, user.id, options.rooms, options.memberOf)
    options.log(`rooms ${engine}: seeded ${options.rooms} rooms in ${Math.round(performance.now() - t0)} ms`)

    const list = () => app.inject({ method: 'GET', url: '/api/rooms', headers: { cookie: user.cookie } })
    for (let i = 0; i < 3; i++) await list()
    result.backgroundBusyPct = await quietGate(`rooms ${engine}`, options.log)
    const times: number[] = []
    let last = await list()
    for (let i = 0; i < options.calls; i++) {
      const start = performance.now()
      last = await list()
      times.push(performance.now() - start)
      if (last.statusCode !== 200) throw new Error(`GET /api/rooms: ${last.statusCode} ${last.body}`)
    }
    const [p50, p99, max] = percentiles(times, [50, 99, 100])
    const rooms = last.json().rooms as Array<{ role: string | null }>
    Object.assign(result, {
      p50Ms: round(p50!, 1),
      p99Ms: round(p99!, 1),
      maxMs: round(max!, 1),
      listed: rooms.length,
      listedMember: rooms.filter((r) => r.role !== null).length,
      responseBytes: last.body.length,
    })
    options.log(`rooms ${engine}: p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms, ${result.listed} rooms listed`)

    // Discover search: common (a page fills at once), one match (walks to it), none (walks every public room).
    result.discover = []
    for (const search of ['room 1', `room ${Math.ceil(options.rooms / 2)}`, 'no such room']) {
      const url = `/api/rooms/discover?limit=20&q=${encodeURIComponent(search)}`
      const discover = () => app.inject({ method: 'GET', url, headers: { cookie: user.cookie } })
      for (let i = 0; i < 3; i++) await discover()
      const took: number[] = []
      let answer = await discover()
      for (let i = 0; i < options.calls; i++) {
        const start = performance.now()
        answer = await discover()
        took.push(performance.now() - start)
        if (answer.statusCode !== 200) throw new Error(`GET ${url}: ${answer.statusCode} ${answer.body}`)
      }
      const [d50, d99] = percentiles(took, [50, 99])
      const found = (answer.json().rooms as unknown[]).length
      result.discover.push({ search, found, p50Ms: round(d50!, 1), p99Ms: round(d99!, 1) })
      options.log(
        `rooms ${engine}: discover q="${search}" p50 ${round(d50!, 1)} ms, p99 ${round(d99!, 1)} ms, ${found} found`,
      )
    }
  } finally {
    await app.close()
  }
  return result
}

export async function runRoomsList(options: RoomsListOptions): Promise<RoomsListResult[]> {
  const results: RoomsListResult[] = []
  const base = { rooms: options.rooms, memberOf: options.memberOf, calls: options.calls }
  const embedded = await createDatabase({ dataDir: 'memory://' })
  try {
    results.push(await measure('pglite', embedded, options))
  } catch (error) {
    results.push({ engine: 'pglite', ...base, error: (error as Error).message })
  } finally {
    await embedded.close()
  }

  const problem = await postgresProblem()
  if (problem) {
    results.push({ engine: 'postgres', ...base, skipped: problem })
    return results
  }
  const temp = await createTempDatabase()
  const database = await createDatabase({ databaseUrl: temp.url })
  try {
    results.push(await measure('postgres', database, options))
  } catch (error) {
    results.push({ engine: 'postgres', ...base, error: (error as Error).message })
  } finally {
    await database.close()
    await temp.drop()
  }
  return results
}
