import type { Kysely } from 'kysely'
import type { RoomEvent } from '../../shared/schemas.ts'
import type { DB } from '../db/schema.ts'
import type { Bus } from '../realtime/bus.ts'
import { type AppendRequest, type AppendResult, appendBatch } from './append-batch.ts'

export type { AppendRequest, AppendResult } from './append-batch.ts'

interface Pending {
  request: AppendRequest
  resolve(result: AppendResult): void
  reject(error: unknown): void
}

export interface AppenderOptions {
  /** Most writes committed in one transaction. */
  maxBatch?: number
  /** Lanes, each with at most one transaction under way (PGlite runs them one after another anyway). */
  lanes?: number
}

/** FNV-1a: a stable, cheap spread of room ids over lanes. */
function laneOf(roomId: string, lanes: number): number {
  let hash = 0x811c9dc5
  for (let i = 0; i < roomId.length; i++) hash = Math.imul(hash ^ roomId.charCodeAt(i), 0x01000193)
  return (hash >>> 0) % lanes
}

class Lane {
  queue: Pending[] = []
  busy = false
}

/**
 * The one append path for room messages (HTTP and WebSocket alike).
 *
 * Group commit: writes queue up while a transaction is under way and the next
 * transaction takes them all (appendBatch), so the per-commit cost is paid
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
  #idle: Array<() => void> = []

  constructor(db: Kysely<DB>, bus: Bus, options: AppenderOptions = {}) {
    this.#db = db
    this.#bus = bus
    this.#maxBatch = options.maxBatch ?? 256
    this.#lanes = Array.from({ length: options.lanes ?? 2 }, () => new Lane())
  }

  append(request: AppendRequest): Promise<AppendResult> {
    return new Promise((resolve, reject) => {
      const lane = this.#lanes[laneOf(request.roomId, this.#lanes.length)]!
      lane.queue.push({ request, resolve, reject })
      this.#pump(lane)
    })
  }

  /** Resolves once every queued write has been committed or failed. */
  drain(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve()
    return new Promise((resolve) => this.#idle.push(resolve))
  }

  #isIdle(): boolean {
    return this.#lanes.every((lane) => !lane.busy && lane.queue.length === 0)
  }

  #pump(lane: Lane): void {
    if (lane.busy || lane.queue.length === 0) return
    lane.busy = true
    const batch = lane.queue.splice(0, this.#maxBatch)
    this.#commit(batch).finally(() => {
      lane.busy = false
      this.#pump(lane)
      if (this.#isIdle()) for (const resolve of this.#idle.splice(0)) resolve()
    })
  }

  async #commit(batch: Pending[]): Promise<void> {
    let outcome: { results: AppendResult[]; created: RoomEvent[] }
    try {
      const requests = batch.map((p) => p.request)
      outcome = await this.#db.transaction().execute((trx) => appendBatch(trx, requests))
    } catch (error) {
      for (const pending of batch) pending.reject(error)
      return
    }
    for (const [i, pending] of batch.entries()) pending.resolve(outcome.results[i]!)
    this.#bus.publish(outcome.created)
  }
}
