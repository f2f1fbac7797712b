import type { FastifyBaseLogger } from 'fastify'
import type { Kysely } from 'kysely'
import type { RawData, WebSocket } from 'ws'
import type { OperationAckFrame } from '../../shared/conversation/requests.ts'
import { CLOSE_CODES } from '../../shared/errors.ts'
import { LIMITS } from '../../shared/limits.ts'
import type { ClientFrame, PresenceUser, ReadFrame, ServerFrame } from '../../shared/protocol.ts'
import type { RoomEvent, User } from '../../shared/schemas.ts'
import type { Session } from '../auth/sessions.ts'
import type { RealtimeConfig } from '../config.ts'
import type { DB } from '../db/schema.ts'
import type { Appender } from '../messages/appender.ts'
import type { Metrics } from '../metrics/metrics.ts'
import { countSend } from '../metrics/sends.ts'
import { canRead } from '../rooms/access.ts'
import { type ReadMarkers, receiptSnapshot } from '../rooms/read-markers.ts'
import { findRoomAccess } from '../rooms/rooms.repository.ts'
import type { FocusRegistry } from './focus.ts'
import type { FrameLimits, TokenBucket } from './frame-limits.ts'
import { encodeFrame, errorFrame, parseClientFrame } from './frames.ts'
import type { Hub, Subscriber } from './hub.ts'
import type { SendRateLimiter } from './rate-limit.ts'
import { acceptOperation, acceptSend } from './send.ts'
import {
  distinctRooms,
  eventsAfterSeq,
  fillGap,
  type HeldBytes,
  type ResumeTarget,
  type RoomCursor,
  RoomStream,
  subscribeRooms,
} from './subscribe.ts'
import { TaskQueue } from './task-queue.ts'
import type { ListSubscriber } from './user-stream.ts'

export interface ConnectionDeps {
  db: Kysely<DB>
  appender: Appender
  readMarkers: ReadMarkers
  focus: FocusRegistry
  hub: Hub
  limiter: SendRateLimiter
  frameLimits: FrameLimits
  settings: RealtimeConfig
  log: FastifyBaseLogger
  /** Open sockets, followed rooms, sends, replays, resets, slow-consumer closes (server/metrics/). */
  metrics: Metrics
  onClosed(connection: Connection): void
}

/** Live events a room may hold back during its replay before the socket counts as a slow consumer. */
const MAX_BUFFERED_EVENTS = 10 * LIMITS.resumeMaxEvents
/** Database reads (subscribe access checks, room replays) one socket may have in flight. */
const RESUME_CONCURRENCY = 2

type State = 'open' | 'closing' | 'closed'

/** Each socket's connection, for the socket listeners that every connection shares. */
const connectionOf = new WeakMap<WebSocket, Connection>()

/**
 * One socket: open → closing → closed. Parses and dispatches frames, follows
 * rooms (RoomStream per room), and guards itself: slow consumer (4008), missed
 * pongs, session end (4001), garbage (1008), binary (1003), control-frame
 * floods (`rate_limited`, then 4029). No handler error escapes to the process.
 */
export class Connection implements Subscriber, ResumeTarget, ListSubscriber {
  readonly user: PresenceUser
  // The session's parts, not the session object with its Date (~140 bytes less per socket).
  readonly sessionId: string
  /** Milliseconds since the epoch. */
  readonly sessionEndsAt: number
  readonly #author: User
  readonly #streams = new Map<string, RoomStream>()
  /** Live events held back by rooms still replaying: unsent bytes like the socket's own buffer. */
  readonly #held: HeldBytes = { bytes: 0 }
  #state: State = 'open'
  #invalidInARow = 0
  #rateLimitedInARow = 0
  #unansweredPings = 0
  // Made on first use and dropped again when the socket is idle (an idle socket is the common case):
  /** This socket's control-frame budget; none is the same as a full one (dropped by the heartbeat). */
  #frameBudget: TokenBucket | undefined
  /** Database reads for subscribes; dropped when the last one is done. */
  #resumes: TaskQueue | undefined
  /** The room this socket's person is looking at (`focus`), counted in deps.focus; null: none. */
  #focusedRoom: string | null = null
  /** Bumped by every `focus` frame: a membership check that finishes after a newer frame is dropped. */
  #focusTurn = 0

  constructor(
    readonly socket: WebSocket,
    session: Session,
    readonly deps: ConnectionDeps,
    /** The client asked for PROTOCOL_VERSION 2 or later (`?v=2`): it gets `receipts` and `read_marker`. */
    readonly speaksReceipts = false,
  ) {
    this.user = { userId: session.user.id, username: session.user.username }
    this.sessionId = session.id
    this.sessionEndsAt = session.expiresAt.getTime()
    this.#author = session.user
  }

  /**
   * ws calls its listeners with the socket as `this`: one set of functions
   * serves every socket, instead of three closures per socket (~200 bytes).
   */
  static readonly #listeners = {
    message(this: WebSocket, data: RawData, isBinary: boolean): void {
      const connection = connectionOf.get(this)
      if (connection) connection.#guard(() => connection.#onMessage(data, isBinary))
    },
    pong(this: WebSocket): void {
      const connection = connectionOf.get(this)
      if (connection) connection.#unansweredPings = 0
    },
    close(this: WebSocket): void {
      const connection = connectionOf.get(this)
      if (connection) connection.#guard(() => connection.#dispose())
    },
  }

  start(): void {
    this.deps.metrics.socketsOpen.inc()
    connectionOf.set(this.socket, this)
    const listeners = Connection.#listeners
    this.socket.on('message', listeners.message)
    this.socket.on('pong', listeners.pong)
    this.socket.on('close', listeners.close)
    this.send({
      type: 'hello',
      userId: this.user.userId,
      username: this.user.username,
      serverTime: new Date().toISOString(),
      limits: { sendRatePerSecond: this.deps.settings.sendRatePerSecond, sendBurst: this.deps.settings.sendBurst },
    })
  }

  /** Closes with a code the client acts on; the socket stops sending and following rooms at once. */
  close(code: number, reason: string): void {
    if (this.#state !== 'open') return
    this.#state = 'closing'
    this.#leaveAll()
    this.socket.close(code, reason)
  }

  terminate(): void {
    if (this.#state === 'closed') return
    this.#state = 'closing'
    this.#leaveAll()
    this.socket.terminate()
  }

  /** The session's end has come (the registry's expiry timer). */
  sessionExpired(): void {
    this.#guard(() => this.close(CLOSE_CODES.sessionEnded, 'Session expired'))
  }

  /**
   * Called on every ping interval: two pings without a pong and the socket is
   * dropped. Also lets go of what an idle socket no longer needs.
   */
  heartbeat(): void {
    if (this.#state !== 'open') return
    if (this.#unansweredPings >= 2) {
      this.deps.log.debug({ userId: this.user.userId }, 'websocket missed two pongs; terminating')
      this.terminate()
      return
    }
    this.#unansweredPings++
    this.socket.ping()
    if (this.#frameBudget?.full) this.#frameBudget = undefined
  }

  // ---- Subscriber (hub) ----

  deliver(roomId: string, events: readonly RoomEvent[], frame: Buffer): void {
    const stream = this.#streams.get(roomId)
    if (!stream || this.#state !== 'open') return
    if (stream.buffer) {
      stream.hold(events, frame.length)
      if (stream.buffer.length > MAX_BUFFERED_EVENTS || this.#unsentBytes() > this.deps.settings.maxBufferedBytes) {
        this.#slowConsumer()
      }
      return
    }
    const fresh = eventsAfterSeq(events, stream.sentUpTo)
    if (fresh.length === 0) return
    if (fresh[0]!.seq > stream.sentUpTo + 1) {
      // A hole (another node's commit announced after a later one): read it from the database, holding these back.
      stream.holdAgain()
      stream.hold(fresh, frame.length)
      fillGap(this, this.deps.db, stream, roomId)
      return
    }
    stream.sentUpTo = fresh.at(-1)!.seq
    this.#write(fresh === events ? frame : encodeFrame({ type: 'events', roomId, events: [...fresh] }))
  }

  isLive(roomId: string): boolean {
    return this.#streams.get(roomId)?.live === true
  }

  sentUpTo(roomId: string): number | undefined {
    const stream = this.#streams.get(roomId)
    return stream && !stream.buffer ? stream.sentUpTo : undefined
  }

  sendShared(frame: Buffer): void {
    this.#write(frame)
  }

  // ---- ResumeTarget (subscribe) ----

  openStream(roomId: string): RoomStream {
    const previous = this.#streams.get(roomId)
    if (previous) {
      previous.ended = true
      previous.release()
    }
    const stream = new RoomStream(this.#held)
    if (!previous) this.deps.metrics.subscriptions.inc()
    // Presence is counted once per socket and room, across subscribes of the room.
    stream.present = previous?.present ?? false
    this.#streams.set(roomId, stream)
    this.deps.hub.attach(roomId, this)
    return stream
  }

  closeStream(roomId: string): void {
    const stream = this.#streams.get(roomId)
    if (!stream) return
    stream.ended = true
    stream.release()
    this.#streams.delete(roomId)
    this.deps.metrics.subscriptions.dec()
    this.deps.hub.detach(roomId, this)
    if (stream.present) this.deps.hub.leave(roomId, this)
  }

  /** ListSubscriber (user stream): the user left the room; unreadable now (private) → `not_found` too. */
  dropRoom(roomId: string, readable: boolean): void {
    if (readable) this.closeStream(roomId)
    else this.revokeRoom(roomId)
  }

  /** Access to the room ended (left a private room): stop following it, and say why. */
  revokeRoom(roomId: string): void {
    if (this.#focusedRoom === roomId) this.#setFocus(null)
    if (!this.#streams.has(roomId)) return
    this.closeStream(roomId)
    this.send(errorFrame('not_found', 'No such room', { roomId }))
  }

  send(frame: ServerFrame | OperationAckFrame): void {
    this.#write(encodeFrame(frame))
  }

  get resumeMaxEvents(): number | undefined {
    return this.deps.settings.resumeMaxEvents
  }

  get metrics(): Metrics {
    return this.deps.metrics
  }

  get replayFrameBytes(): number {
    return Math.max(1, Math.floor(this.deps.settings.maxBufferedBytes / 4))
  }

  /** Replay bytes count toward the send-buffer cap like live ones: a socket that cannot take its replay is a slow consumer. */
  sendReplay(encoded: string): Promise<void> {
    if (this.#state !== 'open') return Promise.resolve()
    const unsent = this.#unsentBytes()
    if (unsent > 0 && unsent + Buffer.byteLength(encoded) > this.deps.settings.maxBufferedBytes) {
      this.#slowConsumer()
      return Promise.resolve()
    }
    return new Promise((resolve) => {
      try {
        this.socket.send(encoded, () => resolve())
      } catch (error) {
        this.deps.log.error({ err: error, userId: this.user.userId }, 'websocket send failed')
        this.terminate()
        resolve()
      }
    })
  }

  schedule(task: () => Promise<void>): void {
    if (this.#state !== 'open') return
    if (!this.#resumes) {
      const queue = new TaskQueue(RESUME_CONCURRENCY, () => {
        if (this.#resumes === queue) this.#resumes = undefined
      })
      this.#resumes = queue
    }
    this.#resumes.run(task)
  }

  failed(error: unknown, roomId: string): void {
    this.#failed(error, errorFrame('internal', 'Could not subscribe; try again', { roomId }))
  }

  /**
   * Step 7. Presence counts members only ("3 online" beside "12 members"): anyone may follow a
   * public room without joining, and gets the snapshot, but is not counted until they join.
   */
  goLive(roomId: string): void {
    const stream = this.#streams.get(roomId)
    if (stream?.canWrite) this.#countPresent(roomId, stream)
    this.send({ type: 'presence', roomId, users: this.deps.hub.presentUsers(roomId) })
    if (this.speaksReceipts && stream) this.schedule(() => this.#sendReceiptSnapshot(roomId, stream))
  }

  /** Who has read how far, once per subscribe; live `receipts` may overtake it, and the client keeps the highest per reader. */
  async #sendReceiptSnapshot(roomId: string, stream: RoomStream): Promise<void> {
    try {
      const readers = await receiptSnapshot(this.deps.db, roomId)
      if (readers.length > 0 && this.#streams.get(roomId) === stream) this.send({ type: 'receipts', roomId, readers })
    } catch (error) {
      // Markers are a courtesy: the next live `receipts` brings them; the room itself works on.
      this.deps.log.error({ err: error, userId: this.user.userId, roomId }, 'receipt snapshot failed')
    }
  }

  /** ListSubscriber (user stream): the user joined the room; if this socket follows it already, count them present now. */
  joinedRoom(roomId: string): void {
    const stream = this.#streams.get(roomId)
    if (!stream) return
    stream.canWrite = true
    if (stream.live) this.#countPresent(roomId, stream)
  }

  #countPresent(roomId: string, stream: RoomStream): void {
    if (stream.present) return
    stream.present = true
    this.deps.hub.join(roomId, this)
  }

  // ---- frames ----

  #onMessage(data: RawData, isBinary: boolean): void {
    if (this.#state !== 'open') return
    if (isBinary) {
      this.close(CLOSE_CODES.unsupportedData, 'Ferry speaks JSON text frames only')
      return
    }
    const parsed = parseClientFrame(data.toString())
    if (!parsed.ok) {
      if (++this.#invalidInARow >= LIMITS.wsMaxInvalidFrames) {
        this.close(CLOSE_CODES.policyViolation, 'Too many invalid frames')
      } else {
        this.send(parsed.error)
      }
      return
    }
    this.#invalidInARow = 0
    this.#dispatch(parsed.frame)
  }

  #dispatch(frame: ClientFrame): void {
    switch (frame.type) {
      case 'subscribe': {
        const rooms = distinctRooms(frame.rooms)
        if (this.#admit(rooms.length)) subscribeRooms(this, this.deps.db, this.#withinRoomBound(rooms))
        return
      }
      case 'unsubscribe':
        if (!this.#admit(0)) return
        for (const roomId of frame.roomIds) this.closeStream(roomId)
        return
      case 'ping':
        if (this.#admit(0)) this.send({ type: 'pong', id: frame.id })
        return
      case 'send':
      case 'edit':
      case 'delete':
      case 'react': {
        const ids = { clientId: frame.clientId, roomId: frame.roomId }
        // Operations spend the same per-user bucket as sends: each is one write to the log.
        const retryAfterMs = this.deps.limiter.take(this.user.userId)
        if (retryAfterMs > 0) {
          countSend(this.deps.metrics, 'ws', { ok: false, code: 'rate_limited' })
          const what = frame.type === 'send' ? 'messages' : 'changes'
          this.send(
            errorFrame('rate_limited', `Too many ${what}; retry in ${retryAfterMs} ms`, { ...ids, retryAfterMs }),
          )
          return
        }
        const answer =
          frame.type === 'send'
            ? acceptSend(this.deps.db, this.deps.appender, this.#session(), frame)
            : acceptOperation(this.deps.db, this.deps.appender, this.#session(), frame)
        answer.then(
          (reply) => {
            countSend(
              this.deps.metrics,
              'ws',
              reply.type === 'ack' ? { ok: true, duplicate: reply.duplicate } : { ok: false, code: reply.code },
            )
            this.send(reply)
          },
          (error) => {
            countSend(this.deps.metrics, 'ws', { ok: false, code: 'internal' })
            this.#failed(error, errorFrame('internal', 'Not stored; send it again', ids))
          },
        )
        return
      }
      case 'read':
        if (!this.#admit(0)) return
        this.#read(frame).catch((error) =>
          this.#failed(error, errorFrame('internal', 'Could not mark the room read', { roomId: frame.roomId })),
        )
        return
      case 'focus':
        if (!this.#admit(0)) return
        this.#focus(frame.roomId).catch((error) => {
          // No answer is due; a failed check leaves the socket unfocused, so pushes still go out.
          this.deps.log.error({ err: error, userId: this.user.userId }, 'websocket focus failed')
        })
        return
      case 'typing':
        if (!this.#admit(0)) return
        this.#typing(frame).catch((error) =>
          this.#failed(error, errorFrame('internal', 'Could not relay typing', { roomId: frame.roomId })),
        )
        return
    }
  }

  /**
   * Control frames spend this socket's and this user's budgets (a subscribe
   * one token per room too). Over budget → `rate_limited` with retryAfterMs;
   * a client that keeps going regardless is closed with 4029.
   */
  #admit(rooms: number): boolean {
    this.#frameBudget ??= this.deps.frameLimits.socketBucket()
    const retryAfterMs = this.deps.frameLimits.admit(this.#frameBudget, this.user.userId, rooms)
    if (retryAfterMs === 0) {
      this.#rateLimitedInARow = 0
      return true
    }
    if (++this.#rateLimitedInARow >= LIMITS.wsMaxRateLimitedFrames) {
      this.close(CLOSE_CODES.tooManyFrames, 'Too many frames: back off, then reconnect')
    } else {
      this.send(errorFrame('rate_limited', `Too many frames; retry in ${retryAfterMs} ms`, { retryAfterMs }))
    }
    return false
  }

  /** Rooms past LIMITS.wsMaxRoomsPerSocket are refused one by one; rooms already followed always resume. */
  #withinRoomBound(rooms: readonly RoomCursor[]): RoomCursor[] {
    let following = this.#streams.size
    return rooms.filter(({ roomId }) => {
      if (this.#streams.has(roomId)) return true
      if (following < LIMITS.wsMaxRoomsPerSocket) {
        following++
        return true
      }
      this.send(
        errorFrame(
          'bad_request',
          `A socket follows at most ${LIMITS.wsMaxRoomsPerSocket} rooms; unsubscribe some first`,
          {
            roomId,
          },
        ),
      )
      return false
    })
  }

  async #typing({ roomId }: { roomId: string }): Promise<void> {
    const stream = this.#streams.get(roomId)
    if (!stream?.live) {
      this.send(errorFrame('bad_request', 'Subscribe to the room before typing in it', { roomId }))
      return
    }
    if (!stream.canWrite) {
      // Membership may have begun since the subscribe (joined over HTTP): look again.
      const room = await findRoomAccess(this.deps.db, this.user.userId, roomId)
      stream.canWrite = room?.role != null
    }
    if (!stream.canWrite) this.send(errorFrame('not_member', 'Join the room before typing in it', { roomId }))
    else if (this.#streams.get(roomId) === stream) this.deps.hub.typing(roomId, this.user)
  }

  /**
   * `focus` (docs/PUSH.md): the room counts only if the user is a member (a
   * public room read without joining sends no pushes anyway); otherwise, and
   * for `null`, the socket is focused on nothing. No answer.
   */
  async #focus(roomId: string | null): Promise<void> {
    const turn = ++this.#focusTurn
    if (roomId === null || roomId === this.#focusedRoom) {
      if (roomId === null) this.#setFocus(null)
      return
    }
    this.#setFocus(null)
    let member = this.#streams.get(roomId)?.canWrite === true
    if (!member) member = (await findRoomAccess(this.deps.db, this.user.userId, roomId))?.role != null
    if (member && turn === this.#focusTurn && this.#state === 'open') this.#setFocus(roomId)
  }

  #setFocus(roomId: string | null): void {
    if (this.#focusedRoom !== null) this.deps.focus.remove(this.#focusedRoom, this.user.userId)
    this.#focusedRoom = roomId
    if (roomId !== null) this.deps.focus.add(roomId, this.user.userId)
  }

  /** Members only; the marker is raised in memory and written with the next flush (no answer: forward-only, idempotent). */
  async #read({ roomId, seq }: ReadFrame): Promise<void> {
    const stream = this.#streams.get(roomId)
    if (!stream?.canWrite) {
      // Not followed on this socket, or membership began since the subscribe: look.
      const room = await findRoomAccess(this.deps.db, this.user.userId, roomId)
      if (!canRead(room)) {
        this.send(errorFrame('not_found', 'No such room', { roomId }))
        return
      }
      if (room.role === null) {
        this.send(errorFrame('not_member', 'Join the room before marking it read', { roomId }))
        return
      }
      if (stream) stream.canWrite = true
    }
    this.deps.readMarkers.raise(roomId, this.user.userId, seq)
  }

  // ---- plumbing ----

  /** Never throws: callers include promise callbacks and the hub's fan-out. */
  #write(data: string | Buffer): void {
    if (this.#state !== 'open') return
    try {
      this.socket.send(data, { binary: false })
      if (this.#unsentBytes() > this.deps.settings.maxBufferedBytes) this.#slowConsumer()
    } catch (error) {
      this.deps.log.error({ err: error, userId: this.user.userId }, 'websocket send failed')
      this.terminate()
    }
  }

  /** What this socket holds and has not sent: its own buffer plus live events held back during replays. */
  #unsentBytes(): number {
    return this.socket.bufferedAmount + this.#held.bytes
  }

  #slowConsumer(): void {
    if (this.#state === 'open') this.deps.metrics.slowConsumerCloses.inc()
    this.deps.log.debug({ userId: this.user.userId }, 'websocket slow consumer; closing')
    this.close(CLOSE_CODES.slowConsumer, 'Too far behind: reconnect and resume from your last seq')
  }

  #leaveAll(): void {
    this.#setFocus(null)
    this.#resumes?.clear()
    for (const roomId of [...this.#streams.keys()]) this.closeStream(roomId)
  }

  #dispose(): void {
    if (this.#state === 'closed') return
    this.#state = 'closed'
    this.#leaveAll()
    this.deps.metrics.socketsOpen.dec()
    this.deps.onClosed(this)
  }

  #session(): Session {
    return { id: this.sessionId, user: this.#author, expiresAt: new Date(this.sessionEndsAt) }
  }

  #failed(error: unknown, answer: ServerFrame): void {
    this.deps.log.error({ err: error, userId: this.user.userId }, 'websocket frame failed')
    this.send(answer)
  }

  #guard(action: () => void): void {
    try {
      action()
    } catch (error) {
      this.deps.log.error({ err: error, userId: this.user.userId }, 'websocket handler failed')
    }
  }
}
