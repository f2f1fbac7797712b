/**
 * The gap between Ferry's append and the persisted peer's INSERT, taken apart
 * (issue 14; `BENCH_PG_APPEND_SET=ladder npm run bench -- pg-append`).
 *
 * Each step is the previous one plus one of Ferry's extra costs, on its own
 * copy of room_events' row (`LIKE room_events`), so the steps do not share
 * indexes or table size:
 *   L1 the peer's statement (one multi-row INSERT, seqs from memory) into a
 *      table with room_events' columns and defaults and only its primary key;
 *   L2 + the dedupe key's unique index (room, author, clientId);
 *   L3 + `ON CONFLICT … DO NOTHING` on it (the dedupe lookup, speculative insertion);
 *   L4–L6 + each of room_events' partial indexes (target, subject, mentions);
 *   L7 + the statement inside a PL/pgSQL function, arrays unnested there,
 *      rows returned (`RETURN QUERY … RETURNING`);
 *   L8a, L8b: L7 plus the rooms' `FOR UPDATE` alone, then plus the `last_seq`
 *      UPDATE too, seqs still from memory (what of L8 each part is);
 *   L8 + the rooms rows locked `FOR UPDATE` in id order, seqs from
 *      `last_seq` by `row_number()`, one `last_seq` UPDATE per room;
 *   L9 + one INSERT per write in a PL/pgSQL loop, `RETURN NEXT` per write,
 *      the refusal probes for a write not stored: `ferry_append_batch`
 *      without its membership `EXISTS`.
 * The next step is `ferry` itself: L9 plus the membership `EXISTS` per write,
 * on room_events. (Membership is added last because in a set INSERT, as in
 * L8, the planner answers it with a hash join over all of room_members, which
 * is not what the function pays.) L7–L8 are cost probes, not append functions:
 * they answer no refusal. The steps use the real `rooms` table (its
 * `last_seq` only ever grows, so every table's seqs stay unique).
 */
import { randomUUID } from 'node:crypto'
import { type Kysely, sql } from 'kysely'

export const LADDER = [
  'L1 room_events row, primary key only',
  'L2 + dedupe unique index',
  'L3 + ON CONFLICT on it',
  'L4 + target_seq partial index',
  'L5 + subject partial index',
  'L6 + mentions partial index',
  'L7 + PL/pgSQL function, unnest, RETURNING',
  'L8a L7 + rooms FOR UPDATE only (seqs from memory)',
  'L8b L8a + last_seq UPDATE (seqs from memory)',
  'L8 + rooms FOR UPDATE, last_seq UPDATE',
  'L9 + one INSERT per write in a loop',
] as const
export type LadderStep = (typeof LADDER)[number]

const BODY = 'a message of about forty characters here'

interface Member {
  room_id: string
  user_id: string
}

const INDEXES = {
  dedupe: (t: string) => `CREATE UNIQUE INDEX ${t}_client_key ON ${t} (room_id, author_id, client_id)`,
  target: (t: string) => `CREATE INDEX ${t}_target_idx ON ${t} (room_id, target_seq) WHERE target_seq IS NOT NULL`,
  subject: (t: string) => `CREATE INDEX ${t}_subject_idx ON ${t} (subject_id, room_id) WHERE subject_id IS NOT NULL`,
  mentions: (t: string) =>
    `CREATE INDEX ${t}_mentions_idx ON ${t} (room_id, seq) WHERE kind = 'message.created' AND mentions <> '{}'`,
}
type IndexName = keyof typeof INDEXES

const STEPS: Record<LadderStep, { indexes: IndexName[]; table: string }> = {
  'L1 room_events row, primary key only': { indexes: [], table: 'ladder1' },
  'L2 + dedupe unique index': { indexes: ['dedupe'], table: 'ladder2' },
  'L3 + ON CONFLICT on it': { indexes: ['dedupe'], table: 'ladder3' },
  'L4 + target_seq partial index': { indexes: ['dedupe', 'target'], table: 'ladder4' },
  'L5 + subject partial index': { indexes: ['dedupe', 'target', 'subject'], table: 'ladder5' },
  'L6 + mentions partial index': { indexes: ['dedupe', 'target', 'subject', 'mentions'], table: 'ladder6' },
  'L7 + PL/pgSQL function, unnest, RETURNING': {
    indexes: ['dedupe', 'target', 'subject', 'mentions'],
    table: 'ladder7',
  },
  'L8a L7 + rooms FOR UPDATE only (seqs from memory)': {
    indexes: ['dedupe', 'target', 'subject', 'mentions'],
    table: 'ladder8a',
  },
  'L8b L8a + last_seq UPDATE (seqs from memory)': {
    indexes: ['dedupe', 'target', 'subject', 'mentions'],
    table: 'ladder8b',
  },
  'L8 + rooms FOR UPDATE, last_seq UPDATE': { indexes: ['dedupe', 'target', 'subject', 'mentions'], table: 'ladder8' },
  'L9 + one INSERT per write in a loop': { indexes: ['dedupe', 'target', 'subject', 'mentions'], table: 'ladder9' },
}

const RETURNS = 'RETURNS TABLE (o_seq bigint, o_kind text, o_client uuid, o_body text, o_created timestamptz)'
const RETURNING = 'RETURNING e.seq, e.kind, e.client_id, e.body, e.created_at'

/** L8's function: rooms locked in id order, seqs from last_seq, one UPDATE per room. */
const lockingFunction = (table: string) => `
  CREATE FUNCTION ${table}_append(p_room uuid[], p_author uuid[], p_client uuid[], p_body text[]) ${RETURNS}
  LANGUAGE plpgsql AS $fn$
  DECLARE v_rooms uuid[]; v_last bigint[];
  BEGIN
    SELECT array_agg(r.id ORDER BY r.id), array_agg(r.last_seq ORDER BY r.id) INTO v_rooms, v_last
      FROM (SELECT id, last_seq FROM rooms WHERE id = ANY(p_room) ORDER BY id FOR UPDATE) AS r;
    RETURN QUERY INSERT INTO ${table} AS e (room_id, seq, kind, author_id, client_id, body)
      SELECT u.r, v_last[array_position(v_rooms, u.r)] + row_number() OVER (PARTITION BY u.r ORDER BY u.o),
             'message.created', u.a, u.c, u.b
        FROM unnest(p_room, p_author, p_client, p_body) WITH ORDINALITY AS u(r, a, c, b, o)
      ON CONFLICT (room_id, author_id, client_id) DO NOTHING
      ${RETURNING};
    UPDATE rooms SET last_seq = rooms.last_seq + k.n
      FROM (SELECT r, count(*) AS n FROM unnest(p_room) AS r GROUP BY r) AS k
      WHERE rooms.id = k.r;
  END
  $fn$`

/** Creates every step's table (seeded with a copy of room_events) and function. */
export async function setUpLadder(db: Kysely<any>): Promise<void> {
  for (const { table, indexes } of Object.values(STEPS)) {
    await sql.raw(`CREATE TABLE ${table} (LIKE room_events INCLUDING DEFAULTS)`).execute(db)
    await sql.raw(`INSERT INTO ${table} SELECT * FROM room_events`).execute(db)
    await sql.raw(`ALTER TABLE ${table} ADD PRIMARY KEY (room_id, seq)`).execute(db)
    for (const index of indexes) await sql.raw(INDEXES[index](table)).execute(db)
  }
  await sql
    .raw(`
    CREATE FUNCTION ladder7_append(p_room uuid[], p_author uuid[], p_client uuid[], p_body text[], p_seq bigint[]) ${RETURNS}
    LANGUAGE plpgsql AS $fn$
    BEGIN
      RETURN QUERY INSERT INTO ladder7 AS e (room_id, seq, kind, author_id, client_id, body)
        SELECT u.r, u.s, 'message.created', u.a, u.c, u.b FROM unnest(p_room, p_seq, p_author, p_client, p_body) AS u(r, s, a, c, b)
        ON CONFLICT (room_id, author_id, client_id) DO NOTHING
        ${RETURNING};
    END
    $fn$`)
    .execute(db)
  for (const [table, update] of [
    ['ladder8a', false],
    ['ladder8b', true],
  ] as const)
    await sql
      .raw(`
    CREATE FUNCTION ${table}_append(p_room uuid[], p_author uuid[], p_client uuid[], p_body text[], p_seq bigint[]) ${RETURNS}
    LANGUAGE plpgsql AS $fn$
    BEGIN
      PERFORM 1 FROM (SELECT id FROM rooms WHERE id = ANY(p_room) ORDER BY id FOR UPDATE) AS r;
      RETURN QUERY INSERT INTO ${table} AS e (room_id, seq, kind, author_id, client_id, body)
        SELECT u.r, u.s, 'message.created', u.a, u.c, u.b FROM unnest(p_room, p_seq, p_author, p_client, p_body) AS u(r, s, a, c, b)
        ON CONFLICT (room_id, author_id, client_id) DO NOTHING
        ${RETURNING};
      ${
        update
          ? `UPDATE rooms SET last_seq = rooms.last_seq + k.n
        FROM (SELECT r, count(*) AS n FROM unnest(p_room) AS r GROUP BY r) AS k WHERE rooms.id = k.r;`
          : ''
      }
    END
    $fn$`)
      .execute(db)
  await sql.raw(lockingFunction('ladder8')).execute(db)
  // L9: ferry_append_batch as it is, on ladder9, without the membership EXISTS.
  const { rows } = await sql<{ definition: string }>`
    SELECT pg_get_functiondef('ferry_append_batch(uuid[], uuid[], uuid[], text[], uuid[])'::regprocedure) AS definition`.execute(
    db,
  )
  const membership =
    'WHERE EXISTS (SELECT 1 FROM room_members m WHERE m.room_id = p_room[i] AND m.user_id = p_author[i])'
  const definition = rows[0]!.definition
  if (!definition.includes(membership) || !definition.includes('INSERT INTO room_events'))
    throw new Error('ferry_append_batch changed: the ladder cannot derive L9 from it')
  await sql
    .raw(
      definition
        .replace('FUNCTION public.ferry_append_batch(', 'FUNCTION ladder9_append(')
        .replace(membership, '')
        .replace('INSERT INTO room_events', 'INSERT INTO ladder9 AS room_events'),
    )
    .execute(db)
}

const uuids = (values: ReadonlyArray<string | null>) => sql`${values}::uuid[]`

/** A ladder step's statement for one batch (its own transaction); seqs from memory for L1–L7. */
export function ladderCaller(db: Kysely<any>) {
  const seqs = new Map<string, Map<string, number>>()
  const nextSeqs = async (table: string, batch: readonly Member[]) => {
    let known = seqs.get(table)
    if (!known) {
      const { rows } = await sql<{ room_id: string; seq: string }>`
        SELECT room_id, max(seq) AS seq FROM ${sql.table(table)} GROUP BY room_id`.execute(db)
      known = new Map(rows.map((r) => [r.room_id, Number(r.seq)]))
      seqs.set(table, known)
    }
    return batch.map((m) => {
      const seq = (known.get(m.room_id) ?? 0) + 1
      known.set(m.room_id, seq)
      return seq
    })
  }
  return async (step: LadderStep, batch: readonly Member[]): Promise<void> => {
    const { table } = STEPS[step]
    const rooms = uuids(batch.map((m) => m.room_id))
    const authors = uuids(batch.map((m) => m.user_id))
    const clients = uuids(batch.map(() => randomUUID()))
    const bodies = sql`${batch.map(() => BODY)}::text[]`
    if (step === 'L8 + rooms FOR UPDATE, last_seq UPDATE') {
      const { rows } = await sql`SELECT * FROM ladder8_append(${rooms}, ${authors}, ${clients}, ${bodies})`.execute(db)
      if (rows.length !== batch.length) throw new Error(`${step}: a bench write was not stored`)
      return
    }
    if (step === 'L9 + one INSERT per write in a loop') {
      const nulls = uuids(batch.map(() => null))
      const { rows } = await sql<{ outcome: string }>`
        SELECT outcome FROM ladder9_append(${rooms}, ${authors}, ${clients}, ${bodies}, ${nulls})`.execute(db)
      if (rows.some((r) => r.outcome !== 'created')) throw new Error(`${step}: a bench write was not stored`)
      return
    }
    const seq = sql`${await nextSeqs(table, batch)}::bigint[]`
    if (
      step === 'L8a L7 + rooms FOR UPDATE only (seqs from memory)' ||
      step === 'L8b L8a + last_seq UPDATE (seqs from memory)'
    ) {
      const fn = sql.raw(`${table}_append`)
      const { rows } = await sql`SELECT * FROM ${fn}(${rooms}, ${authors}, ${clients}, ${bodies}, ${seq})`.execute(db)
      if (rows.length !== batch.length) throw new Error(`${step}: a bench write was not stored`)
      return
    }
    if (step === 'L7 + PL/pgSQL function, unnest, RETURNING') {
      const { rows } =
        await sql`SELECT * FROM ladder7_append(${rooms}, ${authors}, ${clients}, ${bodies}, ${seq})`.execute(db)
      if (rows.length !== batch.length) throw new Error(`${step}: a bench write was not stored`)
      return
    }
    const plain = step === 'L1 room_events row, primary key only' || step === 'L2 + dedupe unique index'
    await sql`
      INSERT INTO ${sql.table(table)} (room_id, seq, kind, author_id, client_id, body)
      SELECT u.r, u.s, 'message.created', u.a, u.c, u.b
        FROM unnest(${rooms}, ${seq}, ${authors}, ${clients}, ${bodies}) AS u(r, s, a, c, b)
      ${plain ? sql`` : sql`ON CONFLICT (room_id, author_id, client_id) DO NOTHING`}`.execute(db)
  }
}
