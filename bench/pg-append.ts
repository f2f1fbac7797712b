/**
 * Database CPU per stored message (issue 14): the append statement alone, with
 * no server, socket or generator around it, so the figure is not blurred by
 * whatever else the machine runs.
 *
 * On a throwaway PostgreSQL database (and on in-memory PGlite), migrated to
 * the latest schema and seeded with 100 rooms of 10 members, it calls
 * `ferry_append_batch` (server/messages/append-batch.ts, the one statement of
 * the hot path) with batches of 1, 3, 10 and 30 fresh writes from random
 * members, each call its own transaction, and reads the CPU the database spent:
 * the bench database's backends from /proc on PostgreSQL, this process on
 * PGlite (which runs in it). Beside it:
 * - "generic plans": the same function with plan_cache_mode =
 *   force_generic_plan (a candidate: on this machine, through this driver, it
 *   was not better, so it is not in a migration; docs/BENCHMARKS.md);
 * - "with foreign keys": the same function with room_events' four foreign keys
 *   back (they were dropped for 25–35 % of this figure, docs/BENCHMARKS.md);
 * - "ferry_append_ops": the same plain sends through the function that also
 *   stores operations (issue 9), which the server calls for a batch holding
 *   any edit, delete, reaction, reply or mention: what a plain send costs in
 *   such a batch;
 * - "peer INSERT": the persisted peer's one multi-row INSERT into a table
 *   with only a primary key (bench/pg-peer-server.ts: no dedupe, no
 *   membership, seqs from memory), sent through the same driver.
 * BENCH_PG_APPEND_SET=ladder adds the steps between the peer and Ferry
 * (bench/pg-append-ladder.ts), =levers candidate changes
 * (bench/pg-append-levers.ts); BENCH_PG_APPEND_SLICE interleaves the variants
 * in small slices for a loaded machine (docs/BENCHMARKS.md).
 */
import { randomUUID } from 'node:crypto'
import fs from 'node:fs'
import { sql } from 'kysely'
import { createDatabase, type Database } from '../server/db/database.ts'
import { migrateToLatest } from '../server/db/migrate.ts'
import { createTempDatabase, postgresProblem } from './lib/pg.ts'
import { postgresCpuSeconds } from './lib/proc.ts'
import { round } from './lib/stats.ts'
import { LADDER, type LadderStep, ladderCaller, setUpLadder } from './pg-append-ladder.ts'
import { LEVER_FUNCTIONS, LEVERS, type Lever, setUpLevers } from './pg-append-levers.ts'

const DEFAULT_VARIANTS = [
  'peer INSERT',
  'ferry',
  'ferry, with foreign keys',
  'ferry, generic plans',
  'ferry_append_ops',
] as const
type Variant = (typeof DEFAULT_VARIANTS)[number] | LadderStep | Lever

/**
 * Which variants a run measures (BENCH_PG_APPEND_SET): `default`; `ladder`, the
 * peer, each step of bench/pg-append-ladder.ts and ferry (where the gap goes);
 * `levers`, the peer, ferry and the candidates of bench/pg-append-levers.ts;
 * `lock`, the ladder's steps around the room lock only.
 */
export type PgAppendSet = 'default' | 'ladder' | 'levers' | 'lock'
const SETS: Record<PgAppendSet, readonly Variant[]> = {
  default: DEFAULT_VARIANTS,
  ladder: ['peer INSERT', ...LADDER, 'ferry'],
  levers: ['peer INSERT', 'ferry', ...LEVERS],
  lock: [
    'peer INSERT',
    'L7 + PL/pgSQL function, unnest, RETURNING',
    'L8a L7 + rooms FOR UPDATE only (seqs from memory)',
    'L8b L8a + last_seq UPDATE (seqs from memory)',
    'L8 + rooms FOR UPDATE, last_seq UPDATE',
    'ferry',
  ],
}
const isLadderStep = (v: Variant): v is LadderStep => (LADDER as readonly string[]).includes(v)
const isLever = (v: Variant): v is Lever => (LEVERS as readonly string[]).includes(v)

export interface PgAppendRow {
  engine: 'pglite' | 'postgres'
  variant: Variant
  batch: number
  writes: number
  /** Database CPU per stored write, µs. */
  cpuUsPerWrite: number
  /** Wall time per call (one transaction), ms. */
  msPerCall: number
}

export interface PgAppendOptions {
  writesPerCase: number
  /** Passes over every batch size and variant; each row is one pass's case (BENCH_PG_APPEND_ROUNDS). */
  rounds?: number
  /** BENCH_PG_APPEND_SET (comma-separated, their union); `default` when absent. */
  sets?: readonly PgAppendSet[]
  /**
   * BENCH_PG_APPEND_SLICE: 0 (default) runs each variant's whole case at once;
   * N > 0 cuts every round into slices of ~N writes, cycling through the
   * variants slice by slice (new random order each cycle), and reads the
   * backends' CPU in nanoseconds (/proc/<pid>/schedstat) around each slice:
   * a loaded machine's slow patches then hit every variant alike. Variants
   * that alter the schema for their pass are left out of this mode.
   */
  slice?: number
  /** false: PostgreSQL only (BENCH_PG_APPEND_PGLITE=0). */
  pglite?: boolean
  log: (s: string) => void
}

const BATCHES = [1, 3, 10, 30]
const BODY = 'a message of about forty characters here'
const SIGNATURE = 'ferry_append_batch(uuid[], uuid[], uuid[], text[], uuid[])'
/**
 * The foreign keys room_events had until migration 2026-12-07T15-00-00. Each
 * ran a trigger per inserted row (a `FOR KEY SHARE` lookup of the room or
 * user); the "with foreign keys" variant adds them back NOT VALID (no scan of
 * the table) for its pass and drops them after, so the decision stays measured.
 */
const ROOM_EVENT_FOREIGN_KEYS = [
  ['room_id', 'rooms'],
  ['author_id', 'users'],
  ['subject_id', 'users'],
  ['deleted_by', 'users'],
] as const

interface Member {
  room_id: string
  user_id: string
}

async function seed(database: Database): Promise<Member[]> {
  const { db } = database
  await sql`INSERT INTO users (username, password_hash) SELECT 'bench' || g, 'x' FROM generate_series(1, 1000) g`.execute(
    db,
  )
  await sql`
    INSERT INTO rooms (name, visibility, owner_id)
    SELECT 'room ' || g, 'public', (SELECT id FROM users ORDER BY id LIMIT 1) FROM generate_series(1, 100) g`.execute(
    db,
  )
  await sql`
    INSERT INTO room_members (room_id, user_id, role)
    SELECT r.id, u.id, 'member'
      FROM (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM rooms) r
      JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM users) u ON u.n / 10 = r.n`.execute(db)
  await sql`
    CREATE TABLE bench_peer_messages (
      room_id uuid NOT NULL, seq bigint NOT NULL, client_id uuid NOT NULL, author_id uuid NOT NULL,
      body text NOT NULL, created_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (room_id, seq))`.execute(db)
  const { rows } = await sql<Member>`SELECT room_id, user_id FROM room_members`.execute(db)
  // 20 stored messages per member before ANALYZE, so the plans cached are
  // those of a table in use, not of an empty one (docs/BENCHMARKS.md: an
  // empty table's statistics once made a lookup a sequential scan). Written
  // by one plain INSERT, not through ferry_append_batch: a function called
  // before ANALYZE kept plans that cost it 10–15 % per write for the rest of
  // the run (docs/BENCHMARKS.md, 2026-12-07 "Where the rest of the gap goes").
  await sql`
    INSERT INTO room_events (room_id, seq, kind, author_id, client_id, body)
    SELECT m.room_id, row_number() OVER (PARTITION BY m.room_id ORDER BY m.user_id, g), 'message.created',
           m.user_id, gen_random_uuid(), ${BODY}
      FROM room_members m CROSS JOIN generate_series(1, 20) AS g`.execute(db)
  await sql`UPDATE rooms SET last_seq = coalesce((SELECT max(seq) FROM room_events e WHERE e.room_id = rooms.id), 0)`.execute(
    db,
  )
  await sql`INSERT INTO bench_peer_messages (room_id, seq, client_id, author_id, body)
    SELECT room_id, seq, client_id, author_id, body FROM room_events`.execute(db)
  return rows
}

const uuids = (values: ReadonlyArray<string | null>) => sql`${values}::uuid[]`

async function measureEngine(
  engine: 'pglite' | 'postgres',
  database: Database,
  databaseName: string | undefined,
  options: PgAppendOptions,
): Promise<PgAppendRow[]> {
  const { db } = database
  await migrateToLatest(db)
  const members = await seed(database)
  const variants = [...new Set((options.sets ?? ['default']).flatMap((set) => SETS[set] ?? []))]
  if (variants.length === 0) throw new Error(`BENCH_PG_APPEND_SET names no set of ${Object.keys(SETS).join(', ')}`)
  if (variants.some(isLadderStep)) await setUpLadder(db)
  if (variants.some(isLever)) await setUpLevers(db)
  await sql`ANALYZE`.execute(db)
  const ladder = ladderCaller(db)
  const peerSeq = new Map<string, number>(
    (
      await sql<{
        room_id: string
        seq: string
      }>`SELECT room_id, max(seq) AS seq FROM bench_peer_messages GROUP BY room_id`.execute(db)
    ).rows.map((r) => [r.room_id, Number(r.seq)]),
  )
  const cpuSeconds = () =>
    engine === 'postgres'
      ? postgresCpuSeconds(databaseName)
      : process.cpuUsage().user / 1e6 + process.cpuUsage().system / 1e6

  const call = async (variant: PgAppendRow['variant'], batch: Member[]) => {
    if (variant === 'peer INSERT') {
      const seqs = batch.map((m) => {
        const seq = (peerSeq.get(m.room_id) ?? 0) + 1
        peerSeq.set(m.room_id, seq)
        return seq
      })
      await sql`
        INSERT INTO bench_peer_messages (room_id, seq, client_id, author_id, body)
        SELECT * FROM unnest(${uuids(batch.map((m) => m.room_id))}, ${sql`${seqs}::bigint[]`},
          ${uuids(batch.map(() => randomUUID()))}, ${uuids(batch.map((m) => m.user_id))},
          ${sql`${batch.map(() => BODY)}::text[]`})`.execute(db)
      return
    }
    if (isLadderStep(variant)) return ladder(variant, batch)
    if (variant === 'ferry_append_ops') {
      const nulls = batch.map(() => null)
      const { rows } = await sql<{ outcome: string }>`
        SELECT outcome FROM ferry_append_ops(
          ${uuids(batch.map((m) => m.room_id))}, ${uuids(batch.map((m) => m.user_id))},
          ${uuids(batch.map(() => randomUUID()))}, ${sql`${batch.map(() => BODY)}::text[]`},
          ${uuids(nulls)}, ${sql`${nulls}::text[]`}, ${sql`${nulls}::bigint[]`}, ${uuids(nulls)},
          ${sql`${nulls}::text[]`}, ${sql`${nulls}::text[]`}, 50)`.execute(db)
      if (rows.some((r) => r.outcome !== 'created')) throw new Error('a bench write was not created')
      return
    }
    const fn = isLever(variant) ? LEVER_FUNCTIONS[variant] : 'ferry_append_batch'
    const { rows } = await sql<{ outcome: string }>`
      SELECT outcome FROM ${sql.raw(fn)}(
        ${uuids(batch.map((m) => m.room_id))}, ${uuids(batch.map((m) => m.user_id))},
        ${uuids(batch.map(() => randomUUID()))}, ${sql`${batch.map(() => BODY)}::text[]`},
        ${uuids(batch.map(() => null))})`.execute(db)
    if (rows.some((r) => r.outcome !== 'created')) throw new Error('a bench write was not created')
  }

  const runCase = async (variant: PgAppendRow['variant'], size: number): Promise<PgAppendRow> => {
    const calls = Math.max(1, Math.round(options.writesPerCase / size))
    const pick = () => Array.from({ length: size }, () => members[Math.floor(Math.random() * members.length)]!)
    for (let i = 0; i < 20; i++) await call(variant, pick()) // warm the plan cache and the pages
    const cpu0 = cpuSeconds()
    const t0 = performance.now()
    for (let i = 0; i < calls; i++) await call(variant, pick())
    const wallMs = performance.now() - t0
    const cpu = cpuSeconds() - cpu0
    return {
      engine,
      variant,
      batch: size,
      writes: calls * size,
      cpuUsPerWrite: round((cpu * 1e6) / (calls * size), 1),
      msPerCall: round(wallMs / calls, 3),
    }
  }

  const setUp = async (variant: Variant) => {
    if (variant === 'ferry, generic plans')
      await sql.raw(`ALTER FUNCTION ${SIGNATURE} SET plan_cache_mode = force_generic_plan`).execute(db)
    if (variant === 'ferry, with foreign keys')
      for (const [column, table] of ROOM_EVENT_FOREIGN_KEYS)
        await sql
          .raw(
            `ALTER TABLE room_events ADD CONSTRAINT room_events_${column}_fkey FOREIGN KEY (${column}) REFERENCES ${table} (id) NOT VALID`,
          )
          .execute(db)
  }
  const tearDown = async (variant: Variant) => {
    if (variant === 'ferry, generic plans')
      await sql.raw(`ALTER FUNCTION ${SIGNATURE} RESET plan_cache_mode`).execute(db)
    if (variant === 'ferry, with foreign keys')
      for (const [column] of ROOM_EVENT_FOREIGN_KEYS)
        await sql.raw(`ALTER TABLE room_events DROP CONSTRAINT room_events_${column}_fkey`).execute(db)
  }

  const rows: PgAppendRow[] = []
  if (options.slice && engine === 'postgres' && databaseName) {
    const sliced = variants.filter((v) => v !== 'ferry, generic plans' && v !== 'ferry, with foreign keys')
    for (let pass = 0; pass < (options.rounds ?? 1); pass++)
      for (const size of BATCHES) {
        const pick = () => Array.from({ length: size }, () => members[Math.floor(Math.random() * members.length)]!)
        for (const variant of sliced) for (let i = 0; i < 20; i++) await call(variant, pick())
        const callsPerSlice = Math.max(1, Math.round(options.slice / size))
        const slices = Math.max(1, Math.round(options.writesPerCase / size / callsPerSlice))
        const ns = new Map(sliced.map((v) => [v, 0]))
        const ms = new Map(sliced.map((v) => [v, 0]))
        const pids = backendPids(databaseName)
        for (let k = 0; k < slices; k++)
          for (const variant of [...sliced].sort(() => Math.random() - 0.5)) {
            const cpu0 = cpuNanoseconds(pids)
            const t0 = performance.now()
            for (let i = 0; i < callsPerSlice; i++) await call(variant, pick())
            ms.set(variant, ms.get(variant)! + performance.now() - t0)
            ns.set(variant, ns.get(variant)! + cpuNanoseconds(pids) - cpu0)
          }
        for (const variant of sliced) {
          const writes = slices * callsPerSlice * size
          const row: PgAppendRow = {
            engine,
            variant,
            batch: size,
            writes,
            cpuUsPerWrite: round(ns.get(variant)! / 1e3 / writes, 1),
            msPerCall: round(ms.get(variant)! / (slices * callsPerSlice), 3),
          }
          rows.push(row)
          options.log(
            `pg-append ${engine} ${variant} batch ${size} (sliced): ${row.cpuUsPerWrite} µs CPU/write, ${row.msPerCall} ms/call`,
          )
        }
      }
  } else
    for (let round = 0; round < (options.rounds ?? 1); round++)
      for (const size of BATCHES) {
        // Interleaved per batch size, in a new random order each time, so a slow
        // patch of the machine hits every variant alike.
        for (const variant of [...variants].sort(() => Math.random() - 0.5)) {
          await setUp(variant)
          try {
            const row = await runCase(variant, size)
            rows.push(row)
            options.log(
              `pg-append ${engine} ${variant} batch ${size}: ${row.cpuUsPerWrite} µs CPU/write, ${row.msPerCall} ms/call`,
            )
          } finally {
            await tearDown(variant)
          }
        }
      }
  if (engine === 'postgres') options.log(`pg-append: updates of rooms, HOT / all: ${await hotUpdates(database)}`)
  return rows
}

/** The bench database's backends (the pool's connections stay open for the run). */
function backendPids(database: string): number[] {
  return fs
    .readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((entry) => {
      try {
        const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8')
        return cmdline.startsWith('postgres: ') && cmdline.includes(` ${database} `)
      } catch {
        return false
      }
    })
    .map(Number)
}

/** Time on CPU of these processes, ns (/proc/<pid>/schedstat: exact, where /proc/<pid>/stat counts 10 ms ticks). */
function cpuNanoseconds(pids: readonly number[]): number {
  let total = 0
  for (const pid of pids) {
    try {
      total += Number(fs.readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0])
    } catch {
      // gone: its time is lost to this slice, as with /proc/<pid>/stat
    }
  }
  return total
}

/** Whether the per-batch `last_seq` UPDATE stayed a heap-only tuple update (no index entries written). */
async function hotUpdates(database: Database): Promise<string> {
  await new Promise((resolve) => setTimeout(resolve, 1500)) // backends report their table statistics within ~1 s
  const { rows } = await sql<{ hot: string; all: string }>`
    SELECT n_tup_hot_upd AS hot, n_tup_upd AS all FROM pg_stat_user_tables WHERE relname = 'rooms'`.execute(database.db)
  return rows[0] ? `${rows[0].hot} / ${rows[0].all}` : 'unknown'
}

export async function runPgAppend(options: PgAppendOptions): Promise<{ rows: PgAppendRow[]; skipped?: string }> {
  const rows: PgAppendRow[] = []
  const problem = await postgresProblem()
  if (!problem) {
    const tmp = await createTempDatabase()
    const database = await createDatabase({ databaseUrl: tmp.url })
    try {
      rows.push(...(await measureEngine('postgres', database, tmp.name, options)))
    } finally {
      await database.close()
      await tmp.drop()
    }
  } else options.log(`pg-append: PostgreSQL skipped: ${problem}`)
  if (options.pglite === false) return problem ? { rows, skipped: problem } : { rows }
  const embedded = await createDatabase({ dataDir: 'memory://' })
  try {
    rows.push(
      ...(await measureEngine('pglite', embedded, undefined, { ...options, writesPerCase: options.writesPerCase / 3 })),
    )
  } finally {
    await embedded.close()
  }
  return problem ? { rows, skipped: problem } : { rows }
}

/** Per engine and variant, the median (min–max) µs per write of each batch size over the rounds. */
export function pgAppendMedians(
  rows: readonly PgAppendRow[],
): Array<{ engine: string; variant: string; byBatch: Record<number, string> }> {
  const groups = new Map<string, PgAppendRow[]>()
  for (const row of rows) {
    const key = `${row.engine}\u0000${row.variant}`
    groups.set(key, [...(groups.get(key) ?? []), row])
  }
  const order: string[] = ['peer INSERT', ...LADDER, 'ferry', ...LEVERS, ...DEFAULT_VARIANTS]
  const rank = (variant: string) => order.indexOf(variant)
  return [...groups.values()]
    .sort((a, b) => rank(a[0]!.variant) - rank(b[0]!.variant))
    .map((group) => {
      const byBatch: Record<number, string> = {}
      for (const batch of new Set(group.map((r) => r.batch))) {
        const values = group
          .filter((r) => r.batch === batch)
          .map((r) => r.cpuUsPerWrite)
          .sort((a, b) => a - b)
        const median = values[Math.floor((values.length - 1) / 2)]!
        byBatch[batch] =
          values.length > 1
            ? `${Math.round(median)} (${Math.round(values[0]!)}–${Math.round(values.at(-1)!)})`
            : `${Math.round(median)}`
      }
      return { engine: group[0]!.engine, variant: group[0]!.variant, byBatch }
    })
}
