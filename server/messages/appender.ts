import type { Kysely } from 'kysely'
import { LIMITS } from '../../shared/limits.ts'
import type { RoomEvent } from '../../shared/schemas.ts'
import type { DB } from '../db/schema.ts'
import type { Metrics } from '../metrics/metrics.ts'
import type { Bus } from '../realtime/bus.ts'
import { type AppendRequest, type AppendResult, appendBatch } from './append-batch.ts'
import type { AppendProfile } from './append-profile.ts'

export type { AppendRequest, AppendResult } from './append-batch.ts'

interface Pending {
  request: AppendRequest
  /** performance.now() at append (profiling only). */
  queuedAt: number
  resolve(result: AppendResult): void
  reject(error: unknown): void
}

export interface AppenderOptions {
  /** Most writes committed in one transaction. */
  maxBatch?: number
  /** Most transactions under way at once (PGlite runs them one after another anyway). */
  lanes?: number
  /** Most writes waiting or in a transaction, all together; past it `append` answers `overloaded` at once. */
  maxPending?: number
  /** Told about each write the database refused on its own (answered `not_storable`). */
  onNotStorable?: (error: unknown, request: AppendRequest) => void
  /** Times every stage of every batch (FERRY_PROFILE_FILE; off by default). */
  profile?: AppendProfile
  /** Batch sizes and commit latency (ferry_append_batch_size, ferry_append_commit_seconds). */
  metrics?: Pick<Metrics, 'appendBatchSize' | 'appendCommitSeconds'>
  /** Stores one batch (default: appendBatch); tests gate it to see what runs when. */
  commitBatch?: (requests: readonly AppendRequest[]) => Promise<{ results: AppendResult[]; created: RoomEvent[] }>
}

/** What waits in a room's queue: a write, or a task that writes the room's log itself (Appender.exclusive). */
type Item = { write: Pending; task?: undefined } | { task: () => Promise<void>; write?: undefined }

/**
 * The one append path for room messages (HTTP and WebSocket alike).
 *
 * Group commit: writes queue up while transactions are under way and the
 * next transaction takes every write it may (appendBatch: one statement), so
 * the per-commit cost is paid per batch, not per message (DESIGN.md §3). Up
 * to `lanes` transactions run at once, and a room is in at most one of them:
 * a write starts as soon as a transaction slot is free and its room has
 * nothing under way, whatever other rooms do. So a sender's pipelined
 * messages keep the order in which they were queued, no two transactions of
 * this process ever wait for the same room's lock, and, unlike rooms hashed
 * to fixed lanes (before 2026-12-08), a write never waits behind another
 * room's transaction while a slot is idle.
 * Answers (and bus publication) come only after the commit.
 */
export class Appender {
  readonly #db: Kysely<DB>
  readonly #bus: Bus
  readonly #maxBatch: number
  readonly #maxInFlight: number
  readonly #maxPending: number
  #pending = 0
  /** What waits, per room; a Map iterates in insertion order, so rooms are served oldest waiting first. */
  readonly #waiting = new Map<string, Item[]>()
  /** Rooms with a transaction or task under way. */
  readonly #busyRooms = new Set<string>()
  #inFlight = 0
  readonly #onNotStorable: (error: unknown, request: AppendRequest) => void
  #idle: Array<() => void> = []
  readonly #profile: AppendProfile | undefined
  readonly #metrics: AppenderOptions['metrics']
  readonly #commitBatch: NonNullable<AppenderOptions['commitBatch']>

  constructor(db: Kysely<DB>, bus: Bus, options: AppenderOptions = {}) {
    this.#db = db
    this.#bus = bus
    this.#maxBatch = options.maxBatch ?? 256
    this.#maxInFlight = options.lanes ?? 2
    this.#maxPending = options.maxPending ?? LIMITS.appendQueueMax
    this.#onNotStorable = options.onNotStorable ?? (() => {})
    this.#profile = options.profile
    this.#metrics = options.metrics
    this.#commitBatch = options.commitBatch ?? ((requests) => appendBatch(this.#db, requests, this.#profile))
  }

  /**
   * Queues a write; answered after its commit. When the queue is full (the
   * database cannot keep up), refused at once with `overloaded`, nothing
   * queued: memory and waiting time stay bounded, and the sender retries later.
   */
  append(request: AppendRequest): Promise<AppendResult> {
    if (this.#pending >= this.#maxPending) {
      const retryAfterMs = LIMITS.overloadedRetryAfterMs
      return Promise.resolve({
        ok: false,
        code: 'overloaded',
        message: `The server is busy; retry in ${retryAfterMs} ms`,
        retryAfterMs,
      })
    }
    this.#pending++
    return new Promise<AppendResult>((resolve, reject) => {
      this.#enqueue(request.roomId, {
        write: { request, queuedAt: this.#profile ? performance.now() : 0, resolve, reject },
      })
    }).finally(() => this.#pending--)
  }

  /**
   * Runs `work`, a transaction that writes a room's log itself (member notices,
   * renames: server/rooms/room-log.ts), in the room's queue order with nothing
   * else of the room under way, and publishes what it created after its
   * commit. So the room's entries reach the bus in seq order, whoever wrote
   * them: a live socket skips an entry older than one it was already sent, so
   * publishing seq 8 before seq 7 would lose 7 for it. Not bounded by
   * `maxPending`: these are rare HTTP requests, not a stream of writes.
   */
  exclusive<T>(roomId: string, work: () => Promise<{ result: T; created: readonly RoomEvent[] }>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#enqueue(roomId, {
        task: async () => {
          try {
            const { result, created } = await work()
            this.#bus.publish(created)
            resolve(result)
          } catch (error) {
            reject(error)
          }
        },
      })
    })
  }

  /** Resolves once every queued write has been committed or failed. */
  drain(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve()
    return new Promise((resolve) => this.#idle.push(resolve))
  }

  #isIdle(): boolean {
    return this.#inFlight === 0 && this.#waiting.size === 0
  }

  #enqueue(roomId: string, item: Item): void {
    const queue = this.#waiting.get(roomId)
    if (queue) queue.push(item)
    else this.#waiting.set(roomId, [item])
    // A room under way stays so until its transaction ends, which pumps: nothing new can start now.
    if (!this.#busyRooms.has(roomId)) this.#pump()
  }

  /** Starts what may start: transactions while slots are free, each with every write of rooms not under way. */
  #pump(): void {
    while (this.#inFlight < this.#maxInFlight) {
      const next = this.#next()
      if (!next) break
      this.#inFlight++
      for (const roomId of next.rooms) this.#busyRooms.add(roomId)
      const running = next.task ? next.task() : this.#commit(next.batch)
      void running.finally(() => {
        this.#inFlight--
        for (const roomId of next.rooms) this.#busyRooms.delete(roomId)
        this.#pump()
        if (this.#isIdle()) for (const resolve of this.#idle.splice(0)) resolve()
      })
    }
  }

  /**
   * The next thing to start, rooms served oldest waiting first: a room whose
   * first item is a task runs it alone (when nothing was taken yet); else
   * each free room's leading writes, up to a task or `maxBatch` in all.
   */
  #next(): { rooms: string[]; task?: () => Promise<void>; batch: Pending[] } | undefined {
    const batch: Pending[] = []
    const rooms: string[] = []
    for (const [roomId, queue] of this.#waiting) {
      if (batch.length >= this.#maxBatch) break
      if (this.#busyRooms.has(roomId)) continue
      const first = queue[0]!
      if (first.task) {
        if (batch.length > 0) continue
        this.#take(roomId, queue, 1)
        return { rooms: [roomId], task: first.task, batch }
      }
      let n = 0
      while (n < queue.length && queue[n]!.write && batch.length < this.#maxBatch) batch.push(queue[n++]!.write!)
      this.#take(roomId, queue, n)
      rooms.push(roomId)
    }
    return batch.length > 0 ? { rooms, batch } : undefined
  }

  /** Removes the first `n` items of a room's queue (and the room, once empty). */
  #take(roomId: string, queue: Item[], n: number): void {
    if (n === queue.length) this.#waiting.delete(roomId)
    else queue.splice(0, n)
  }

  /**
   * Commits a batch and answers each of its writes. When the transaction
   * fails because the database refused some write's content (a data error),
   * the batch is split in two halves, committed one after the other in queue
   * order, until the failing write is alone: it gets `not_storable` and every
   * other write is stored, so one request can never fail the others (nor come
   * back in every later batch, as clients resend transient failures).
   * Any other failure (connection lost, database down) is transient: the
   * batch and every write queued after it in this split are rejected
   * (`internal`), so no later write of a sender is stored after an earlier
   * one that will be resent. Returns whether the batch failed transiently.
   */
  async #commit(batch: Pending[]): Promise<{ transient: boolean }> {
    let outcome: { results: AppendResult[]; created: RoomEvent[] }
    const profile = this.#profile
    const metrics = this.#metrics
    const startedAt = profile || metrics ? performance.now() : 0
    if (profile) {
      profile.record('batch.size', batch.length)
      for (const pending of batch) profile.record('write.queueWait', startedAt - pending.queuedAt)
    }
    try {
      const requests = batch.map((p) => p.request)
      outcome = await this.#commitBatch(requests)
      const transactionMs = profile || metrics ? performance.now() - startedAt : 0
      profile?.record('batch.transaction', transactionMs)
      // Committed batches only: a split batch counts as the halves that committed.
      metrics?.appendBatchSize.observe(batch.length)
      metrics?.appendCommitSeconds.observe(transactionMs / 1000)
    } catch (error) {
      if (!isDataError(error)) {
        for (const pending of batch) pending.reject(error)
        return { transient: true }
      }
      if (batch.length === 1) {
        this.#onNotStorable(error, batch[0]!.request)
        batch[0]!.resolve({ ok: false, code: 'not_storable', message: 'The database cannot store this message' })
        return { transient: false }
      }
      const half = Math.ceil(batch.length / 2)
      const first = await this.#commit(batch.slice(0, half))
      if (first.transient) {
        for (const pending of batch.slice(half)) pending.reject(error)
        return first
      }
      return this.#commit(batch.slice(half))
    }
    for (const [i, pending] of batch.entries()) pending.resolve(outcome.results[i]!)
    const publishedAt = profile ? performance.now() : 0
    this.#bus.publish(outcome.created)
    profile?.record('batch.publish', performance.now() - publishedAt)
    return { transient: false }
  }
}

/**
 * SQLSTATE class 22 (data exception: a NUL in text, a bad encoding, a value
 * out of range) or 23 (integrity constraint violation): the database refused
 * what a write holds; the same write would fail again, alone or not.
 */
function isDataError(error: unknown): boolean {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined
  return typeof code === 'string' && /^2[23][0-9A-Z]{3}$/.test(code)
}
