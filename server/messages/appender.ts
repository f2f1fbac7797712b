import { type Kysely, sql, type Transaction } from 'kysely'
import type { ErrorCode } from '../../shared/errors.ts'
import type { RoomEvent } from '../../shared/schemas.ts'
import type { DB } from '../db/schema.ts'
import type { Bus } from '../realtime/bus.ts'
import { toRoomEvent } from './events.ts'

export interface AppendRequest {
  roomId: string
  authorId: string
  authorName: string
  clientId: string
  /** Already trimmed and length-checked. */
  body: string
}

export type AppendResult =
  | { ok: true; event: RoomEvent; duplicate: boolean }
  | { ok: false; code: ErrorCode; message: string }

interface Pending {
  request: AppendRequest
  resolve(result: AppendResult): void
  reject(error: unknown): void
}

export interface AppenderOptions {
  /** Most writes committed in one transaction. */
  maxBatch?: number
  /** Transactions under way at once (PGlite runs them one after another anyway). */
  maxInFlight?: number
}

/**
 * The one append path for room messages (HTTP and WebSocket alike).
 *
 * Group commit: writes queue up while a transaction is under way and the next
 * transaction takes them all, so the per-commit cost is paid per batch, not
 * per message (DESIGN.md §3). Inside each batch:
 *   1. lock the batch's rooms (`FOR UPDATE`, in id order, so batches never deadlock);
 *   2. find writes already stored (room, author, clientId): they are answered
 *      with the original event — dedupe is a unique key, so it is permanent;
 *   3. check membership for the new writes;
 *   4. per room, one `UPDATE rooms SET last_seq = last_seq + n RETURNING last_seq`
 *      hands out the next n seqs in queue order (gap-free: the row lock
 *      serialises writers, so seq order is commit order);
 *   5. one INSERT for all new events; commit; only then answer and publish.
 * Two batches in flight never share a room, so a sender's pipelined messages
 * keep the order in which they were queued.
 */
export class Appender {
  readonly #db: Kysely<DB>
  readonly #bus: Bus
  readonly #maxBatch: number
  readonly #maxInFlight: number
  #queue: Pending[] = []
  readonly #busyRooms = new Set<string>()
  #inFlight = 0
  #idle: Array<() => void> = []

  constructor(db: Kysely<DB>, bus: Bus, options: AppenderOptions = {}) {
    this.#db = db
    this.#bus = bus
    this.#maxBatch = options.maxBatch ?? 256
    this.#maxInFlight = options.maxInFlight ?? 2
  }

  append(request: AppendRequest): Promise<AppendResult> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ request, resolve, reject })
      this.#pump()
    })
  }

  /** Resolves once every queued write has been committed or failed. */
  drain(): Promise<void> {
    if (this.#inFlight === 0 && this.#queue.length === 0) return Promise.resolve()
    return new Promise((resolve) => this.#idle.push(resolve))
  }

  #pump(): void {
    while (this.#inFlight < this.#maxInFlight && this.#queue.length > 0) {
      const batch = this.#takeBatch()
      if (batch.length === 0) return
      this.#inFlight++
      const rooms = new Set(batch.map((p) => p.request.roomId))
      for (const room of rooms) this.#busyRooms.add(room)
      this.#commit(batch).finally(() => {
        for (const room of rooms) this.#busyRooms.delete(room)
        this.#inFlight--
        this.#pump()
        if (this.#inFlight === 0 && this.#queue.length === 0) {
          for (const resolve of this.#idle.splice(0)) resolve()
        }
      })
    }
  }

  /** Takes queued writes whose rooms are not in another batch, keeping queue order per room. */
  #takeBatch(): Pending[] {
    const batch: Pending[] = []
    const rest: Pending[] = []
    const skippedRooms = new Set<string>()
    for (const pending of this.#queue) {
      const room = pending.request.roomId
      if (batch.length < this.#maxBatch && !this.#busyRooms.has(room) && !skippedRooms.has(room)) {
        batch.push(pending)
      } else {
        rest.push(pending)
        skippedRooms.add(room)
      }
    }
    this.#queue = rest
    return batch
  }

  async #commit(batch: Pending[]): Promise<void> {
    let outcome: { results: AppendResult[]; created: RoomEvent[] }
    try {
      outcome = await this.#db.transaction().execute((trx) =>
        appendBatch(
          trx,
          batch.map((p) => p.request),
        ),
      )
    } catch (error) {
      for (const pending of batch) pending.reject(error)
      return
    }
    for (const [i, pending] of batch.entries()) pending.resolve(outcome.results[i]!)
    this.#bus.publish(outcome.created)
  }
}

const key = (roomId: string, authorId: string, clientId: string) => `${roomId}|${authorId}|${clientId}`

async function appendBatch(
  trx: Transaction<DB>,
  requests: AppendRequest[],
): Promise<{ results: AppendResult[]; created: RoomEvent[] }> {
  const roomIds = [...new Set(requests.map((r) => r.roomId))].sort()

  // 1. Lock the rooms; a room that does not exist is reported per write.
  const lockedRooms = await trx
    .selectFrom('rooms')
    .select('id')
    .where('id', 'in', roomIds)
    .orderBy('id')
    .forUpdate()
    .execute()
  const existingRooms = new Set(lockedRooms.map((r) => r.id))

  // 2. Writes stored before (by any earlier batch, on any node) are duplicates.
  const stored = await trx
    .selectFrom('room_events')
    .leftJoin('users', 'users.id', 'room_events.author_id')
    .selectAll('room_events')
    .select('users.username as author_name')
    .where((eb) =>
      eb.or(
        requests.map((r) =>
          eb.and([eb('room_id', '=', r.roomId), eb('author_id', '=', r.authorId), eb('client_id', '=', r.clientId)]),
        ),
      ),
    )
    .execute()
  const byKey = new Map<string, RoomEvent>()
  for (const row of stored) byKey.set(key(row.room_id, row.author_id!, row.client_id!), toRoomEvent(row))

  // 3. Membership of the authors of new writes.
  const fresh = requests.filter((r) => !byKey.has(key(r.roomId, r.authorId, r.clientId)) && existingRooms.has(r.roomId))
  const members = new Set<string>()
  if (fresh.length > 0) {
    const rows = await trx
      .selectFrom('room_members')
      .select(['room_id', 'user_id'])
      .where((eb) => eb.or(fresh.map((r) => eb.and([eb('room_id', '=', r.roomId), eb('user_id', '=', r.authorId)]))))
      .execute()
    for (const row of rows) members.add(`${row.room_id}|${row.user_id}`)
  }

  // 4. Decide each write in queue order; the same clientId twice in one batch is one write.
  const results: Array<AppendResult | { newIndex: number; duplicate: boolean }> = []
  const toInsert: AppendRequest[] = []
  const batchKeys = new Map<string, number>()
  for (const r of requests) {
    const k = key(r.roomId, r.authorId, r.clientId)
    const original = byKey.get(k)
    if (original) results.push({ ok: true, event: original, duplicate: true })
    else if (!existingRooms.has(r.roomId)) results.push({ ok: false, code: 'not_found', message: 'No such room' })
    else if (!members.has(`${r.roomId}|${r.authorId}`)) {
      results.push({ ok: false, code: 'not_member', message: 'Join the room before writing to it' })
    } else if (batchKeys.has(k)) results.push({ newIndex: batchKeys.get(k)!, duplicate: true })
    else {
      batchKeys.set(k, toInsert.length)
      results.push({ newIndex: toInsert.length, duplicate: false })
      toInsert.push(r)
    }
  }
  if (toInsert.length === 0) return { results: results as AppendResult[], created: [] }

  const countByRoom = new Map<string, number>()
  for (const r of toInsert) countByRoom.set(r.roomId, (countByRoom.get(r.roomId) ?? 0) + 1)
  const nextSeq = new Map<string, number>()
  for (const [roomId, count] of [...countByRoom].sort(([a], [b]) => a.localeCompare(b))) {
    const { last_seq } = await trx
      .updateTable('rooms')
      .set({ last_seq: sql<string>`last_seq + ${count}` })
      .where('id', '=', roomId)
      .returning('last_seq')
      .executeTakeFirstOrThrow()
    nextSeq.set(roomId, Number(last_seq) - count + 1)
  }

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
  const inserted = await trx.insertInto('room_events').values(rows).returningAll().execute()
  const created = inserted.map((row, i) => toRoomEvent({ ...row, author_name: toInsert[i]!.authorName }))

  const final = results.map((result) => {
    if ('newIndex' in result)
      return { ok: true as const, event: created[result.newIndex]!, duplicate: result.duplicate }
    return result
  })
  return { results: final, created }
}
