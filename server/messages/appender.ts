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
  /** Lanes, each with at most one transaction under way (PGlite runs them one after another anyway). */
  lanes?: number
  /** Most writes waiting or in a transaction, all lanes together; past it `append` answers `overloaded` at once. */
  maxPending?: number
  /** Told about each write the database refused on its own (answered `not_storable`). */
  onNotStorable?: (error: unknown, request: AppendRequest) => void
  /** Times every stage of every batch (FERRY_PROFILE_FILE; off by default). */
  profile?: AppendProfile
  /** Batch sizes and commit latency (ferry_append_batch_size, ferry_append_commit_seconds). */
  metrics?: Pick<Metrics, 'appendBatchSize' | 'appendCommitSeconds'>
}

/** FNV-1a: a stable, cheap spread of room ids over lanes. */
function laneOf(roomId: string, lanes: number): number {
  let hash = 0x811c9dc5
  for (let i = 0; i < roomId.length; i++) hash = Math.imul(hash ^ roomId.charCodeAt(i), 0x01000193)
  return (hash >>> 0) % lanes
}

class Lane {
  queue: Pending[] = []
  /** Other writers of the lane's rooms' logs (Appender.exclusive), each run alone between batches. */
  tasks: Array<() => Promise<void>> = []
  busy = false
}

/**
 * The one append path for room messages (HTTP and WebSocket alike).
 *
 * Group commit: writes queue up while a transaction is under way and the next
 * transaction takes them all (appendBatch: one statement), so the per-commit cost is paid
 * per batch, not per message (DESIGN.md §3). Rooms are spread over lanes by a
 * hash of their id, each lane with one transaction in flight: lanes run in
 * parallel, a room always goes through the same lane, so a sender's pipelined
 * messages keep the order in which they were queued and no two transactions
 * of this process ever wait for the same room.
 * Answers (and bus publication) come only after the commit.
 */
export class Appender {
  readonly #db: Kysely<DB>
  readonly #bus: Bus
  readonly #maxBatch: number
  readonly #lanes: Lane[]
  readonly #maxPending: number
  #pending = 0
  readonly #onNotStorable: (error: unknown, request: AppendRequest) => void
  #idle: Array<() => void> = []
  readonly #profile: AppendProfile | undefined
  readonly #metrics: AppenderOptions['metrics']

  constructor(db: Kysely<DB>, bus: Bus, options: AppenderOptions = {}) {
    this.#db = db
    this.#bus = bus
    this.#maxBatch = options.maxBatch ?? 256
    this.#lanes = Array.from({ length: options.lanes ?? 2 }, () => new Lane())
    this.#maxPending = options.maxPending ?? LIMITS.appendQueueMax
    this.#onNotStorable = options.onNotStorable ?? (() => {})
    this.#profile = options.profile
    this.#metrics = options.metrics
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
      const lane = this.#lanes[laneOf(request.roomId, this.#lanes.length)]!
      lane.queue.push({ request, queuedAt: this.#profile ? performance.now() : 0, resolve, reject })
      this.#pump(lane)
    }).finally(() => this.#pending--)
  }

  /**
   * Runs `work`, a transaction that writes a room's log itself (member notices,
   * renames: server/rooms/room-log.ts), in the room's lane with nothing else of
   * the lane under way, and publishes what it created after its commit. So the
   * room's entries reach the bus in seq order, whoever wrote them: a live socket
   * skips an entry older than one it was already sent, so publishing seq 8
   * before seq 7 would lose 7 for it. Not bounded by `maxPending`: these are
   * rare HTTP requests, not a stream of writes.
   */
  exclusive<T>(roomId: string, work: () => Promise<{ result: T; created: readonly RoomEvent[] }>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const lane = this.#lanes[laneOf(roomId, this.#lanes.length)]!
      lane.tasks.push(async () => {
        try {
          const { result, created } = await work()
          this.#bus.publish(created)
          resolve(result)
        } catch (error) {
          reject(error)
        }
      })
      this.#pump(lane)
    })
  }

  /** Resolves once every queued write has been committed or failed. */
  drain(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve()
    return new Promise((resolve) => this.#idle.push(resolve))
  }

  #isIdle(): boolean {
    return this.#lanes.every((lane) => !lane.busy && lane.queue.length === 0 && lane.tasks.length === 0)
  }

  #pump(lane: Lane): void {
    if (lane.busy || (lane.queue.length === 0 && lane.tasks.length === 0)) return
    lane.busy = true
    const task = lane.tasks.shift()
    const running = task ? task() : this.#commit(lane.queue.splice(0, this.#maxBatch))
    running.finally(() => {
      lane.busy = false
      this.#pump(lane)
      if (this.#isIdle()) for (const resolve of this.#idle.splice(0)) resolve()
    })
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
      outcome = await appendBatch(this.#db, requests, profile)
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
