import type { FastifyBaseLogger } from 'fastify'
import type { Kysely } from 'kysely'
import type { RawData, WebSocket } from 'ws'
import { CLOSE_CODES } from '../../shared/errors.ts'
import { LIMITS } from '../../shared/limits.ts'
import type { ClientFrame, PresenceUser, ServerFrame } from '../../shared/protocol.ts'
import type { RoomEvent } from '../../shared/schemas.ts'
import type { Session } from '../auth/sessions.ts'
import type { RealtimeConfig } from '../config.ts'
import type { DB } from '../db/schema.ts'
import type { Appender } from '../messages/appender.ts'
import { findRoomAccess } from '../rooms/rooms.repository.ts'
import { encodeFrame, errorFrame, parseClientFrame } from './frames.ts'
import type { Hub, Subscriber } from './hub.ts'
import type { SendRateLimiter } from './rate-limit.ts'
import { acceptSend } from './send.ts'
import { eventsAfterSeq, type ResumeTarget, RoomStream, resumeRoom } from './subscribe.ts'

export interface ConnectionDeps {
  db: Kysely<DB>
  appender: Appender
  hub: Hub
  limiter: SendRateLimiter
  settings: RealtimeConfig
  log: FastifyBaseLogger
  onClosed(connection: Connection): void
}

/** Live events a room may hold back during its replay before the socket counts as a slow consumer. */
const MAX_BUFFERED_EVENTS = 10 * LIMITS.resumeMaxEvents
/** setTimeout's longest delay; a session that lives longer is re-armed. */
const MAX_TIMER_MS = 2 ** 31 - 1

type State = 'open' | 'closing' | 'closed'

/**
 * One socket: open → closing → closed. Parses and dispatches frames, follows
 * rooms (RoomStream per room), and guards itself: slow consumer (4008), missed
 * pongs, session end (4001), garbage (1008), binary (1003). No handler error
 * escapes to the process.
 */
export class Connection implements Subscriber, ResumeTarget {
  readonly user: PresenceUser
  readonly #streams = new Map<string, RoomStream>()
  readonly #present = new Set<string>()
  #state: State = 'open'
  #invalidInARow = 0
  #unansweredPings = 0
  /** Replay bytes not yet handed to the kernel; the slow-consumer cap counts only live traffic. */
  #replayBytes = 0
  #expiryTimer: ReturnType<typeof setTimeout> | undefined

  constructor(
    readonly socket: WebSocket,
    readonly session: Session,
    readonly deps: ConnectionDeps,
  ) {
    this.user = { userId: session.user.id, username: session.user.username }
  }

  start(): void {
    this.socket.on('message', (data, isBinary) => this.#guard(() => this.#onMessage(data, isBinary)))
    this.socket.on('pong', () => {
      this.#unansweredPings = 0
    })
    this.socket.on('close', () => this.#guard(() => this.#dispose()))
    this.#armExpiry()
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

  /** Called on every ping interval: two pings without a pong and the socket is dropped. */
  heartbeat(): void {
    if (this.#state !== 'open') return
    if (this.#unansweredPings >= 2) {
      this.deps.log.debug({ userId: this.user.userId }, 'websocket missed two pongs; terminating')
      this.terminate()
      return
    }
    this.#unansweredPings++
    this.socket.ping()
  }

  // ---- Subscriber (hub) ----

  deliver(roomId: string, events: readonly RoomEvent[], frame: Buffer): void {
    const stream = this.#streams.get(roomId)
    if (!stream || this.#state !== 'open') return
    if (stream.buffer) {
      for (const event of events) stream.buffer.push(event)
      if (stream.buffer.length > MAX_BUFFERED_EVENTS) this.#slowConsumer()
      return
    }
    const fresh = eventsAfterSeq(events, stream.sentUpTo)
    if (fresh.length === 0) return
    stream.sentUpTo = fresh.at(-1)!.seq
    this.#write(fresh === events ? frame : encodeFrame({ type: 'events', roomId, events: [...fresh] }))
  }

  isLive(roomId: string): boolean {
    return this.#streams.get(roomId)?.live === true
  }

  sendShared(frame: Buffer): void {
    this.#write(frame)
  }

  // ---- ResumeTarget (subscribe) ----

  openStream(roomId: string): RoomStream {
    const previous = this.#streams.get(roomId)
    if (previous) previous.ended = true
    const stream = new RoomStream()
    this.#streams.set(roomId, stream)
    this.deps.hub.attach(roomId, this)
    return stream
  }

  closeStream(roomId: string): void {
    const stream = this.#streams.get(roomId)
    if (!stream) return
    stream.ended = true
    this.#streams.delete(roomId)
    this.deps.hub.detach(roomId, this)
    if (this.#present.delete(roomId)) this.deps.hub.leave(roomId, this)
  }

  /** Access to the room ended (left a private room): stop following it, and say why. */
  revokeRoom(roomId: string): void {
    if (!this.#streams.has(roomId)) return
    this.closeStream(roomId)
    this.send(errorFrame('not_found', 'No such room', { roomId }))
  }

  send(frame: ServerFrame): void {
    this.#write(encodeFrame(frame))
  }

  sendReplay(encoded: string): Promise<void> {
    if (this.#state !== 'open') return Promise.resolve()
    const bytes = Buffer.byteLength(encoded)
    this.#replayBytes += bytes
    return new Promise((resolve) => {
      this.socket.send(encoded, () => {
        this.#replayBytes -= bytes
        resolve()
      })
    })
  }

  goLive(roomId: string): void {
    if (!this.#present.has(roomId)) {
      this.#present.add(roomId)
      this.deps.hub.join(roomId, this)
    }
    this.send({ type: 'presence', roomId, users: this.deps.hub.presentUsers(roomId) })
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
      case 'subscribe':
        for (const { roomId, after } of frame.rooms) {
          resumeRoom(this, this.deps.db, roomId, after).catch((error) =>
            this.#failed(error, errorFrame('internal', 'Could not subscribe; try again', { roomId })),
          )
        }
        return
      case 'unsubscribe':
        for (const roomId of frame.roomIds) this.closeStream(roomId)
        return
      case 'send': {
        const ids = { clientId: frame.clientId, roomId: frame.roomId }
        const retryAfterMs = this.deps.limiter.take(this.user.userId)
        if (retryAfterMs > 0) {
          this.send(
            errorFrame('rate_limited', `Too many messages; retry in ${retryAfterMs} ms`, { ...ids, retryAfterMs }),
          )
          return
        }
        acceptSend(this.deps.db, this.deps.appender, this.session, frame).then(
          (answer) => this.send(answer),
          (error) => this.#failed(error, errorFrame('internal', 'Not stored; send it again', ids)),
        )
        return
      }
      case 'typing':
        this.#typing(frame).catch((error) =>
          this.#failed(error, errorFrame('internal', 'Could not relay typing', { roomId: frame.roomId })),
        )
        return
    }
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

  // ---- plumbing ----

  /** Never throws: callers include promise callbacks and the hub's fan-out. */
  #write(data: string | Buffer): void {
    if (this.#state !== 'open') return
    try {
      this.socket.send(data, { binary: false })
      if (this.socket.bufferedAmount - this.#replayBytes > this.deps.settings.maxBufferedBytes) this.#slowConsumer()
    } catch (error) {
      this.deps.log.error({ err: error, userId: this.user.userId }, 'websocket send failed')
      this.terminate()
    }
  }

  #slowConsumer(): void {
    this.deps.log.debug({ userId: this.user.userId }, 'websocket slow consumer; closing')
    this.close(CLOSE_CODES.slowConsumer, 'Too far behind: reconnect and resume from your last seq')
  }

  #armExpiry(): void {
    const remaining = this.session.expiresAt.getTime() - Date.now()
    if (remaining <= 0) {
      this.close(CLOSE_CODES.sessionEnded, 'Session expired')
      return
    }
    this.#expiryTimer = setTimeout(() => this.#guard(() => this.#armExpiry()), Math.min(remaining, MAX_TIMER_MS))
  }

  #leaveAll(): void {
    for (const roomId of [...this.#streams.keys()]) this.closeStream(roomId)
  }

  #dispose(): void {
    if (this.#state === 'closed') return
    this.#state = 'closed'
    clearTimeout(this.#expiryTimer)
    this.#leaveAll()
    this.deps.onClosed(this)
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
