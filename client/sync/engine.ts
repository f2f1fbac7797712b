/**
 * The leader tab's sync engine: owns the socket, keeps IndexedDB in step with
 * the room logs and flushes the outbox. Every change is published on the tab
 * bus; the screens of all tabs (this one included) update from there.
 *
 * Resume protocol (docs/PROTOCOL.md):
 * 1. connect; wait for `hello`;
 * 2. refresh the room list, then subscribe every member room after its cursor;
 * 3. `events`: store what we lack; a hole behind the cursor → fetch it over HTTP;
 * 4. `caught_up`: if the cursor is still short of lastSeq, fetch the rest;
 * 5. `reset`: jump the cursor, load the latest page, older history pages on demand.
 * 6. `room_added` / `room_removed` (the room-list stream): change the cached list at once and
 *    follow (or stop following) the room; `room_created` is passed to the screens (Discover). Those heard while a room list
 *    (step 2's, or a `resubscribe`'s) is on its way are applied after it, so a list read
 *    before a change cannot undo it.
 *
 * Until the first room list of a socket is in, the engine counts as catching up too: a socket
 * that just said hello does not yet know which rooms changed while we were away.
 *
 * A room counts as catching up from its `subscribe` until its `caught_up`, and
 * while an HTTP job for it runs (a gap fill or a reset's latest page; one per
 * room at a time, each request bounded by its timeout and retried with backoff).
 *
 * Subscribe limits (shared/limits.ts): rooms go out in frames of at most
 * `subscribeMaxRooms`, paced to the server's budgets (`SubscribePacer`), never
 * more than `wsMaxRoomsPerSocket` on one socket. A control frame refused
 * `rate_limited` names no room, so the rooms subscribed and not heard of since
 * are sent again after `retryAfterMs` plus a backoff that grows with every
 * refusal in a row (equal jitter, 0.25–30 s); they stay "catching up" meanwhile.
 * A room's own subscribe error: `internal` → the same retry; `not_found`,
 * `not_member`, `bad_request` → the room is no longer followed.
 */
import type { EventsResponse, HistoryResponse, RoomsResponse } from '../../shared/api.ts'
import { LIMITS } from '../../shared/limits.ts'
import type {
  PresenceUser,
  ReadReceipt,
  RoomAddedFrame,
  RoomCreatedFrame,
  RoomRemovedFrame,
  ServerFrame,
} from '../../shared/protocol.ts'
import type { Room, RoomEvent, User } from '../../shared/schemas.ts'
import { api, isTransient } from '../api/http.ts'
import { getCursor, resetCursor, storeEvents } from '../db/messages.ts'
import { confirmRead, dropMembership, listCachedRooms, mergeRoom, replaceRooms, updateRoom } from '../db/rooms.ts'
import type { FerryDatabase } from '../db/schema.ts'
import { entryFromMessage } from '../log/entry.ts'
import { OutboxFlusher } from '../outbox/flusher.ts'
import { applyEventsToRoom } from '../state/reducers.ts'
import { onTabMessage, publish } from '../tabs/bus.ts'
import type { ConnStatus } from '../tabs/messages.ts'
import { retrying } from './backoff.ts'
import { Connection, type ConnectionOptions, type SocketState } from './connection.ts'
import { FocusTracker } from './focus.ts'
import { SubscribePacer } from './pacing.ts'
import { ReadSender } from './reads.ts'

const ACK_TIMEOUT_MS = 20_000
const WATCHDOG_MS = 5_000
/** Tries per HTTP request of the resume (room list, gap pages, a reset's page), paused by full jitter. */
const FETCH_ATTEMPTS = 3
const FETCH_RETRY_BASE_MS = 1_000
const FETCH_RETRY_CAP_MS = 8_000
/** Resubscribe after a refusal: never sooner than this, whatever the server's hint ... */
export const SUBSCRIBE_RETRY_FLOOR_MS = 250
/** ... a backoff of base·2^n (equal jitter) for the n-th refusal in a row, capped. */
const SUBSCRIBE_RETRY_BASE_MS = 500
export const SUBSCRIBE_RETRY_CAP_MS = 30_000

type RoomListFrame = RoomAddedFrame | RoomRemovedFrame | RoomCreatedFrame

export interface EngineOptions {
  /** The room on screen in this tab (its messages count as read). */
  viewingRoom: () => string | null
  onSessionEnded: () => void
  /**
   * Something the person should know and can act on (e.g. the device refused
   * to store what arrived). Set by the state layer; by default only logged.
   */
  onProblem?: (text: string, error: unknown) => void
  /** Tests swap the socket factory (and its `random`, used for the subscribe backoff too). */
  connection?: ConnectionOptions
}

/** Logs an unexpected failure with its context; the one shape for the client's console. */
export function warn(context: string, error?: unknown): void {
  console.warn(`[ferry] ${context}`, ...(error === undefined ? [] : [error]))
}

export class SyncEngine {
  private readonly conn: Connection
  private readonly flusher: OutboxFlusher
  private readonly reads: ReadSender
  /** The room the person looks at, for the server's push decisions (sync/focus.ts). */
  private readonly focus: FocusTracker
  private readonly subscribed = new Set<string>()
  /** Subscribed, `caught_up` not heard yet. */
  private readonly replaying = new Set<string>()
  /** The HTTP job running (or queued) per room; its room counts as catching up. */
  private readonly jobs = new Map<string, Promise<void>>()
  /** Rooms with a gap fill queued behind the running job (at most one each). */
  private readonly fillQueued = new Set<string>()
  private readonly presence = new Map<string, PresenceUser[]>()
  /** Room → reader → the highest seq they have read (from `receipts`; kept for the socket's lifetime and after). */
  private readonly receipts = new Map<string, Map<string, number>>()
  private status: ConnStatus = { socket: 'idle', retryAt: null, catchingUp: 0, offline: false }
  private greeted = false
  /** Room lists on their way (step 2, or a `resubscribe`): room-list frames wait in `heldListFrames` until none is. */
  private listing = 0
  /** This socket's first room list (step 2 after `hello`) is in: until then the engine is catching up. */
  private listIn = false
  private heldListFrames: RoomListFrame[] = []
  /** Room-list frames are applied one after another, in the order they came. */
  private listChanges: Promise<void> = Promise.resolve()
  private stopped = false
  private readonly cleanups: Array<() => void> = []
  // ---- subscribes of the current socket (all forgotten with it) ----
  /** Rooms to name in the next subscribe frame(s). */
  private readonly queued = new Set<string>()
  /** Named in a subscribe frame, no frame about them heard since: what a refused subscribe may have named. */
  private readonly unheard = new Set<string>()
  /** Rooms to send again when the retry timer fires. */
  private readonly suspects = new Set<string>()
  private retryTimer: ReturnType<typeof setTimeout> | null = null
  private retryDue = 0
  /** Refusals in a row (reset by any `caught_up`): the backoff's exponent. */
  private refusals = 0
  private paceTimer: ReturnType<typeof setTimeout> | null = null
  private sendingSubscribes = false
  /** Bumped whenever the socket stops being the greeted one: async work of an older socket stops. */
  private generation = 0
  private readonly pacer = new SubscribePacer()
  private readonly random: () => number

  constructor(
    private readonly db: FerryDatabase,
    private readonly me: User,
    private readonly options: EngineOptions,
  ) {
    this.random = options.connection?.random ?? Math.random
    this.conn = new Connection(
      {
        onState: (state, retryAt) => this.socketState(state, retryAt),
        onFrame: (frame) => this.onFrame(frame),
        onSessionEnded: () => options.onSessionEnded(),
      },
      options.connection,
    )
    this.flusher = new OutboxFlusher(db, {
      onOutboxChange: () => publish({ type: 'outbox-changed' }),
      onSettled: (roomId, stored) =>
        this.afterStore(roomId, stored.fresh).catch((error: unknown) =>
          this.storeFailed(`updating room ${roomId} after an ack`, error),
        ),
    })
    this.reads = new ReadSender({
      db,
      send: (frame) => this.greeted && this.conn.send(frame),
      greeted: () => this.greeted,
      changed: () => publish({ type: 'rooms-changed' }),
      warn: (context, error) => warn(context, error),
    })
    this.focus = new FocusTracker((frame) => this.greeted && this.conn.send(frame))
  }

  start(): void {
    const listen = <K extends keyof WindowEventMap>(target: Window | Document, name: K | string, fn: () => void) => {
      target.addEventListener(name, fn)
      this.cleanups.push(() => target.removeEventListener(name, fn))
    }
    listen(window, 'online', () => {
      this.pushStatus()
      this.conn.check()
      this.reads.sendWaiting()
    })
    listen(window, 'offline', () => {
      // The socket is most likely dead; do not wait for TCP to notice.
      this.conn.recycle('offline')
      this.pushStatus()
    })
    listen(document, 'visibilitychange', () => {
      if (document.visibilityState !== 'visible') return
      this.conn.check()
      this.pump()
    })
    this.cleanups.push(
      onTabMessage((message) => {
        switch (message.type) {
          case 'flush':
          case 'outbox-changed':
            this.pump()
            break
          case 'read':
            this.reads.want(message.roomId, message.now === true)
            break
          case 'send-typing':
            // Only in a live room: the server refuses typing before the replay ends (bad_request for the room).
            if (this.subscribed.has(message.roomId) && !this.replaying.has(message.roomId)) {
              this.conn.send({ type: 'typing', roomId: message.roomId })
            }
            break
          case 'resubscribe':
            if (this.greeted) this.resume()
            break
          case 'focus':
            this.focus.report(message.tabId, message.roomId)
            break
          case 'who-leads':
            this.pushStatus()
            for (const [roomId, users] of this.presence) publish({ type: 'presence', roomId, users })
            for (const [roomId, known] of this.receipts) {
              publish({ type: 'receipts', roomId, readers: Object.fromEntries(known) })
            }
            break
        }
      }),
    )
    const watchdog = setInterval(() => {
      if (this.flusher.oldestInFlightAge() > ACK_TIMEOUT_MS) this.conn.recycle('ack timeout')
      else this.pump()
    }, WATCHDOG_MS)
    this.cleanups.push(() => clearInterval(watchdog))
    // A new leader: every tab (this one too) says what it shows.
    publish({ type: 'focus-ask' })
    this.conn.start()
  }

  stop(): void {
    this.stopped = true
    for (const cleanup of this.cleanups.splice(0)) cleanup()
    this.flusher.disconnected()
    this.reads.stop()
    this.conn.stop()
    this.forgetSubscribes()
  }

  /** Flushes the outbox; a failure (e.g. IndexedDB refused the read) is logged, and the next trigger tries again. */
  private pump(): void {
    this.flusher
      .pump()
      .catch((error: unknown) => warn('flushing the outbox failed; retried on the next trigger', error))
  }

  private socketState(state: SocketState, retryAt: number | null): void {
    if (state !== 'open') {
      this.greeted = false
      this.focus.lostSocket()
      // The next socket fetches the list again, which holds whatever these said.
      this.listing = 0
      this.heldListFrames = []
      this.flusher.disconnected()
      this.reads.socketLost()
      this.subscribed.clear()
      this.replaying.clear()
      this.forgetSubscribes()
      this.clearPresence()
    }
    // "open" only counts once the server said hello (the session is valid).
    this.status = { ...this.status, socket: state === 'open' ? 'connecting' : state, retryAt }
    this.pushStatus()
  }

  private pushStatus(): void {
    this.status = {
      ...this.status,
      socket: this.greeted ? 'open' : this.status.socket,
      catchingUp: new Set([...this.replaying, ...this.jobs.keys()]).size + (this.listIn ? 0 : 1),
      offline: typeof navigator !== 'undefined' && navigator.onLine === false,
    }
    publish({ type: 'status', status: this.status })
  }

  private onFrame(frame: ServerFrame): void {
    switch (frame.type) {
      case 'hello':
        this.greeted = true
        this.listIn = false
        this.pacer.newSocket()
        this.flusher.setRate(frame.limits.sendRatePerSecond, frame.limits.sendBurst)
        this.flusher.connected((f) => this.conn.send(f))
        this.resume()
        this.reads.greetedSocket()
        this.focus.newSocket()
        this.pushStatus()
        break
      case 'events':
        this.heard(frame.roomId)
        this.ingest(frame.roomId, frame.events).catch((error: unknown) =>
          // The cursor did not move: the next event shows the hole, and it is fetched then.
          this.storeFailed(`storing ${frame.events.length} events of room ${frame.roomId}`, error),
        )
        break
      case 'ack':
        this.flusher.handleAck(frame).catch((error: unknown) =>
          // Still in the outbox as sent: it goes out again and the server answers with the same message.
          this.storeFailed(`settling the ack of ${frame.clientId}`, error),
        )
        break
      case 'caught_up':
        this.heard(frame.roomId)
        this.refusals = 0
        // caughtUp waits for the room's job, which never rejects; its own reads may.
        this.caughtUp(frame.roomId, frame.lastSeq).catch((error: unknown) =>
          warn(`checking room ${frame.roomId} after caught_up`, error),
        )
        break
      case 'reset':
        this.heard(frame.roomId)
        // runJob logs failures and never rejects.
        void this.reset(frame.roomId, frame.lastSeq)
        break
      case 'presence':
        this.heard(frame.roomId)
        this.presence.set(frame.roomId, frame.users)
        publish({ type: 'presence', roomId: frame.roomId, users: frame.users })
        break
      case 'presence_join':
        this.presence.set(frame.roomId, [...(this.presence.get(frame.roomId) ?? []), frame.user])
        publish({ type: 'presence-join', roomId: frame.roomId, user: frame.user })
        break
      case 'presence_leave':
        this.presence.set(
          frame.roomId,
          (this.presence.get(frame.roomId) ?? []).filter((u) => u.userId !== frame.userId),
        )
        publish({ type: 'presence-leave', roomId: frame.roomId, userId: frame.userId })
        break
      case 'typing':
        publish({ ...frame, type: 'typing' })
        break
      case 'receipts':
        this.heard(frame.roomId)
        this.receive(frame.roomId, frame.readers)
        break
      case 'read_marker':
        // Read here or on another device: the room list and divider follow; a further marker of this device stays to be posted.
        confirmRead(this.db, frame.roomId, frame.lastReadSeq, frame).then(
          () => publish({ type: 'rooms-changed' }),
          (error: unknown) => this.storeFailed(`applying the read marker of room ${frame.roomId}`, error),
        )
        break
      case 'room_added':
      case 'room_removed':
      case 'room_created':
        if (this.listing > 0) this.heldListFrames.push(frame)
        else this.applyListFrames([frame])
        break
      case 'error':
        if (frame.clientId) {
          this.flusher
            .handleError(frame)
            .catch((error: unknown) =>
              this.storeFailed(`recording the refusal of ${frame.clientId} (${frame.code})`, error),
            )
        } else if (frame.roomId) {
          this.roomError(frame.roomId, frame.code, frame.message, frame.retryAfterMs)
        } else if (frame.code === 'rate_limited') {
          this.controlFrameRefused(frame.retryAfterMs)
        } else {
          warn(`server error: ${frame.code}: ${frame.message}`)
        }
        break
    }
  }

  /** How far each member has read the room, as far as this socket has heard (userId → seq). */
  receiptsOf(roomId: string): ReadonlyMap<string, number> {
    return this.receipts.get(roomId) ?? new Map()
  }

  /** Markers only move forward: the highest heard per reader wins, whatever order frames came in. */
  private receive(roomId: string, readers: readonly ReadReceipt[]): void {
    let known = this.receipts.get(roomId)
    if (!known) {
      known = new Map()
      this.receipts.set(roomId, known)
    }
    for (const { userId, lastReadSeq } of readers) {
      if (lastReadSeq > (known.get(userId) ?? 0)) known.set(userId, lastReadSeq)
    }
    publish({ type: 'receipts', roomId, readers: Object.fromEntries(known) })
  }

  /** A failed IndexedDB write or read: logged, and told to the person when the device is out of space. */
  private storeFailed(context: string, error: unknown): void {
    if (this.stopped) return
    warn(context, error)
    if (error instanceof DOMException && error.name === 'QuotaExceededError') {
      this.options.onProblem?.(
        'This device is out of storage for Ferry: new messages cannot be saved. Free some space.',
        error,
      )
    }
  }

  // ---- subscribing ----

  /** Step 2 for this socket; its failures are logged (the next socket or `resubscribe` redoes it). */
  private resume(): void {
    this.subscribeRooms().catch((error: unknown) => warn('subscribing the rooms failed', error))
  }

  /** Something was heard about the room: its subscribe was admitted. */
  private heard(roomId: string): void {
    this.unheard.delete(roomId)
    this.suspects.delete(roomId)
  }

  /** Queues rooms for the next subscribe frame; they count as catching up until their `caught_up`. */
  private queueSubscribe(roomIds: Iterable<string>): void {
    for (const roomId of roomIds) {
      this.subscribed.add(roomId)
      this.replaying.add(roomId)
      this.queued.add(roomId)
    }
    this.pushStatus()
    this.sendSubscribes()
  }

  /** Sends queued rooms in frames of at most subscribeMaxRooms, as fast as the pacer allows. */
  private sendSubscribes(): void {
    if (this.sendingSubscribes || this.paceTimer !== null || !this.greeted || this.queued.size === 0) return
    this.sendingSubscribes = true
    const generation = this.generation
    this.sendQueued(generation)
      .catch((error: unknown) => {
        // The cursors could not be read: try again like after a refusal, without a tight loop.
        warn('reading the cursors for a subscribe failed', error)
        if (generation === this.generation) this.retryLater([...this.queued], 0)
        return true
      })
      .then((sent) => {
        this.sendingSubscribes = false
        // Rooms queued after the loop's last look. Not after a failed send: that socket is going, the next one resubscribes.
        if (sent && generation === this.generation && this.paceTimer === null && this.retryTimer === null) {
          this.sendSubscribes()
        }
      })
  }

  /** False when the socket refused the frame (it is closing). */
  private async sendQueued(generation: number): Promise<boolean> {
    while (this.greeted && generation === this.generation && this.queued.size > 0) {
      const chunk = [...this.queued].slice(0, LIMITS.subscribeMaxRooms)
      const wait = this.pacer.wait(chunk.length)
      if (wait > 0) {
        this.paceTimer = setTimeout(() => {
          this.paceTimer = null
          this.sendSubscribes()
        }, wait)
        return true
      }
      const rooms = await Promise.all(
        chunk.map(async (roomId) => ({ roomId, after: (await getCursor(this.db, roomId)).lastSeq })),
      )
      if (!this.greeted || generation !== this.generation) return true
      const still = rooms.filter((r) => this.queued.has(r.roomId))
      if (still.length === 0) continue
      if (!this.conn.send({ type: 'subscribe', rooms: still })) return false
      this.pacer.take(still.length)
      for (const { roomId } of still) {
        this.queued.delete(roomId)
        this.unheard.add(roomId)
      }
    }
    return true
  }

  /** A control frame was refused (`rate_limited` naming no room): if it could have been a subscribe, send its rooms again later. */
  private controlFrameRefused(retryAfterMs: number | undefined): void {
    this.reads.frameRefused(retryAfterMs ?? 0)
    this.focus.refused(retryAfterMs ?? 0)
    // Typing or ping frames are refused the same way; with no subscribe unanswered there is nothing to redo.
    if (this.unheard.size === 0) return
    warn(`a subscribe was refused (rate_limited); retrying ${this.unheard.size} rooms`)
    this.pacer.drain()
    this.retryLater([...this.unheard], retryAfterMs ?? 0)
  }

  /**
   * Sends `roomIds` again after max(hint, backoff). Refusals that arrive while a
   * retry is pending join it (they are the same burst) instead of stacking timers.
   */
  private retryLater(roomIds: string[], hintMs: number): void {
    for (const roomId of roomIds) {
      this.queued.delete(roomId)
      this.suspects.add(roomId)
    }
    const exp = Math.min(SUBSCRIBE_RETRY_CAP_MS, SUBSCRIBE_RETRY_BASE_MS * 2 ** this.refusals)
    const backoff = exp / 2 + this.random() * (exp / 2)
    const delay = Math.min(SUBSCRIBE_RETRY_CAP_MS, Math.max(SUBSCRIBE_RETRY_FLOOR_MS, hintMs, backoff))
    const due = Date.now() + delay
    if (this.retryTimer !== null) {
      if (due <= this.retryDue) return
      clearTimeout(this.retryTimer)
    } else {
      this.refusals += 1
    }
    this.retryDue = due
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null
      const again = [...this.suspects].filter((id) => this.subscribed.has(id) && this.replaying.has(id))
      this.suspects.clear()
      for (const roomId of again) this.queued.add(roomId)
      this.sendSubscribes()
    }, due - Date.now())
  }

  /** An error about one room that is not about a send of ours. */
  private roomError(roomId: string, code: string, message: string, retryAfterMs: number | undefined): void {
    // A read marker for a room we may not mark (left, removed, gone) is dropped, not sent forever.
    if (code === 'not_found' || code === 'not_member') this.reads.refused(roomId)
    const resuming = this.subscribed.has(roomId) && this.replaying.has(roomId)
    if (resuming && (code === 'internal' || code === 'rate_limited' || code === 'unavailable')) {
      warn(`subscribing room ${roomId} failed (${code}: ${message}); retrying`)
      this.retryLater([roomId], retryAfterMs ?? 0)
      return
    }
    if (code === 'not_found' || (resuming && (code === 'not_member' || code === 'bad_request'))) {
      // Gone, no access, or more rooms than a socket may follow: the server follows it no more; neither do we.
      warn(`room ${roomId} is not followed (${code}: ${message})`)
      this.forgetRoom(roomId)
      this.pushStatus()
      return
    }
    warn(`server error for room ${roomId}: ${code}: ${message}`)
  }

  /** The socket is gone: its subscribes, refusals and timers with it (a new socket subscribes everything again). */
  private forgetSubscribes(): void {
    this.generation += 1
    this.queued.clear()
    this.unheard.clear()
    this.suspects.clear()
    this.refusals = 0
    if (this.retryTimer !== null) clearTimeout(this.retryTimer)
    this.retryTimer = null
    if (this.paceTimer !== null) clearTimeout(this.paceTimer)
    this.paceTimer = null
  }

  /** Without a greeted socket we cannot know who is online: show nobody rather than a stale list. */
  private clearPresence(): void {
    for (const [roomId, users] of this.presence) {
      if (users.length > 0) publish({ type: 'presence', roomId, users: [] })
    }
    this.presence.clear()
  }

  /** Retries a resume request while this socket is the greeted one; a new socket redoes the resume anyway. */
  private fetchForResume<T>(method: 'GET', path: string): Promise<T> {
    if (this.stopped) return Promise.reject(new Error('the sync engine has stopped'))
    return retrying(() => api<T>(method, path), {
      attempts: FETCH_ATTEMPTS,
      baseMs: FETCH_RETRY_BASE_MS,
      capMs: FETCH_RETRY_CAP_MS,
      retryable: isTransient,
      keepGoing: () => this.greeted && !this.stopped,
    })
  }

  /** Step 2: the room list first (it may have changed while we were away), then subscribe. */
  private async subscribeRooms(): Promise<void> {
    const generation = this.generation
    this.listing += 1
    let rooms: Room[]
    try {
      rooms = (await this.fetchForResume<RoomsResponse>('GET', '/api/rooms')).rooms
      await replaceRooms(this.db, rooms)
      publish({ type: 'rooms-changed' })
    } catch (error) {
      // Expected offline or with a flaky link; the cached list is the best guess.
      warn('could not refresh the room list; subscribing the cached rooms', error)
      rooms = await listCachedRooms(this.db)
    } finally {
      if (generation === this.generation) {
        this.listIn = true
        this.listed()
      }
    }
    if (!this.greeted || generation !== this.generation) return
    const wanted = new Set(rooms.filter((r) => r.role !== null).map((r) => r.id))
    if (wanted.size > LIMITS.wsMaxRoomsPerSocket) {
      warn(`member of ${wanted.size} rooms; one socket follows ${LIMITS.wsMaxRoomsPerSocket} (most recent first)`)
    }
    const followed = [...wanted].slice(0, LIMITS.wsMaxRoomsPerSocket)
    const keep = new Set(followed)
    const gone = [...this.subscribed].filter((id) => !keep.has(id))
    for (let i = 0; i < gone.length; i += LIMITS.subscribeMaxRooms) {
      this.conn.send({ type: 'unsubscribe', roomIds: gone.slice(i, i + LIMITS.subscribeMaxRooms) })
    }
    for (const id of gone) this.forgetRoom(id)
    this.queueSubscribe(followed.filter((id) => !this.subscribed.has(id)))
  }

  /** The socket follows the room no more (we unsubscribed, or the server ended it): neither do we. */
  private forgetRoom(roomId: string): void {
    this.subscribed.delete(roomId)
    this.replaying.delete(roomId)
    this.queued.delete(roomId)
    this.heard(roomId)
  }

  /** A room list is stored (or could not be had): once none is on its way, the changes heard meanwhile go on top. */
  private listed(): void {
    this.listing -= 1
    if (this.listing > 0) return
    const held = this.heldListFrames.splice(0)
    if (held.length > 0) this.applyListFrames(held)
    this.pushStatus()
  }

  /** Step 6, in the order heard. A failed write is logged; the next socket's room list corrects it. */
  private applyListFrames(frames: readonly RoomListFrame[]): void {
    this.listChanges = this.listChanges.then(async () => {
      for (const frame of frames) {
        try {
          await this.applyListFrame(frame)
        } catch (error) {
          this.storeFailed(`applying ${frame.type} to the room list`, error)
        }
      }
    })
  }

  private async applyListFrame(frame: RoomListFrame): Promise<void> {
    switch (frame.type) {
      case 'room_added':
        await mergeRoom(this.db, frame.room)
        publish({ type: 'rooms-changed' })
        publish({ type: 'room-changed', roomId: frame.room.id })
        if (this.greeted && !this.subscribed.has(frame.room.id) && this.subscribed.size < LIMITS.wsMaxRoomsPerSocket) {
          this.queueSubscribe([frame.room.id])
        }
        return
      case 'room_created':
        // Not stored: the device's list holds only the person's rooms. An open Discover lists it.
        publish({ type: 'room-created', room: frame.room })
        return
      case 'room_removed':
        // The server has stopped following it on this socket already.
        this.forgetRoom(frame.roomId)
        this.pushStatus()
        if (await dropMembership(this.db, frame.roomId, frame.visibility)) publish({ type: 'rooms-changed' })
        return
    }
  }

  /** Step 3. */
  private async ingest(roomId: string, events: RoomEvent[]): Promise<void> {
    const stored = await storeEvents(this.db, roomId, events)
    await this.afterStore(roomId, stored.fresh, stored.refreshed)
    // fillGap runs as a job, which logs its failures and never rejects.
    if (stored.gap) void this.fillGap(roomId)
  }

  /** `refreshed`: held messages whose stored copy took a newer server snapshot (their seqs are not new). */
  private async afterStore(roomId: string, fresh: RoomEvent[], refreshed: RoomEvent[] = []): Promise<void> {
    if (fresh.length === 0 && refreshed.length === 0) return
    publish({ type: 'events', roomId, events: refreshed.length === 0 ? fresh : [...refreshed, ...fresh] })
    if (fresh.length === 0) return
    const viewing = this.options.viewingRoom() === roomId
    await updateRoom(this.db, roomId, (room) => applyEventsToRoom(room, fresh, this.me.id, viewing))
    publish({ type: 'rooms-changed' })
  }

  /**
   * Runs `work` after the room's current job; the room counts as catching up until
   * the last one ends. A failure is logged and releases the room.
   */
  private runJob(roomId: string, what: string, work: () => Promise<void>): Promise<void> {
    const previous = this.jobs.get(roomId) ?? Promise.resolve()
    const job: Promise<void> = previous
      .then(work)
      .catch((error: unknown) => {
        if (!this.stopped) warn(`${what} failed for room ${roomId}`, error)
      })
      .finally(() => {
        if (this.jobs.get(roomId) === job) this.jobs.delete(roomId)
        this.pushStatus()
      })
    this.jobs.set(roomId, job)
    this.pushStatus()
    return job
  }

  /**
   * Fetches missing events over HTTP until the cursor reaches the server's last seq.
   * If HTTP keeps failing while the socket lives, the room is subscribed again from
   * its cursor, so the server replays the hole over the socket instead.
   */
  private fillGap(roomId: string): Promise<void> {
    if (this.fillQueued.has(roomId)) return this.jobs.get(roomId) ?? Promise.resolve()
    this.fillQueued.add(roomId)
    return this.runJob(roomId, 'gap fetch', async () => {
      this.fillQueued.delete(roomId)
      try {
        for (;;) {
          const cursor = await getCursor(this.db, roomId)
          const page = await this.fetchForResume<EventsResponse>(
            'GET',
            `/api/rooms/${roomId}/events?after=${cursor.lastSeq}&limit=${LIMITS.catchUpPageMax}`,
          )
          const stored = await storeEvents(this.db, roomId, page.events)
          await this.afterStore(roomId, stored.fresh, stored.refreshed)
          const reached = stored.cursor.lastSeq >= page.lastSeq
          if (reached || (!page.hasMore && stored.fresh.length === 0)) break
        }
      } catch (error) {
        this.resubscribe(roomId)
        throw error
      }
    })
  }

  /** Asks the socket to replay the room from its cursor (paced like every subscribe). */
  private resubscribe(roomId: string): void {
    if (!this.greeted || !this.subscribed.has(roomId)) return
    this.queueSubscribe([roomId])
  }

  /** Step 4. */
  private async caughtUp(roomId: string, lastSeq: number): Promise<void> {
    this.replaying.delete(roomId)
    // A job of this room (e.g. the reset just before) moves the cursor: judge after it.
    await this.jobs.get(roomId)
    const cursor = await getCursor(this.db, roomId)
    // A job: logs its failures, never rejects.
    if (cursor.lastSeq < lastSeq) void this.fillGap(roomId)
    this.pushStatus()
  }

  /** Step 5: the room stays "catching up" until the latest page is stored (the `caught_up` after a reset does not end it). */
  private reset(roomId: string, lastSeq: number): Promise<void> {
    return this.runJob(roomId, 'loading the latest page after a reset', async () => {
      await resetCursor(this.db, roomId, lastSeq)
      try {
        const page = await this.fetchForResume<HistoryResponse>(
          'GET',
          `/api/rooms/${roomId}/messages?limit=${LIMITS.historyPageDefault}`,
        )
        // Each message comes with its folded state (`through`): the changes the reset skipped are in it.
        const stored = await storeEvents(this.db, roomId, page.messages.map(entryFromMessage))
        await this.afterStore(roomId, stored.fresh, stored.refreshed)
      } finally {
        publish({ type: 'room-reset', roomId })
      }
    })
  }
}
