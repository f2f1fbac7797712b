import { LIMITS } from '../../../shared/limits.ts'
import type { RoomEvent } from '../../../shared/schemas.ts'
import type { LocalRooms } from '../bus.ts'
import { TaskQueue } from '../task-queue.ts'
import type { RoomPointer } from './envelope.ts'

export interface OrdererDeps {
  /** The room's events with seq > `after`, oldest first, at most `limit` (the database: the truth). */
  read(roomId: string, after: number, limit: number): Promise<RoomEvent[]>
  /** Hands one room's events, in seq order, to the bus's handlers. */
  deliver(events: readonly RoomEvent[]): void
  /** `count` events had to be read from the database (a pointer skipped ahead or came without them). */
  onGapFill?(count: number): void
  /** A read failed; it is tried again after `retryMs` while the room is still followed here. */
  onError?(error: unknown, roomId: string): void
  /** Most events one read returns; a hole wider than this is jumped (the sockets' own gap fill takes over). */
  maxRead?: number
  /** Database reads in flight at once, all rooms together (a resync reads every followed room). */
  readConcurrency?: number
  retryMs?: number
  /**
   * How long a pointer that skips ahead with its events waits for the
   * pointers of the hole before the hole is read (0: read at once). Another
   * node's notification is usually a few milliseconds behind this node's own
   * commit; waiting for it spares a database read per such race.
   */
  graceMs?: number
}

/** Everything after `deliveredUpTo` (a resync): read until the database has no more. */
const TO_THE_END = Number.POSITIVE_INFINITY
/** Offers between two sweeps of rooms no longer followed. */
const PRUNE_EVERY = 1_000
/** The interest token of every room when no LocalRooms is watched. */
const EVERY_ROOM = {}
/** Pointers queued behind a read before they are merged into one (a database that does not answer must not cost unbounded memory). */
const MAX_QUEUED = 1_000

interface RoomState {
  /** The LocalRooms token of the run of local interest this state belongs to. */
  interest: object
  /** Every event up to here went to the handlers (or was known to be held by every live socket here). */
  deliveredUpTo: number
  /** Pointers waiting behind a read, in arrival order. */
  queue: RoomPointer[]
  running: boolean
  /** Told when the queue has run dry (a resync waits for the reads it queued). */
  idle: Array<() => void>
  /** The queued pointer whose hole is being waited for, until `waitUntil` (performance.now()). */
  waitingFor: RoomPointer | undefined
  waitUntil: number
  /** Ends the wait early: a pointer arrived. */
  wake: (() => void) | undefined
}

/**
 * Gap-free, in-order delivery of each room's events from pointers that may
 * come late, twice, out of order or without their events (docs/PROTOCOL.md,
 * "Fan-out and the bus seam"). Shared by every cross-process transport.
 *
 * Per room followed on this node: `deliveredUpTo`. A pointer that continues
 * it with its events is handed over at once (synchronously: the publishing
 * node's own commits reach its sockets in the same tick); an older one is
 * dropped; one that skips ahead waits `graceMs` for the hole's own pointers,
 * and a hole still open then, or a pointer without events, is read from the
 * database; later pointers wait behind that, so handlers see each room in
 * seq order. Rooms nobody here follows are neither tracked nor read.
 */
export class RoomOrderer {
  readonly #rooms = new Map<string, RoomState>()
  readonly #reads: TaskQueue
  readonly #maxRead: number
  readonly #retryMs: number
  readonly #graceMs: number
  #local: LocalRooms | undefined
  #offers = 0
  #closed = false

  constructor(readonly deps: OrdererDeps) {
    this.#reads = new TaskQueue(deps.readConcurrency ?? 4)
    this.#maxRead = deps.maxRead ?? LIMITS.resumeMaxEvents
    this.#retryMs = deps.retryMs ?? 1_000
    this.#graceMs = deps.graceMs ?? 0
  }

  watch(local: LocalRooms): () => void {
    this.#local = local
    return () => {
      if (this.#local === local) this.#local = undefined
    }
  }

  /** The room's delivered position (tests, diagnostics); undefined when not tracked. */
  deliveredUpTo(roomId: string): number | undefined {
    return this.#rooms.get(roomId)?.deliveredUpTo
  }

  offer(pointer: RoomPointer): void {
    if (this.#closed) return
    // Rooms unfollowed here and quiet since would be remembered forever: look them over now and then.
    if (++this.#offers % PRUNE_EVERY === 0) this.#prune()
    const interest = this.#interest(pointer.roomId)
    let state = this.#rooms.get(pointer.roomId)
    if (state && state.interest !== interest && !state.running) {
      // Nobody here followed the room for a while (or still does not): what was delivered then says nothing now.
      this.#rooms.delete(pointer.roomId)
      state = undefined
    }
    if (interest === undefined) return
    if (!state) {
      // The baseline: the lowest seq a live socket here was sent, never the pointer's own start. A commit s+2 may be
      // announced before s+1 (another node's NOTIFY, a separate statement after its commit, can lag): starting at the
      // pointer would lose s+1 for a socket that replayed up to s. With no live socket yet, the replaying sockets'
      // own gap check (Connection.deliver, subscribe.ts closeGap) catches what starting at the pointer skips.
      const lowest = this.#lowestSent(pointer.roomId)
      state = this.#track(pointer.roomId, interest, lowest ?? pointer.from - 1)
    }
    if (!state.running && this.#applyNow(state, pointer)) return
    void this.#enqueue(pointer.roomId, state, pointer)
  }

  /**
   * The bus lost messages it cannot account for and is back: every room
   * followed here is read from its `deliveredUpTo` to the end (one query per
   * room unless more than `maxRead` were missed). Resolves when all are done.
   */
  resync(): Promise<void> {
    if (this.#closed || !this.#local) return Promise.resolve()
    return this.#resyncRooms([...this.#local.rooms()])
  }

  #resyncRooms(roomIds: readonly string[]): Promise<void> {
    const done: Promise<void>[] = []
    const replaying: string[] = []
    for (const roomId of roomIds) {
      const interest = this.#interest(roomId)
      let state = this.#rooms.get(roomId)
      if (state && state.interest !== interest && !state.running) state = undefined
      if (!state) {
        const lowest = this.#lowestSent(roomId)
        if (interest === undefined || lowest === undefined) continue
        if (lowest === null) {
          // Every socket of the room here is still replaying: its replay may have read the log before the outage.
          // Look again once one of them is live, from what it was sent.
          replaying.push(roomId)
          continue
        }
        state = this.#track(roomId, interest, lowest)
      }
      done.push(this.#enqueue(roomId, state, { roomId, from: state.deliveredUpTo + 1, to: TO_THE_END }))
    }
    if (replaying.length > 0) {
      done.push(
        new Promise<void>((resolve) => setTimeout(resolve, this.#retryMs)).then(() =>
          this.#closed ? undefined : this.#resyncRooms(replaying),
        ),
      )
    }
    this.#prune()
    return Promise.all(done).then(() => {})
  }

  #prune(): void {
    for (const [roomId, state] of this.#rooms) {
      if (!state.running && this.#interest(roomId) !== state.interest) this.#rooms.delete(roomId)
    }
  }

  close(): void {
    this.#closed = true
    this.#reads.clear()
    this.#rooms.clear()
  }

  #track(roomId: string, interest: object, deliveredUpTo: number): RoomState {
    const state: RoomState = {
      interest,
      deliveredUpTo,
      queue: [],
      running: false,
      idle: [],
      waitingFor: undefined,
      waitUntil: 0,
      wake: undefined,
    }
    this.#rooms.set(roomId, state)
    return state
  }

  #interest(roomId: string): object | undefined {
    // Without a source (a bus used without realtime), every room counts, as one run of interest.
    return this.#local ? this.#local.interest(roomId) : EVERY_ROOM
  }

  #lowestSent(roomId: string): number | null | undefined {
    // Without a source (a bus used without realtime), every room counts and starts where its first pointer does.
    return this.#local ? this.#local.lowestSent(roomId) : null
  }

  /** Handles the pointer without reading, if it can: true when it is done with. */
  #applyNow(state: RoomState, pointer: RoomPointer): boolean {
    if (pointer.to <= state.deliveredUpTo) return true
    if (!pointer.events || pointer.from > state.deliveredUpTo + 1) return false
    const fresh = pointer.events.filter((event) => event.seq > state.deliveredUpTo)
    state.deliveredUpTo = pointer.to
    this.deps.deliver(fresh)
    return true
  }

  #enqueue(roomId: string, state: RoomState, pointer: RoomPointer): Promise<void> {
    if (state.queue.length >= MAX_QUEUED) {
      // Merge: one read up to the furthest pointer serves them all.
      const to = Math.max(pointer.to, ...state.queue.map((queued) => queued.to))
      state.queue = [{ roomId, from: state.deliveredUpTo + 1, to }]
    } else {
      state.queue.push(pointer)
    }
    state.wake?.()
    const idle = new Promise<void>((resolve) => state.idle.push(resolve))
    if (!state.running) {
      state.running = true
      void this.#drain(roomId, state)
    }
    return idle
  }

  async #drain(roomId: string, state: RoomState): Promise<void> {
    try {
      while (state.queue.length > 0 && !this.#closed) {
        // Runs are disjoint, so seq order is `from` order: hand over every queued pointer that continues the room.
        state.queue.sort((a, b) => a.from - b.from)
        if (this.#applyNow(state, state.queue[0]!)) {
          state.queue.shift()
          continue
        }
        const pointer = state.queue[0]!
        if (pointer.events && this.#graceMs > 0) {
          if (state.waitingFor !== pointer) {
            state.waitingFor = pointer
            state.waitUntil = performance.now() + this.#graceMs
          }
          const remaining = state.waitUntil - performance.now()
          if (remaining > 0) {
            await this.#nap(state, remaining)
            continue
          }
        }
        state.waitingFor = undefined
        try {
          // Read only the hole before a pointer that brought its events; the whole run when it came without them.
          if (pointer.events) await this.#fill(roomId, state, pointer.from - 1)
          if (!this.#applyNow(state, pointer)) await this.#fill(roomId, state, pointer.to)
          const done = state.queue.indexOf(pointer)
          // (Gone already if the queue was merged meanwhile: the merged pointer covers it.)
          if (done >= 0) state.queue.splice(done, 1)
        } catch (error) {
          this.deps.onError?.(error, roomId)
          if (this.#interest(roomId) !== state.interest) break
          await new Promise((resolve) => setTimeout(resolve, this.#retryMs))
        }
      }
    } finally {
      state.running = false
      for (const resolve of state.idle.splice(0)) resolve()
      if ((this.#interest(roomId) !== state.interest || this.#closed) && this.#rooms.get(roomId) === state) {
        this.#rooms.delete(roomId)
      }
    }
  }

  /** Waits `ms`, or less if a pointer for the room arrives meanwhile. */
  #nap(state: RoomState, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer)
        state.wake = undefined
        resolve()
      }
      const timer = setTimeout(done, ms)
      state.wake = done
    })
  }

  /** Reads (deliveredUpTo, to] from the database and delivers it; a hole wider than maxRead is jumped to its last maxRead. */
  async #fill(roomId: string, state: RoomState, to: number): Promise<void> {
    for (;;) {
      const missing = to - state.deliveredUpTo
      if (missing <= 0) return
      const after = missing > this.#maxRead && to !== TO_THE_END ? to - this.#maxRead : state.deliveredUpTo
      const rows = await this.#read(roomId, after, Math.min(missing, this.#maxRead))
      if (this.#closed) return
      const events = rows.filter((event) => event.seq > state.deliveredUpTo && event.seq <= to)
      if (events.length > 0) {
        this.deps.onGapFill?.(events.length)
        state.deliveredUpTo = events.at(-1)!.seq
        this.deps.deliver(events)
      }
      // A pointer's run is committed before it is announced: one read holds it. The end of the log: until a short read.
      if (to !== TO_THE_END || rows.length < this.#maxRead) return
    }
  }

  #read(roomId: string, after: number, limit: number): Promise<RoomEvent[]> {
    return new Promise((resolve, reject) => {
      this.#reads.run(() => this.deps.read(roomId, after, limit).then(resolve, reject))
    })
  }
}
