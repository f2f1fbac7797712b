/**
 * Sends the outbox over the socket (leader tab only).
 *
 * 1. Items go out in outbox order, so each room keeps the order they were written in.
 * 2. Up to `window` frames are in flight at once (pipelined), paced by a token bucket.
 * 3. An ack settles the item (outbox → log, one transaction).
 * 4. A permanent refusal marks only that item failed; the rest keep going.
 * 5. A transient refusal (rate limited, server busy) pauses sending and retries
 *    in order later; the clientId makes every resend safe.
 * 6. On disconnect everything in flight is forgotten and resent in order after reconnecting.
 */
import type { ErrorCode } from '../../shared/errors.ts'
import { LIMITS } from '../../shared/limits.ts'
import type { AckFrame, ErrorFrame, SendFrame } from '../../shared/protocol.ts'
import type { StoredBatch } from '../db/messages.ts'
import type { FerryDatabase, OutboxItem } from '../db/schema.ts'
import { fullJitter } from '../sync/backoff.ts'
import { listOutbox, markFailed, settle } from './store.ts'
import { TokenBucket } from './token-bucket.ts'

const TRANSIENT: ReadonlySet<ErrorCode> = new Set(['rate_limited', 'unavailable', 'internal'])

export interface FlusherEvents {
  /** The outbox changed (an item settled or failed). */
  onOutboxChange: () => void
  /** An item was acknowledged and stored in the log. */
  onSettled: (roomId: string, stored: StoredBatch) => void
}

export interface FlusherOptions {
  window?: number
  now?: () => number
  bucket?: TokenBucket
  setTimer?: (fn: () => void, ms: number) => unknown
}

export class OutboxFlusher {
  private readonly inFlight = new Map<string, number>()
  private send: ((frame: SendFrame) => boolean) | null = null
  private pausedUntil = 0
  private transientFailures = 0
  private pumping: Promise<void> | null = null
  private again = false
  private timerPending = false
  private readonly window: number
  private readonly now: () => number
  private readonly bucket: TokenBucket
  private readonly setTimer: (fn: () => void, ms: number) => unknown

  constructor(
    private readonly db: FerryDatabase,
    private readonly events: FlusherEvents,
    options: FlusherOptions = {},
  ) {
    this.window = options.window ?? 64
    this.now = options.now ?? (() => Date.now())
    this.bucket = options.bucket ?? new TokenBucket(LIMITS.sendRatePerSecond, LIMITS.sendBurst, this.now)
    this.setTimer = options.setTimer ?? ((fn, ms) => setTimeout(fn, ms))
  }

  /** Paces to the send limits the server announced. */
  setRate(ratePerSecond: number, burst: number): void {
    this.bucket.configure(ratePerSecond, burst)
  }

  /** The socket is ready (after hello); `send` returns false when it is not open. */
  connected(send: (frame: SendFrame) => boolean): void {
    this.send = send
    this.inFlight.clear()
    void this.pump()
  }

  disconnected(): void {
    this.send = null
    this.inFlight.clear()
  }

  /** Age in ms of the oldest unacknowledged frame (0 when none): a silent socket shows here. */
  oldestInFlightAge(): number {
    let oldest = Number.POSITIVE_INFINITY
    for (const sentAt of this.inFlight.values()) oldest = Math.min(oldest, sentAt)
    return oldest === Number.POSITIVE_INFINITY ? 0 : this.now() - oldest
  }

  get inFlightCount(): number {
    return this.inFlight.size
  }

  /** Sends what can be sent now; concurrent calls coalesce into one more pass. */
  pump(): Promise<void> {
    if (this.pumping) {
      this.again = true
      return this.pumping
    }
    this.pumping = (async () => {
      do {
        this.again = false
        await this.pass()
      } while (this.again)
    })().finally(() => {
      this.pumping = null
    })
    return this.pumping
  }

  private later(ms: number): void {
    if (this.timerPending) return
    this.timerPending = true
    this.setTimer(() => {
      this.timerPending = false
      void this.pump()
    }, ms)
  }

  private async pass(): Promise<void> {
    if (!this.send) return
    // Refill the pipeline once half of it has drained, not after every ack:
    // each refill reads the whole outbox, and a long queue would make that quadratic.
    if (this.inFlight.size > this.window / 2) return
    const pause = this.pausedUntil - this.now()
    if (pause > 0) return this.later(pause)
    const queue: OutboxItem[] = await listOutbox(this.db)
    for (const item of queue) {
      if (item.state !== 'waiting' || this.inFlight.has(item.clientId)) continue
      if (this.inFlight.size >= this.window) return
      if (!this.bucket.take()) return this.later(this.bucket.wait())
      const sent = this.send?.({ type: 'send', roomId: item.roomId, clientId: item.clientId, body: item.body })
      if (!sent) return
      this.inFlight.set(item.clientId, this.now())
    }
  }

  async handleAck(frame: AckFrame): Promise<void> {
    this.inFlight.delete(frame.clientId)
    this.transientFailures = 0
    const stored = await settle(this.db, frame.message)
    this.events.onSettled(frame.roomId, stored)
    this.events.onOutboxChange()
    void this.pump()
  }

  /** Returns true when the error frame belonged to one of our sends. */
  async handleError(frame: ErrorFrame): Promise<boolean> {
    if (!frame.clientId) return false
    this.inFlight.delete(frame.clientId)
    if (TRANSIENT.has(frame.code)) {
      this.transientFailures += 1
      const backoff = frame.retryAfterMs ?? fullJitter(this.transientFailures, 500, 30_000)
      this.pausedUntil = this.now() + Math.max(backoff, 100)
      if (frame.code === 'rate_limited') this.bucket.drain()
      // Everything behind it in the pipeline is resent after the pause, still in order.
      this.inFlight.clear()
      this.later(this.pausedUntil - this.now())
      return true
    }
    await markFailed(this.db, frame.clientId, { code: frame.code, message: frame.message })
    this.events.onOutboxChange()
    void this.pump()
    return true
  }
}
