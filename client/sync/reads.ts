/**
 * Sends the person's read markers (docs/PROTOCOL.md, "Read receipts" step 1), in the leader tab.
 *
 * Any tab that sees the person read writes the highest seq read on the room's row
 * (`readPending`, IndexedDB: it survives reloads and coalesces by itself, only the highest per
 * room is kept) and asks the leader (`read` tab message). Here, per room:
 * - over the greeted socket as a `read` frame, at most once per `readReceiptIntervalMs`, at
 *   once when the room was hidden or closed (`now`); a seq already sent on this socket is not
 *   sent again (the server's `read_marker` clears the row when its flush has written it);
 * - with no greeted socket, `POST /api/rooms/:roomId/read` (the fallback): the answer clears
 *   the row; offline or a busy server leave it for the next chance.
 * Every new socket sends every marker still waiting (a server that crashed before its flush
 * lost them). Frames are paced by a small bucket, so a device that read many rooms offline
 * does not spend the socket's whole control-frame budget (subscribes and pings need it).
 */
import type { ReadResponse } from '../../shared/api.ts'
import { LIMITS } from '../../shared/limits.ts'
import type { ClientFrame } from '../../shared/protocol.ts'
import { ApiError, api, isTransient } from '../api/http.ts'
import { confirmRead, dropReadPending, getCachedRoom, pendingReads } from '../db/rooms.ts'
import type { FerryDatabase } from '../db/schema.ts'
import { TokenBucket } from '../outbox/token-bucket.ts'

/** Read frames per second and burst: a quarter of a socket's control-frame budget (shared/limits.ts). */
const READ_FRAMES_PER_SECOND = 2
const READ_FRAME_BURST = 10

export interface ReadSenderDeps {
  db: FerryDatabase
  /** Sends a frame on the greeted socket; false when there is none. */
  send: (frame: ClientFrame) => boolean
  /** A socket that said hello. */
  greeted: () => boolean
  /** The room list changed (a marker confirmed over HTTP). */
  changed: () => void
  warn: (context: string, error: unknown) => void
  now?: () => number
}

export class ReadSender {
  /** Room → when its last `read` frame went out. */
  private readonly lastSentAt = new Map<string, number>()
  /** Room → the seq sent on this socket (not sent again on it). */
  private readonly sentOnSocket = new Map<string, number>()
  private readonly timers = new Map<string, ReturnType<typeof setTimeout>>()
  private readonly bucket: TokenBucket
  private readonly now: () => number
  private posting: Promise<void> | null = null
  private retryTimer: ReturnType<typeof setTimeout> | null = null
  private stopped = false

  constructor(private readonly deps: ReadSenderDeps) {
    this.now = deps.now ?? (() => Date.now())
    this.bucket = new TokenBucket(READ_FRAMES_PER_SECOND, READ_FRAME_BURST, this.now)
  }

  /** A marker of `roomId` waits on its row; `now`: the room was hidden or closed, send without waiting. */
  want(roomId: string, now = false): void {
    if (this.stopped) return
    if (!this.deps.greeted()) {
      this.postAll()
      return
    }
    const due = (this.lastSentAt.get(roomId) ?? Number.NEGATIVE_INFINITY) + LIMITS.readReceiptIntervalMs
    const wait = now ? this.bucket.wait() : Math.max(due - this.now(), this.bucket.wait())
    if (wait <= 0) {
      this.clearTimer(roomId)
      void this.sendRoom(roomId)
      return
    }
    // A timer already set for this room sends whatever is highest when it fires.
    if (this.timers.has(roomId) && !now) return
    this.clearTimer(roomId)
    this.timers.set(
      roomId,
      setTimeout(() => {
        this.timers.delete(roomId)
        this.want(roomId)
      }, wait),
    )
  }

  /** A new greeted socket: everything still waiting goes out on it (paced). */
  greetedSocket(): void {
    this.sentOnSocket.clear()
    this.sendWaiting()
  }

  /**
   * A control frame was refused (`rate_limited`, naming no room): it may have been a `read`.
   * Everything still waiting goes again after the server's hint, from an empty bucket.
   */
  frameRefused(retryAfterMs: number): void {
    this.sentOnSocket.clear()
    this.bucket.drain()
    if (this.retryTimer !== null || this.stopped) return
    this.retryTimer = setTimeout(
      () => {
        this.retryTimer = null
        this.sendWaiting()
      },
      Math.max(retryAfterMs, LIMITS.readReceiptIntervalMs),
    )
  }

  /** Back online: what waits goes out (over HTTP when the socket is not up yet). */
  sendWaiting(): void {
    if (this.stopped) return
    if (!this.deps.greeted()) {
      this.postAll()
      return
    }
    pendingReads(this.deps.db).then(
      (waiting) => {
        for (const { roomId } of waiting) this.want(roomId)
      },
      (error: unknown) => this.deps.warn('reading the read markers to send', error),
    )
  }

  /** The socket is gone: what it was sent may not have been written, so the next one sends it again. */
  socketLost(): void {
    this.sentOnSocket.clear()
  }

  /** The server refused to mark this room (not a member, no such room): asking again would not help. */
  refused(roomId: string): void {
    this.clearTimer(roomId)
    const drop = async () => {
      if ((await getCachedRoom(this.deps.db, roomId))?.readPending === undefined) return
      await dropReadPending(this.deps.db, roomId)
      this.deps.changed()
    }
    drop().catch((error: unknown) => this.deps.warn(`dropping the read marker of room ${roomId}`, error))
  }

  stop(): void {
    this.stopped = true
    for (const timer of this.timers.values()) clearTimeout(timer)
    this.timers.clear()
    if (this.retryTimer !== null) clearTimeout(this.retryTimer)
    this.retryTimer = null
  }

  private clearTimer(roomId: string): void {
    const timer = this.timers.get(roomId)
    if (timer !== undefined) clearTimeout(timer)
    this.timers.delete(roomId)
  }

  private async sendRoom(roomId: string): Promise<void> {
    let seq: number | undefined
    try {
      seq = (await getCachedRoom(this.deps.db, roomId))?.readPending
    } catch (error) {
      this.deps.warn(`reading the read marker of room ${roomId}`, error)
      return
    }
    if (seq === undefined || this.stopped) return
    if ((this.sentOnSocket.get(roomId) ?? 0) >= seq) return
    if (!this.deps.greeted()) {
      this.postAll()
      return
    }
    // Checked again after the read: another room may have taken the token meanwhile.
    if (!this.bucket.take()) {
      this.want(roomId)
      return
    }
    if (!this.deps.send({ type: 'read', roomId, seq })) return
    this.lastSentAt.set(roomId, this.now())
    this.sentOnSocket.set(roomId, seq)
  }

  /** The HTTP fallback: one POST per room still waiting; one run at a time. */
  private postAll(): void {
    if (this.posting) return
    this.posting = this.postWaiting()
      .catch((error: unknown) => this.deps.warn('posting read markers', error))
      .finally(() => {
        this.posting = null
      })
  }

  private async postWaiting(): Promise<void> {
    const db = this.deps.db
    let changed = false
    for (const { roomId, seq } of await pendingReads(db)) {
      if (this.stopped || this.deps.greeted()) break
      try {
        const answer = await api<ReadResponse>('POST', `/api/rooms/${roomId}/read`, { seq })
        await confirmRead(db, roomId, seq, answer)
        changed = true
      } catch (error) {
        // Offline, timed out or busy: expected on a flaky link; the marker waits on the row for the next chance.
        if (isTransient(error)) break
        // Signed out: the session code shows that; the marker is for the same person's next session.
        if (error instanceof ApiError && error.status === 401) break
        // Refused for this room (left it, gone): asking again would not help.
        this.deps.warn(`read marker for room ${roomId} refused; dropped`, error)
        await dropReadPending(db, roomId)
        changed = true
      }
    }
    if (changed) this.deps.changed()
  }
}
