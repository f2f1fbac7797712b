/**
 * Server search latency (issue 12): seeds `messages` messages over `rooms`
 * rooms on a throwaway PostgreSQL database (set-based SQL: words drawn from a
 * vocabulary with a long tail, so some words are everywhere and most are
 * rare; one planted rare word), ANALYZE, then times `GET /api/search` for a
 * member of every room through the app (in process, no network): `calls`
 * times per query after a warm-up. Queries: a common word, a rare word, a
 * phrase of two common words, a prefix as typed, one room, and relevance.
 */
import { sql } from 'kysely'
import { createDatabase, type Database } from '../server/db/database.ts'
import { searchSql } from '../server/search/search.repository.ts'
import { inProcessApp } from './lib/in-process-app.ts'
import { createTempDatabase, postgresProblem } from './lib/pg.ts'
import { quietGate } from './lib/proc.ts'
import { percentiles, round } from './lib/stats.ts'

export interface SearchBenchQuery {
  name: string
  q: string
  /** Messages the query matches in the whole database (what the index must sift). */
  matching: number
  hits: number
  p50Ms: number
  p99Ms: number
}

export interface SearchBenchResult {
  messages: number
  rooms: number
  calls: number
  seedSeconds?: number
  indexMb?: number
  tableMb?: number
  queries?: SearchBenchQuery[]
  backgroundBusyPct?: number
  skipped?: string
  error?: string
}

export interface SearchBenchOptions {
  messages: number
  rooms: number
  calls: number
  log: (s: string) => void
}

/** Common words first: a word's chance falls off with its rank (rank ∝ u³, u uniform). */
const COMMON = [
  'the',
  'ferry',
  'and',
  'to',
  'at',
  'gate',
  'depot',
  'is',
  'we',
  'on',
  'for',
  'leaves',
  'harbour',
  'boat',
  'today',
  'late',
  'crew',
  'ticket',
  'café',
  'crème',
  'über',
  'naïve',
  'quay',
  'pier',
  'deck',
  'cargo',
]
const VOCABULARY = [...COMMON, ...Array.from({ length: 5000 }, (_, i) => `w${i.toString(36)}x`)]
/** Planted in one message of every 10,007. */
const RARE = 'zanzibar'

async function seed(database: Database, authorId: string, userId: string, options: SearchBenchOptions) {
  const { db } = database
  const perRoom = Math.ceil(options.messages / options.rooms)
  await sql`
    INSERT INTO rooms (name, visibility, owner_id, last_seq, created_at)
    SELECT 'room ' || i, 'public', ${authorId}::uuid, ${perRoom}, now() - interval '400 days'
    FROM generate_series(1, ${options.rooms}) AS i`.execute(db)
  await sql`
    INSERT INTO room_members (room_id, user_id, role)
    SELECT id, ${authorId}::uuid, 'owner' FROM rooms
    UNION ALL SELECT id, ${userId}::uuid, 'member' FROM rooms`.execute(db)
  // Bulk load as a restore would: the GIN index is built once after the rows (same definition).
  const { rows } = await sql<{ def: string }>`
    SELECT pg_get_indexdef('room_events_search_idx'::regclass) AS def`.execute(db)
  await sql`DROP INDEX room_events_search_idx`.execute(db)
  // Messages over the last year, interleaved across rooms; 6–15 words each.
  await sql`
    INSERT INTO room_events (room_id, seq, kind, author_id, client_id, body, created_at)
    SELECT r.id, s, 'message.created', ${authorId}::uuid, gen_random_uuid(),
      (SELECT string_agg(v.w[1 + floor(power(random(), 3) * array_length(v.w, 1))::int + 0 * g], ' ')
         FROM generate_series(1, 6 + (s * 7 + r.n) % 10) AS g WHERE g > 0 AND s > 0)
        || CASE WHEN (r.n * ${perRoom} + s) % 10007 = 0 THEN ${` ${RARE}`} ELSE '' END,
      now() - make_interval(secs => (${perRoom} - s) * ${options.rooms} + r.n)
        * (365 * 86400.0 / ${perRoom * options.rooms})
    FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM rooms) AS r,
      generate_series(1, ${perRoom}) AS s,
      (SELECT ${VOCABULARY}::text[] AS w) AS v
    WHERE (r.n - 1) * ${perRoom} + s <= ${options.messages}`.execute(db)
  await sql`SET maintenance_work_mem = '256MB'`.execute(db)
  await sql.raw(rows[0]!.def).execute(db)
  await sql`ANALYZE`.execute(db)
}

async function measure(database: Database, options: SearchBenchOptions): Promise<SearchBenchResult> {
  const result: SearchBenchResult = { messages: options.messages, rooms: options.rooms, calls: options.calls }
  const { app, signUp } = await inProcessApp(database)
  try {
    const author = await signUp('bench_author')
    const user = await signUp('bench_searcher')
    const t0 = performance.now()
    await seed(database, author.id, user.id, options)
    result.seedSeconds = round((performance.now() - t0) / 1000, 1)
    const sizes = await sql<{ index: string; table: string }>`
      SELECT pg_relation_size('room_events_search_idx') AS index, pg_total_relation_size('room_events') AS table`.execute(
      database.db,
    )
    result.indexMb = round(Number(sizes.rows[0]!.index) / 2 ** 20, 1)
    result.tableMb = round(Number(sizes.rows[0]!.table) / 2 ** 20, 1)
    options.log(
      `search: seeded ${options.messages} messages in ${options.rooms} rooms in ${result.seedSeconds} s; ` +
        `GIN index ${result.indexMb} MB, room_events with indexes ${result.tableMb} MB`,
    )
    const oneRoom = await sql<{ id: string }>`SELECT id FROM rooms ORDER BY id LIMIT 1`.execute(database.db)
    const cases: Array<{ name: string; params: Record<string, string>; tsquery: string; room?: string }> = [
      { name: 'common word', params: { q: 'ferry' }, tsquery: "'ferry'" },
      { name: 'rare word', params: { q: RARE }, tsquery: `'${RARE}'` },
      { name: 'phrase', params: { q: '"depot gate"' }, tsquery: "'depot' <-> 'gate'" },
      { name: 'two words', params: { q: 'crew late' }, tsquery: "'crew' & 'late'" },
      { name: 'prefix', params: { q: 'harb' }, tsquery: "'harb':*" },
      { name: 'accented', params: { q: 'creme cafe' }, tsquery: "'creme' & 'cafe'" },
      {
        name: 'one room',
        params: { q: 'ferry', roomId: oneRoom.rows[0]!.id },
        tsquery: "'ferry'",
        room: oneRoom.rows[0]!.id,
      },
      { name: 'relevance', params: { q: 'ferry gate', sort: 'relevance' }, tsquery: "'ferry' & 'gate'" },
    ]
    result.backgroundBusyPct = await quietGate('search', options.log)
    result.queries = []
    for (const c of cases) {
      const url = `/api/search?${new URLSearchParams(c.params)}`
      const call = () => app.inject({ method: 'GET', url, headers: { cookie: user.cookie } })
      for (let i = 0; i < 3; i++) await call()
      const took: number[] = []
      let answer = await call()
      for (let i = 0; i < options.calls; i++) {
        const start = performance.now()
        answer = await call()
        took.push(performance.now() - start)
        if (answer.statusCode !== 200) throw new Error(`GET ${url}: ${answer.statusCode} ${answer.body}`)
      }
      const count = await sql<{ n: string }>`
        SELECT count(*) AS n FROM room_events
        WHERE search_tsv @@ to_tsquery('ferry_search', ${c.tsquery})
          ${c.room ? sql`AND room_id = ${c.room}::uuid` : sql``}`.execute(database.db)
      if (process.env.BENCH_SEARCH_EXPLAIN === '1') {
        const plan = await sql<{ 'QUERY PLAN': string }>`EXPLAIN (ANALYZE, BUFFERS) ${searchSql({
          userId: user.id,
          roomId: c.room,
          tsquery: c.tsquery,
          sort: (c.params.sort as 'relevance' | undefined) ?? 'recent',
          cursor: undefined,
          limit: 21,
        })}`.execute(database.db)
        options.log(`search ${c.name} plan:\n${plan.rows.map((r) => r['QUERY PLAN']).join('\n')}`)
      }
      const [p50, p99] = percentiles(took, [50, 99])
      const row = {
        name: c.name,
        q: c.params.q!,
        matching: Number(count.rows[0]!.n),
        hits: (answer.json().hits as unknown[]).length,
        p50Ms: round(p50!, 1),
        p99Ms: round(p99!, 1),
      }
      result.queries.push(row)
      options.log(`search ${row.name} q=${row.q}: ${row.matching} matching, p50 ${row.p50Ms} ms, p99 ${row.p99Ms} ms`)
    }
  } finally {
    await app.close()
  }
  return result
}

export async function runSearch(options: SearchBenchOptions): Promise<SearchBenchResult> {
  const base = { messages: options.messages, rooms: options.rooms, calls: options.calls }
  const problem = await postgresProblem()
  if (problem) return { ...base, skipped: problem }
  const temp = await createTempDatabase()
  const database = await createDatabase({ databaseUrl: temp.url })
  try {
    return await measure(database, options)
  } catch (error) {
    return { ...base, error: (error as Error).message }
  } finally {
    await database.close()
    await temp.drop()
  }
}
