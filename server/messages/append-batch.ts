import { type Kysely, sql } from 'kysely'
import type { ErrorCode } from '../../shared/errors.ts'
import { LIMITS } from '../../shared/limits.ts'
import type { RoomEvent } from '../../shared/schemas.ts'
import type { DB } from '../db/schema.ts'
import type { AppendProfile } from './append-profile.ts'
import { toRoomEvent } from './events.ts'

/** The kinds a person writes through the outbox (docs/PROTOCOL.md, "Conversation events"). */
export type WrittenKind =
  | 'message.created'
  | 'message.edited'
  | 'message.deleted'
  | 'reaction.added'
  | 'reaction.removed'

export interface AppendRequest {
  roomId: string
  authorId: string
  authorName: string
  clientId: string
  /** Already trimmed and length-checked; null for a delete or a reaction. */
  body: string | null
  /**
   * The sender's previous item in this room (lower-case), message or
   * operation, when the client still waits for it: this write is stored only
   * once that one is.
   */
  afterClientId?: string
  /** Absent: `message.created`. */
  kind?: WrittenKind
  /**
   * The message acted on (an operation) or replied to (a message): its seq,
   * or the client id of one of the author's own messages. At most one.
   */
  targetSeq?: number
  targetClientId?: string
  /** The emoji of a reaction. */
  reaction?: string
  /** Lower-case usernames `@`-mentioned in the body, each once (shared/conversation/mentions.ts). */
  mentionNames?: readonly string[]
}

/**
 * A send with nothing but a body: what `ferry_append_batch` (the hot path)
 * stores. Anything else needs `ferry_append_ops`.
 */
const isPlainSend = (r: AppendRequest) =>
  (r.kind === undefined || r.kind === 'message.created') &&
  r.targetSeq === undefined &&
  r.targetClientId === undefined &&
  (r.mentionNames === undefined || r.mentionNames.length === 0)

export type AppendResult =
  | { ok: true; event: RoomEvent; duplicate: boolean }
  | { ok: false; code: ErrorCode; message: string; retryAfterMs?: number }

const uuids = (values: ReadonlyArray<string | null>) => sql`${values}::uuid[]`
const outOfOrder = (afterClientId: string): AppendResult => ({
  ok: false,
  code: 'out_of_order',
  message: `An earlier message (clientId ${afterClientId}) is not stored yet; send it first`,
})

/** One row of `ferry_append_batch` / `ferry_append_ops`: the decision about write `idx` and, unless refused, its event. */
export interface AppendRow {
  idx: number
  outcome:
    | 'created'
    | 'duplicate'
    | 'not_found'
    | 'not_member'
    | 'out_of_order'
    | 'target_not_found'
    | 'target_deleted'
    | 'forbidden'
  seq: string | null
  kind: string | null
  client_id: string | null
  body: string | null
  target_seq: string | null
  reaction: string | null
  created_at: Date | null
  /** Only from `ferry_append_ops`. */
  reply_to?: string | null
  mentions?: string[] | null
}

/**
 * Appends one batch of writes in a single statement, `ferry_append_batch`
 * (migrations/2026-12-03T08-30-00_append-function.ts) when every write is a
 * plain send, else `ferry_append_ops`
 * (migrations/2026-12-07T12-00-00_conversation-operations.ts), which stores
 * plain sends the same way and also operations, replies and mentions, with
 * their target checks after step 3 below: one round trip, its own
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
    requests.every(isPlainSend)
      ? sql<AppendRow>`
    SELECT * FROM ferry_append_batch(
      ${uuids(requests.map((r) => r.roomId))}, ${uuids(requests.map((r) => r.authorId))},
      ${uuids(requests.map((r) => r.clientId))}, ${sql`${requests.map((r) => r.body)}::text[]`},
      ${uuids(requests.map((r) => r.afterClientId ?? null))})`.execute(db)
      : sql<AppendRow>`
    SELECT * FROM ferry_append_ops(
      ${uuids(requests.map((r) => r.roomId))}, ${uuids(requests.map((r) => r.authorId))},
      ${uuids(requests.map((r) => r.clientId))}, ${sql`${requests.map((r) => r.body)}::text[]`},
      ${uuids(requests.map((r) => r.afterClientId ?? null))},
      ${sql`${requests.map((r) => (isPlainSend(r) ? null : (r.kind ?? 'message.created')))}::text[]`},
      ${sql`${requests.map((r) => r.targetSeq ?? null)}::bigint[]`},
      ${uuids(requests.map((r) => r.targetClientId ?? null))},
      ${sql`${requests.map((r) => r.reaction ?? null)}::text[]`},
      ${sql`${requests.map((r) => (r.mentionNames?.length ? r.mentionNames.join(' ') : null))}::text[]`},
      ${LIMITS.mentionsMax})`.execute(db)
  const { rows } = profile ? await profile.time('sql.append', call) : await call()
  if (requests.every(isPlainSend)) await withIssue9Fields(db, requests, rows)
  return decide(requests, rows)
}

/**
 * `ferry_append_batch` returns no `reply_to`/`mentions` (a plain send has
 * none), but a resend answers the entry stored first, which may be a reply or
 * mention someone whatever the resend's body says: for a duplicate, they are
 * read from its row (after the commit; a reply never changes, mentions only go
 * with a deletion, which the answer then shows as it shows the scrubbed body).
 * Duplicates are rare, so the hot path keeps its one statement.
 */
async function withIssue9Fields(db: Kysely<DB>, requests: readonly AppendRequest[], rows: AppendRow[]): Promise<void> {
  const duplicates = rows.filter((row) => row.outcome === 'duplicate' && row.seq !== null)
  if (duplicates.length === 0) return
  const stored = await db
    .selectFrom('room_events')
    .select(['room_id', 'seq', 'reply_to', 'mentions'])
    .where((eb) =>
      eb.or(
        duplicates.map((row) =>
          eb.and([eb('room_id', '=', requests[Number(row.idx)]!.roomId), eb('seq', '=', row.seq!)]),
        ),
      ),
    )
    .execute()
  for (const row of duplicates) {
    const roomId = requests[Number(row.idx)]!.roomId
    const found = stored.find((s) => s.room_id === roomId && String(s.seq) === String(row.seq))
    row.reply_to = found?.reply_to ?? null
    row.mentions = found?.mentions ?? []
  }
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
      case 'target_not_found':
        return {
          ok: false,
          code: 'target_not_found',
          message:
            request.kind && request.kind !== 'message.created'
              ? 'No message of this room with that seq (or that client id of yours)'
              : 'The message replied to is not a message of this room',
        }
      case 'target_deleted':
        return { ok: false, code: 'target_deleted', message: 'The message is deleted' }
      case 'forbidden':
        return {
          ok: false,
          code: 'forbidden',
          message:
            request.kind === 'message.edited'
              ? 'Only its author can edit a message'
              : "Only its author, the room's owner or an admin can delete a message",
        }
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
          subject_id: null,
          topic: null,
          created_at: row.created_at!,
          reply_to: row.reply_to ?? null,
          mentions: row.mentions ?? [],
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
