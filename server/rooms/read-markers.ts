import type { FastifyBaseLogger } from 'fastify'
import { type Kysely, sql } from 'kysely'
import { LIMITS } from '../../shared/limits.ts'
import type { ReadReceipt } from '../../shared/protocol.ts'
import type { DB } from '../db/schema.ts'
import type { Bus, ReadMarker } from '../realtime/bus.ts'
import { unreadCount } from './unread.ts'

interface Raised {
  roomId: string
  userId: string
  seq: number
}

export interface ReadMarkersOptions {
  /** How often raised markers are written (LIMITS.readMarkerFlushMs; tests shorten it). */
  flushMs: number
  /** Raised markers held between flushes before one is forced (LIMITS.readMarkersPendingMax). */
  pendingMax?: number
}

/**
 * Read markers, coalesced (docs/PROTOCOL.md, "Read receipts"): a `read`
 * frame only raises an in-memory `(room, user) → seq`; every `flushMs` one
 * statement writes all the raised markers that still move forward, and one
 * bus message after its commit tells every node's sockets. So a person
 * scrolling through a hundred messages costs one row update and one
 * broadcast per second, and never a log entry.
 *
 * Durability: a crash loses at most the last interval's markers; the client
 * keeps its highest unconfirmed seq until a `read_marker` at or above it
 * arrives, and sends it again on its next connection.
 */
export class ReadMarkers {
  readonly #pending = new Map<string, Raised>()
  readonly #pendingMax: number
  readonly #timer: ReturnType<typeof setInterval>
  /** The flush under way: flushes run one after another, so one (room, user) row is never written by two at once. */
  #flushing: Promise<void> = Promise.resolve()
  #closed = false

  constructor(
    private readonly db: Kysely<DB>,
    private readonly bus: Bus,
    private readonly log: FastifyBaseLogger,
    options: ReadMarkersOptions,
  ) {
    this.#pendingMax = options.pendingMax ?? LIMITS.readMarkersPendingMax
    this.#timer = setInterval(() => void this.flush(), options.flushMs).unref()
  }

  /** The reader has seen the room up to `seq` (a member: the caller checked). Only the highest per (room, user) is kept. */
  raise(roomId: string, userId: string, seq: number): void {
    if (this.#closed) return
    const key = `${roomId}:${userId}`
    const held = this.#pending.get(key)
    if (held) {
      if (seq > held.seq) held.seq = seq
      return
    }
    this.#pending.set(key, { roomId, userId, seq })
    if (this.#pending.size >= this.#pendingMax) void this.flush()
  }

  /** Writes what is raised now (after any flush under way) and broadcasts what moved. Never rejects. */
  flush(): Promise<void> {
    this.#flushing = this.#flushing.then(() => this.#flushOnce())
    return this.#flushing
  }

  /** Stops the timer and writes what is still raised (graceful shutdown). */
  async close(): Promise<void> {
    this.#closed = true
    clearInterval(this.#timer)
    await this.flush()
  }

  async #flushOnce(): Promise<void> {
    if (this.#pending.size === 0) return
    const batch = [...this.#pending.values()]
    this.#pending.clear()
    let moved: ReadMarker[]
    try {
      moved = await writeReadMarkers(this.db, batch)
    } catch (error) {
      // Keep them for the next flush (a later raise of the same key may have come in meanwhile: keep the higher).
      if (!this.#closed) for (const raised of batch) this.#restore(raised)
      this.log.error({ err: error, markers: batch.length }, 'read markers not written; kept for the next flush')
      return
    }
    try {
      this.bus.publishReadMarkers(moved)
    } catch (error) {
      this.log.error({ err: error }, 'read markers written but not broadcast')
    }
  }

  #restore(raised: Raised): void {
    const key = `${raised.roomId}:${raised.userId}`
    const held = this.#pending.get(key)
    if (!held) this.#pending.set(key, raised)
    else if (raised.seq > held.seq) held.seq = raised.seq
  }
}

interface MovedRow {
  room_id: string
  user_id: string
  last_read_seq: string
  unread_count: string
}

/**
 * One statement for the whole batch: each marker moves forward only, capped
 * at the room's last seq; rows of people who are no longer members, and
 * markers that would not move, are not written and not returned. Rows are
 * locked in (room, user) order, so two nodes flushing overlapping markers
 * cannot deadlock.
 */
export async function writeReadMarkers(db: Kysely<DB>, markers: readonly Raised[]): Promise<ReadMarker[]> {
  if (markers.length === 0) return []
  const { rows } = await sql<MovedRow>`
    WITH raised AS (
      SELECT v.room_id, v.user_id, LEAST(v.seq, r.last_seq) AS seq
        FROM unnest(${markers.map((m) => m.roomId)}::uuid[], ${markers.map((m) => m.userId)}::uuid[],
                    ${markers.map((m) => m.seq)}::bigint[]) AS v(room_id, user_id, seq)
        JOIN rooms r ON r.id = v.room_id
    ), locked AS (
      SELECT m.room_id, m.user_id, raised.seq
        FROM room_members m JOIN raised ON raised.room_id = m.room_id AND raised.user_id = m.user_id
       WHERE raised.seq > m.last_read_seq
       ORDER BY m.room_id, m.user_id
         FOR UPDATE OF m
    )
    UPDATE room_members m SET last_read_seq = GREATEST(m.last_read_seq, locked.seq)
      FROM locked
     WHERE m.room_id = locked.room_id AND m.user_id = locked.user_id AND locked.seq > m.last_read_seq
    RETURNING m.room_id, m.user_id, m.last_read_seq,
      ${unreadCount(sql.ref('m.room_id'), sql.ref('m.user_id'), sql.ref('m.last_read_seq'))} AS unread_count`.execute(
    db,
  )
  return rows.map((row) => ({
    roomId: row.room_id,
    userId: row.user_id,
    lastReadSeq: Number(row.last_read_seq),
    unreadCount: Number(row.unread_count),
  }))
}

/** The room's most advanced read markers, for the `receipts` snapshot after `presence`. */
export async function receiptSnapshot(db: Kysely<DB>, roomId: string): Promise<ReadReceipt[]> {
  const rows = await db
    .selectFrom('room_members')
    .select(['user_id', 'last_read_seq'])
    .where('room_id', '=', roomId)
    .where('last_read_seq', '>', '0')
    .orderBy('last_read_seq', 'desc')
    .orderBy('user_id')
    .limit(LIMITS.receiptSnapshotMax)
    .execute()
  return rows.map((row) => ({ userId: row.user_id, lastReadSeq: Number(row.last_read_seq) }))
}
