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
 *
 * A room counts as catching up from its `subscribe` until its `caught_up`, and
 * while an HTTP job for it runs (a gap fill or a reset's latest page; one per
 * room at a time, each request bounded by its timeout and retried with backoff).
 */
import type { EventsResponse, HistoryResponse, RoomsResponse } from '../../shared/api.ts'
import { LIMITS } from '../../shared/limits.ts'
import type { PresenceUser, ServerFrame } from '../../shared/protocol.ts'
import type { Room, RoomEvent, User } from '../../shared/schemas.ts'
import { api, isTransient } from '../api/http.ts'
import { getCursor, messageToEvent, resetCursor, storeEvents } from '../db/messages.ts'
import { listCachedRooms, replaceRooms, updateRoom } from '../db/rooms.ts'
import type { FerryDatabase } from '../db/schema.ts'
import { OutboxFlusher } from '../outbox/flusher.ts'
import { applyEventsToRoom } from '../state/reducers.ts'
import { onTabMessage, publish } from '../tabs/bus.ts'
import type { ConnStatus } from '../tabs/messages.ts'
import { retrying } from './backoff.ts'
import { Connection, type ConnectionOptions, type SocketState } from './connection.ts'

const ACK_TIMEOUT_MS = 20_000
const WATCHDOG_MS = 5_000
/** Tries per HTTP request of the resume (room list, gap pages, a reset's page), paused by full jitter. */
const FETCH_ATTEMPTS = 3
const FETCH_RETRY_BASE_MS = 1_000
const FETCH_RETRY_CAP_MS = 8_000

export interface EngineOptions {
  /** The room on screen in this tab (its messages count as read). */
  viewingRoom: () => string | null
  onSessionEnded: () => void
  /** Tests swap the socket factory. */
  connection?: ConnectionOptions
}

export class SyncEngine {
  private readonly conn: Connection
  private readonly flusher: OutboxFlusher
  private readonly subscribed = new Set<string>()
  /** Subscribed, `caught_up` not heard yet. */
  private readonly replaying = new Set<string>()
  /** The HTTP job running (or queued) per room; its room counts as catching up. */
  private readonly jobs = new Map<string, Promise<void>>()
  /** Rooms with a gap fill queued behind the running job (at most one each). */
  private readonly fillQueued = new Set<string>()
  private readonly presence = new Map<string, PresenceUser[]>()
  private status: ConnStatus = { socket: 'idle', retryAt: null, catchingUp: 0, offline: false }
  private greeted = false
  private stopped = false
  private readonly cleanups: Array<() => void> = []

  constructor(
    private readonly db: FerryDatabase,
    private readonly me: User,
    private readonly options: EngineOptions,
  ) {
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
      onSettled: (roomId, stored) => this.afterStore(roomId, stored.fresh),
    })
  }

  start(): void {
    const listen = <K extends keyof WindowEventMap>(target: Window | Document, name: K | string, fn: () => void) => {
      target.addEventListener(name, fn)
      this.cleanups.push(() => target.removeEventListener(name, fn))
    }
    listen(window, 'online', () => {
      this.pushStatus()
      this.conn.check()
    })
    listen(window, 'offline', () => {
      // The socket is most likely dead; do not wait for TCP to notice.
      this.conn.recycle('offline')
      this.pushStatus()
    })
    listen(document, 'visibilitychange', () => {
      if (document.visibilityState !== 'visible') return
      this.conn.check()
      void this.flusher.pump()
    })
    this.cleanups.push(
      onTabMessage((message) => {
        switch (message.type) {
          case 'flush':
          case 'outbox-changed':
            void this.flusher.pump()
            break
          case 'send-typing':
            this.conn.send({ type: 'typing', roomId: message.roomId })
            break
          case 'resubscribe':
            if (this.greeted) void this.subscribeRooms()
            break
          case 'who-leads':
            this.pushStatus()
            for (const [roomId, users] of this.presence) publish({ type: 'presence', roomId, users })
            break
        }
      }),
    )
    const watchdog = setInterval(() => {
      if (this.flusher.oldestInFlightAge() > ACK_TIMEOUT_MS) this.conn.recycle('ack timeout')
      else void this.flusher.pump()
    }, WATCHDOG_MS)
    this.cleanups.push(() => clearInterval(watchdog))
    this.conn.start()
  }

  stop(): void {
    this.stopped = true
    for (const cleanup of this.cleanups.splice(0)) cleanup()
    this.flusher.disconnected()
    this.conn.stop()
  }

  private socketState(state: SocketState, retryAt: number | null): void {
    if (state !== 'open') {
      this.greeted = false
      this.flusher.disconnected()
      this.subscribed.clear()
      this.replaying.clear()
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
      catchingUp: new Set([...this.replaying, ...this.jobs.keys()]).size,
      offline: typeof navigator !== 'undefined' && navigator.onLine === false,
    }
    publish({ type: 'status', status: this.status })
  }

  private onFrame(frame: ServerFrame): void {
    switch (frame.type) {
      case 'hello':
        this.greeted = true
        this.pushStatus()
        this.flusher.setRate(frame.limits.sendRatePerSecond, frame.limits.sendBurst)
        this.flusher.connected((f) => this.conn.send(f))
        void this.subscribeRooms()
        break
      case 'events':
        void this.ingest(frame.roomId, frame.events)
        break
      case 'ack':
        void this.flusher.handleAck(frame)
        break
      case 'caught_up':
        void this.caughtUp(frame.roomId, frame.lastSeq)
        break
      case 'reset':
        void this.reset(frame.roomId, frame.lastSeq)
        break
      case 'presence':
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
      case 'error':
        void this.flusher.handleError(frame).then((ours) => {
          if (!ours) console.warn('server error frame', frame.code, frame.message)
        })
        break
    }
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
    let rooms: Room[]
    try {
      rooms = (await this.fetchForResume<RoomsResponse>('GET', '/api/rooms')).rooms
      await replaceRooms(this.db, rooms)
      publish({ type: 'rooms-changed' })
    } catch (error) {
      console.warn('could not refresh the room list; subscribing the cached rooms', error)
      rooms = await listCachedRooms(this.db)
    }
    if (!this.greeted) return
    const wanted = rooms.filter((r) => r.role !== null).map((r) => r.id)
    const fresh = wanted.filter((id) => !this.subscribed.has(id))
    const gone = [...this.subscribed].filter((id) => !wanted.includes(id))
    if (gone.length) {
      this.conn.send({ type: 'unsubscribe', roomIds: gone })
      for (const id of gone) this.subscribed.delete(id)
    }
    for (let i = 0; i < fresh.length; i += LIMITS.subscribeMaxRooms) {
      const chunk = fresh.slice(i, i + LIMITS.subscribeMaxRooms)
      const after = await Promise.all(
        chunk.map(async (roomId) => ({ roomId, after: (await getCursor(this.db, roomId)).lastSeq })),
      )
      if (!this.conn.send({ type: 'subscribe', rooms: after })) return
      for (const id of chunk) {
        this.subscribed.add(id)
        this.replaying.add(id)
      }
    }
    this.pushStatus()
  }

  /** Step 3. */
  private async ingest(roomId: string, events: RoomEvent[]): Promise<void> {
    const stored = await storeEvents(this.db, roomId, events)
    await this.afterStore(roomId, stored.fresh)
    if (stored.gap) void this.fillGap(roomId)
  }

  private async afterStore(roomId: string, fresh: RoomEvent[]): Promise<void> {
    if (fresh.length === 0) return
    publish({ type: 'events', roomId, events: fresh })
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
        if (!this.stopped) console.warn(`${what} failed for room ${roomId}`, error)
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
          await this.afterStore(roomId, stored.fresh)
          const reached = stored.cursor.lastSeq >= page.lastSeq
          if (reached || (!page.hasMore && stored.fresh.length === 0)) break
        }
      } catch (error) {
        await this.resubscribe(roomId)
        throw error
      }
    })
  }

  private async resubscribe(roomId: string): Promise<void> {
    if (!this.greeted || !this.subscribed.has(roomId)) return
    const after = (await getCursor(this.db, roomId)).lastSeq
    if (this.conn.send({ type: 'subscribe', rooms: [{ roomId, after }] })) this.replaying.add(roomId)
  }

  /** Step 4. */
  private async caughtUp(roomId: string, lastSeq: number): Promise<void> {
    this.replaying.delete(roomId)
    // A job of this room (e.g. the reset just before) moves the cursor: judge after it.
    await this.jobs.get(roomId)
    const cursor = await getCursor(this.db, roomId)
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
        const stored = await storeEvents(this.db, roomId, page.messages.map(messageToEvent))
        await this.afterStore(roomId, stored.fresh)
      } finally {
        publish({ type: 'room-reset', roomId })
      }
    })
  }
}
