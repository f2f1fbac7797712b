import { type Kysely, type RawBuilder, sql } from 'kysely'
import type { DB } from '../db/schema.ts'
import type { SearchCursor } from './search.query.ts'

export interface SearchRow {
  room_id: string
  room_name: string
  seq: string
  author_id: string | null
  author_name: string | null
  created_at: Date
  /** created_at in microseconds since 1970: the cursor's key (a Date has only ms). */
  created_key: string
  /** The message's current text: its own body, or its latest edit's. */
  body: string
  edited: boolean
  /** relevance only: the score, and the time its recency was measured from. */
  score: number | null
  ref: string | null
}

export interface SearchParams {
  userId: string
  /** One room (already checked readable), or every room the user is a member of. */
  roomId: string | undefined
  tsquery: string
  sort: 'recent' | 'relevance'
  cursor: SearchCursor | undefined
  /** Rows to fetch (the page plus one, to tell whether there is more). */
  limit: number
}

const fromMicros = (micros: number) => sql`('epoch'::timestamptz + ${micros}::bigint * interval '1 microsecond')`
const toMicros = (t: RawBuilder<unknown>) => sql`(extract(epoch FROM ${t}) * 1000000)::bigint`

/**
 * Matching messages, by their current text (migrations/2026-12-08T01-00-00_message-search.ts):
 * a message row that is neither edited nor deleted, or the row of a message's
 * latest edit (the message's edited_seq) while the message is not deleted.
 * One scan of the GIN index on search_tsv finds both kinds of row; only an
 * edit's row looks its message up (a LATERAL whose condition on the edit's
 * kind is a one-time filter, so message rows cost no lookup); only the page
 * is joined to rooms and users.
 *
 * recent:    created_at desc, then room id desc, then seq desc (a total order).
 * relevance: ts_rank_cd (cover density, normalised by length: 32 → rank/(rank+1))
 *            times a recency boost 1 + 1/(1 + age in weeks), age measured from the
 *            first page's time `ref` (kept in the cursor, so pages agree); messages
 *            newer than `ref` wait for a new search.
 */
export async function searchMessages(db: Kysely<DB>, p: SearchParams): Promise<SearchRow[]> {
  const { rows } = await searchSql(p).execute(db)
  return rows
}

/** The statement of searchMessages (bench/search.ts explains it). */
export function searchSql(p: SearchParams): RawBuilder<SearchRow> {
  const rooms = p.roomId
    ? sql`e.room_id = ${p.roomId}::uuid`
    : sql`e.room_id IN (SELECT rm.room_id FROM room_members rm WHERE rm.user_id = ${p.userId}::uuid)`
  const ref = p.cursor?.[0] === 1 ? fromMicros(p.cursor[5]) : sql`now()`
  const relevance = p.sort === 'relevance'
  // Inline, not from a CTE: a constant to the planner, which then estimates the matches from the column's statistics.
  const tsq = sql`to_tsquery('ferry_search', ${p.tsquery})`
  const score = (tsv: RawBuilder<unknown>, created: RawBuilder<unknown>) =>
    relevance
      ? sql`ts_rank_cd(${tsv}, ${tsq}, 32)::float8 * (1 + 1 / (1 + greatest(extract(epoch FROM x.ref - ${created}), 0) / 604800.0))::float8`
      : sql`NULL::float8`
  const notNewer = (created: RawBuilder<unknown>) => (relevance ? sql`AND ${created} <= x.ref` : sql``)
  const c = p.cursor
  const after = !c
    ? sql`TRUE`
    : c[0] === 0
      ? sql`(h.created_at, h.room_id, h.seq) < (${fromMicros(c[1])}, ${c[2]}::uuid, ${c[3]}::bigint)`
      : sql`(h.score, h.created_at, h.room_id, h.seq) < (${c[4]}::float8, ${fromMicros(c[1])}, ${c[2]}::uuid, ${c[3]}::bigint)`
  const order = relevance
    ? sql`h.score DESC, h.created_at DESC, h.room_id DESC, h.seq DESC`
    : sql`h.created_at DESC, h.room_id DESC, h.seq DESC`
  return sql<SearchRow>`
    WITH x AS MATERIALIZED (SELECT ${ref} AS ref),
    hits AS (
      SELECT e.room_id, coalesce(m.seq, e.seq) AS seq, e.author_id, coalesce(m.created_at, e.created_at) AS created_at,
        e.body, m.seq IS NOT NULL AS edited,
        ${score(sql`e.search_tsv`, sql`coalesce(m.created_at, e.created_at)`)} AS score
      FROM room_events e CROSS JOIN x
      LEFT JOIN LATERAL (
        SELECT m.seq, m.created_at FROM room_events m
        WHERE e.kind = 'message.edited' AND m.room_id = e.room_id AND m.seq = e.target_seq
          AND m.edited_seq = e.seq AND m.deleted_seq IS NULL
        -- LIMIT keeps it a per-row lookup: flattened, the planner hash-joins a scan of every row.
        LIMIT 1
      ) m ON true
      WHERE e.search_tsv @@ ${tsq} AND ${rooms}
        AND CASE WHEN e.kind = 'message.created' THEN e.edited_seq IS NULL AND e.deleted_seq IS NULL
          ELSE m.seq IS NOT NULL END
        ${notNewer(sql`coalesce(m.created_at, e.created_at)`)}
    ),
    page AS (
      SELECT h.* FROM hits h WHERE ${after} ORDER BY ${order} LIMIT ${p.limit}
    )
    SELECT h.room_id, r.name AS room_name, h.seq, h.author_id, u.username AS author_name, h.created_at,
      ${toMicros(sql`h.created_at`)} AS created_key,
      h.body, h.edited, h.score,
      CASE WHEN ${relevance} THEN ${toMicros(sql`(SELECT ref FROM x)`)} END AS ref
    FROM page h
    JOIN rooms r ON r.id = h.room_id
    LEFT JOIN users u ON u.id = h.author_id
    ORDER BY ${order}`
}
