import { sql, type Transaction } from 'kysely'
import type { ErrorCode } from '../../shared/errors.ts'
import type { RoomEvent } from '../../shared/schemas.ts'
import type { DB } from '../db/schema.ts'
import type { AppendProfile } from './append-profile.ts'
import { type EventRowWithAuthor, toRoomEvent } from './events.ts'

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

const key = (roomId: string, authorId: string, clientId: string) => `${roomId}|${authorId}|${clientId}`
const uuids = (values: string[]) => sql`${values}::uuid[]`
const outOfOrder = (afterClientId: string): AppendResult => ({
  ok: false,
  code: 'out_of_order',
  message: `An earlier message (clientId ${afterClientId}) is not stored yet; send it first`,
})

/**
 * Appends one batch of writes in the caller's transaction, in a fixed number
 * of statements whatever the batch holds (arrays through `unnest`, not one
 * statement per room or an OR per write):
 *   1. lock the batch's rooms (`FOR UPDATE`, in id order, so batches never deadlock);
 *   2. find writes already stored (room, author, clientId): they are answered
 *      with the original event — dedupe is a unique key, so it is permanent;
 *      the same lookup finds the stored predecessors (`afterClientId`);
 *   3. check membership for the new writes;
 *   4. one `UPDATE rooms … FROM unnest(…) RETURNING` hands each room the next
 *      n seqs, given out in queue order (gap-free: the row lock serialises
 *      writers, so seq order is commit order);
 *   5. one INSERT for all new events.
 */
export async function appendBatch(
  trx: Transaction<DB>,
  requests: readonly AppendRequest[],
  profile?: AppendProfile,
): Promise<{ results: AppendResult[]; created: RoomEvent[] }> {
  const timed = <T>(stage: string, work: () => Promise<T>) => (profile ? profile.time(stage, work) : work())
  const roomIds = [...new Set(requests.map((r) => r.roomId))].sort()

  // 1. Lock the rooms; a room that does not exist is reported per write.
  const locked = await timed('sql.lock', () =>
    trx
      .selectFrom('rooms')
      .select('id')
      .where(sql<boolean>`id = ANY(${uuids(roomIds)})`)
      .orderBy('id')
      .forUpdate()
      .execute(),
  )
  const existingRooms = new Set(locked.map((r) => r.id))

  // 2. Writes stored before (by any earlier batch, on any node) are duplicates;
  //    predecessors named by afterClientId are looked up with them.
  const lookups = requests.flatMap((r) => [
    r,
    ...(r.afterClientId ? [{ roomId: r.roomId, authorId: r.authorId, clientId: r.afterClientId }] : []),
  ])
  const stored = (
    await timed('sql.dedupe', () =>
      sql<EventRowWithAuthor>`
      SELECT e.*, u.username AS author_name
      FROM room_events e
      JOIN unnest(${uuids(lookups.map((r) => r.roomId))}, ${uuids(lookups.map((r) => r.authorId))},
                  ${uuids(lookups.map((r) => r.clientId))}) AS k(room_id, author_id, client_id)
        ON e.room_id = k.room_id AND e.author_id = k.author_id AND e.client_id = k.client_id
      LEFT JOIN users u ON u.id = e.author_id`.execute(trx),
    )
  ).rows
  const original = new Map<string, RoomEvent>()
  for (const row of stored) original.set(key(row.room_id, row.author_id!, row.client_id!), toRoomEvent(row))

  // 3. Membership of the authors of new writes.
  const fresh = requests.filter(
    (r) => existingRooms.has(r.roomId) && !original.has(key(r.roomId, r.authorId, r.clientId)),
  )
  const members = new Set<string>()
  if (fresh.length > 0) {
    const { rows } = await timed('sql.members', () =>
      sql<{ room_id: string; user_id: string }>`
      SELECT m.room_id, m.user_id
      FROM room_members m
      JOIN unnest(${uuids(fresh.map((r) => r.roomId))}, ${uuids(fresh.map((r) => r.authorId))}) AS k(room_id, user_id)
        ON m.room_id = k.room_id AND m.user_id = k.user_id`.execute(trx),
    )
    for (const row of rows) members.add(`${row.room_id}|${row.user_id}`)
  }

  // Decide each write in queue order; the same clientId twice in one batch is one write.
  // A new write whose predecessor is neither stored nor stored earlier in this
  // batch is refused (and so is every write chained after it).
  type Decision = AppendResult | { newIndex: number; duplicate: boolean }
  const decisions: Decision[] = []
  const toInsert: AppendRequest[] = []
  const inBatch = new Map<string, number>()
  for (const r of requests) {
    const k = key(r.roomId, r.authorId, r.clientId)
    const isStoredOrQueued = (clientId: string) => {
      const before = key(r.roomId, r.authorId, clientId)
      return original.has(before) || inBatch.has(before)
    }
    const stored = original.get(k)
    if (stored) decisions.push({ ok: true, event: stored, duplicate: true })
    else if (!existingRooms.has(r.roomId)) decisions.push({ ok: false, code: 'not_found', message: 'No such room' })
    else if (!members.has(`${r.roomId}|${r.authorId}`)) {
      decisions.push({ ok: false, code: 'not_member', message: 'Join the room before writing to it' })
    } else if (inBatch.has(k)) decisions.push({ newIndex: inBatch.get(k)!, duplicate: true })
    else if (r.afterClientId && !isStoredOrQueued(r.afterClientId)) decisions.push(outOfOrder(r.afterClientId))
    else {
      inBatch.set(k, toInsert.length)
      decisions.push({ newIndex: toInsert.length, duplicate: false })
      toInsert.push(r)
    }
  }
  if (toInsert.length === 0) return { results: decisions as AppendResult[], created: [] }

  // 4. Hand out seqs: one statement for every room of the batch.
  const countByRoom = new Map<string, number>()
  for (const r of toInsert) countByRoom.set(r.roomId, (countByRoom.get(r.roomId) ?? 0) + 1)
  const bumped = await timed('sql.bump', () =>
    sql<{ id: string; last_seq: string }>`
    UPDATE rooms SET last_seq = rooms.last_seq + k.n
    FROM unnest(${uuids([...countByRoom.keys()])}, ${sql`${[...countByRoom.values()]}::int[]`}) AS k(id, n)
    WHERE rooms.id = k.id
    RETURNING rooms.id, rooms.last_seq`.execute(trx),
  )
  const nextSeq = new Map<string, number>()
  for (const row of bumped.rows) nextSeq.set(row.id, Number(row.last_seq) - countByRoom.get(row.id)! + 1)

  // 5. One INSERT for the batch.
  const rows = toInsert.map((r) => {
    const seq = nextSeq.get(r.roomId)!
    nextSeq.set(r.roomId, seq + 1)
    return {
      room_id: r.roomId,
      seq,
      kind: 'message.created',
      author_id: r.authorId,
      client_id: r.clientId,
      body: r.body,
    }
  })
  const returned = await timed('sql.insert', () => trx.insertInto('room_events').values(rows).returningAll().execute())
  const inserted = inPlannedOrder(rows, returned)
  const created = inserted.map((row, i) => toRoomEvent({ ...row, author_name: toInsert[i]!.authorName }))

  const results = decisions.map((d) =>
    'newIndex' in d ? { ok: true as const, event: created[d.newIndex]!, duplicate: d.duplicate } : d,
  )
  return { results, created }
}

/**
 * The returned rows in the order of the rows planned for the INSERT. `INSERT …
 * RETURNING` does not promise row order, so each row is found by its key
 * (room, seq), never by its index.
 */
export function inPlannedOrder<Row extends { room_id: string; seq: string }>(
  planned: ReadonlyArray<{ room_id: string; seq: number }>,
  returned: readonly Row[],
): Row[] {
  const byKey = new Map(returned.map((row) => [`${row.room_id}|${Number(row.seq)}`, row]))
  return planned.map(({ room_id, seq }) => {
    const row = byKey.get(`${room_id}|${seq}`)
    if (!row) throw new Error(`The insert of room ${room_id} seq ${seq} was not returned`)
    return row
  })
}
