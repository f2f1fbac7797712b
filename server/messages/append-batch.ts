import { type Kysely, sql } from 'kysely'
import type { ErrorCode } from '../../shared/errors.ts'
import type { RoomEvent } from '../../shared/schemas.ts'
import type { DB } from '../db/schema.ts'
import type { AppendProfile } from './append-profile.ts'
import { toRoomEvent } from './events.ts'

export interface AppendRequest {
  roomId: string
  authorId: string
  authorName: string
  clientId: string
  /** Already trimmed and length-checked. */
  body: string
  /**
   * The sender's previous message in this room (lower-case), when the client
   * still waits for it: this write is stored only once that one is.
   */
  afterClientId?: string
}

export type AppendResult =
  | { ok: true; event: RoomEvent; duplicate: boolean }
  | { ok: false; code: ErrorCode; message: string; retryAfterMs?: number }

const uuids = (values: ReadonlyArray<string | null>) => sql`${values}::uuid[]`
const outOfOrder = (afterClientId: string): AppendResult => ({
  ok: false,
  code: 'out_of_order',
  message: `An earlier message (clientId ${afterClientId}) is not stored yet; send it first`,
})

/** One row of `ferry_append_batch`: the decision about write `idx` and, unless refused, its event. */
export interface AppendRow {
  idx: number
  outcome: 'created' | 'duplicate' | 'not_found' | 'not_member' | 'out_of_order'
  seq: string | null
  kind: string | null
  client_id: string | null
  body: string | null
  target_seq: string | null
  reaction: string | null
  created_at: Date | null
}

/**
 * Appends one batch of writes in a single statement, `ferry_append_batch`
 * (migrations/2026-12-03T08-30-00_append-function.ts): one round trip, its own
 * transaction when `db` is not one already. In queue order, inside it:
 *   1. lock the batch's rooms (`FOR UPDATE`, in id order, so batches never deadlock);
 *   2. a write already stored (room, author, clientId), by an earlier batch on
 *      any node or earlier in this one, is answered with the original event —
 *      dedupe is a unique key, so it is permanent;
 *   3. then: no room → not_found; not a member → not_member; `afterClientId`
 *      not stored (before or earlier in the batch) → out_of_order, and so is
 *      every write chained after it;
 *   4. else stored at the room's next seq (gap-free: the row lock serialises
 *      writers, so seq order is commit order); each room's last_seq moves once.
 */
export async function appendBatch(
  db: Kysely<DB>,
  requests: readonly AppendRequest[],
  profile?: AppendProfile,
): Promise<{ results: AppendResult[]; created: RoomEvent[] }> {
  const call = () =>
    sql<AppendRow>`
    SELECT * FROM ferry_append_batch(
      ${uuids(requests.map((r) => r.roomId))}, ${uuids(requests.map((r) => r.authorId))},
      ${uuids(requests.map((r) => r.clientId))}, ${sql`${requests.map((r) => r.body)}::text[]`},
      ${uuids(requests.map((r) => r.afterClientId ?? null))})`.execute(db)
  const { rows } = profile ? await profile.time('sql.append', call) : await call()
  return decide(requests, rows)
}

/**
 * Each write's answer from its row, found by `idx` (never by position), and
 * the events created, in queue order. A write without its row fails the batch
 * rather than answer a sender with another write's outcome.
 */
export function decide(
  requests: readonly AppendRequest[],
  rows: readonly AppendRow[],
): { results: AppendResult[]; created: RoomEvent[] } {
  const byIdx = new Map(rows.map((row) => [Number(row.idx), row]))
  const created: RoomEvent[] = []
  const results = requests.map((request, i): AppendResult => {
    const row = byIdx.get(i)
    if (!row) throw new Error(`The append of write ${i} (room ${request.roomId}) returned no row`)
    switch (row.outcome) {
      case 'not_found':
        return { ok: false, code: 'not_found', message: 'No such room' }
      case 'not_member':
        return { ok: false, code: 'not_member', message: 'Join the room before writing to it' }
      case 'out_of_order':
        return outOfOrder(request.afterClientId ?? '')
      case 'created':
      case 'duplicate': {
        const event = toRoomEvent({
          room_id: request.roomId,
          seq: row.seq!,
          kind: row.kind!,
          author_id: request.authorId,
          author_name: request.authorName,
          client_id: row.client_id,
          body: row.body,
          target_seq: row.target_seq,
          reaction: row.reaction,
          created_at: row.created_at!,
        })
        if (row.outcome === 'created') created.push(event)
        return { ok: true, event, duplicate: row.outcome === 'duplicate' }
      }
      default:
        throw new Error(`The append of write ${i} answered an unknown outcome`)
    }
  })
  return { results, created }
}
