/**
 * Sends the outbox over the socket (leader tab only).
 *
 * 1. Items go out in outbox order, up to `window` frames in flight at once
 *    (pipelined), paced by a token bucket.
 * 2. Every send names, in `afterClientId`, the nearest earlier item of the same
 *    room that is still waiting (sent or not), recomputed on every (re)send; the
 *    server stores it only after that one (docs/PROTOCOL.md "Sender order"), so
 *    a refused-then-resent message can never land after a later one.
 * 3. Answers are handled per item: an ack settles the item (outbox → log, one
 *    transaction); a permanent refusal marks only that item failed; a
 *    transient one (rate limited, overloaded, server trouble) pauses sending
 *    and the item is resent in order later; `out_of_order` means its
 *    predecessor is just behind it: resent after that one, with no backoff.
 *    An error for a clientId that is not in flight (stale) is ignored.
 * 4. An item is marked `sentAt` in IndexedDB (one transaction per pass) before
 *    its frame leaves, so it cannot be edited or discarded while the server may
 *    already hold it. A refusal (nothing stored) takes the mark back; a
 *    disconnect does not (the outcome is unknown): the next send of the item,
 *    after reconnecting, gets the answer that settles or clears it.
 * 5. On disconnect the in-flight set is forgotten and everything unacked is
 *    resent in order after reconnecting; the clientId makes every resend safe.
 */

import type { OperationAckFrame } from '../../shared/conversation/requests.ts'
import type { ErrorCode } from '../../shared/errors.ts'
import { LIMITS } from '../../shared/limits.ts'
import type { AckFrame, ErrorFrame } from '../../shared/protocol.ts'
import type { StoredBatch } from '../db/messages.ts'
import type { FerryDatabase, OutboxItem } from '../db/schema.ts'
import { entryFromAck } from '../log/entry.ts'
import { fullJitter } from '../sync/backoff.ts'
import { frameOf, type OutgoingFrame } from './operations.ts'
import { claimForSending, markFailed, settle, type Unmark, unmarkSent } from './store.ts'
import { TokenBucket } from './token-bucket.ts'

/** Refusals after which the same clientId is sent again (after a pause); every other code fails the item. */
const TRANSIENT: ReadonlySet<ErrorCode> = new Set(['rate_limited', 'overloaded', 'unavailable', 'internal'])

export interface FlusherEvents {
  /** The outbox changed (an item settled, failed, or was marked sent or unmarked). */
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

interface Flight {
  /** The mark written for this send (unique per flusher, so a later send's mark is never taken back by mistake). */
  sentAt: number
  /** The predecessor this send named. */
  after: string | undefined
}

interface Chosen {
  item: OutboxItem
  after: string | undefined
}

export class OutboxFlusher {
  private readonly inFlight = new Map<string, Flight>()
  /** Refused `out_of_order` while the item it named was still in flight: resent once that one is answered. */
  private readonly holds = new Map<string, string>()
  private send: ((frame: OutgoingFrame) => boolean) | null = null
  /** Bumped on every connect and disconnect: work started on an older socket does not touch the new one. */
  private epoch = 0
  private lastStamp = 0
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
  connected(send: (frame: OutgoingFrame) => boolean): void {
    this.epoch += 1
    this.send = send
    this.inFlight.clear()
    this.holds.clear()
    this.kick('connected')
  }

  disconnected(): void {
    this.epoch += 1
    this.send = null
    this.inFlight.clear()
    this.holds.clear()
  }

  /** Age in ms of the oldest unacknowledged frame (0 when none): a silent socket shows here. */
  oldestInFlightAge(): number {
    let oldest = Number.POSITIVE_INFINITY
    for (const { sentAt } of this.inFlight.values()) oldest = Math.min(oldest, sentAt)
    return oldest === Number.POSITIVE_INFINITY ? 0 : Math.max(0, this.now() - oldest)
  }

  get inFlightCount(): number {
    return this.inFlight.size
  }

  /**
   * Sends what can be sent now; concurrent calls coalesce into one more pass.
   * Never rejects: a pass that fails (IndexedDB refused) is reported and tried again later.
   */
  pump(): Promise<void> {
    if (this.pumping) {
      this.again = true
      return this.pumping
    }
    this.pumping = (async () => {
      do {
        this.again = false
        try {
          await this.pass()
        } catch (error) {
          console.error('[ferry] outbox: a send pass failed; trying again in 1 s', error)
          this.later(1_000)
          return
        }
      } while (this.again)
    })().finally(() => {
      this.pumping = null
    })
    return this.pumping
  }

  /** A pump nobody waits for: its failure is reported, never swallowed. */
  private kick(why: string): void {
    this.pump().catch((error: unknown) => console.error(`[ferry] outbox: sending failed (${why})`, error))
  }

  private later(ms: number): void {
    if (this.timerPending) return
    this.timerPending = true
    this.setTimer(() => {
      this.timerPending = false
      this.kick('timer')
    }, ms)
  }

  /** A mark no other send of this flusher has used: a stale unmark can never clear a newer send's mark. */
  private stamp(): number {
    this.lastStamp = Math.max(this.now(), this.lastStamp + 1)
    return this.lastStamp
  }

  private async pass(): Promise<void> {
    if (!this.send) return
    // Refill the pipeline once half of it has drained, not after every ack:
    // each refill reads the whole outbox, and a long queue would make that quadratic.
    if (this.inFlight.size > this.window / 2) return
    const pause = this.pausedUntil - this.now()
    if (pause > 0) return this.later(pause)
    const epoch = this.epoch
    let outOfTokens = false
    const stamp = this.stamp()
    const chosen = await claimForSending(
      this.db,
      (queue) => {
        const picked = this.choose(queue)
        outOfTokens = picked.outOfTokens
        return picked.chosen
      },
      stamp,
    )
    const unsent: Unmark[] = []
    for (const { item, after, previous } of chosen) {
      const frame = frameOf(item, after)
      // Once one frame cannot go, none after it goes either (order).
      if (unsent.length === 0 && this.epoch === epoch && this.send?.(frame)) {
        this.inFlight.set(item.clientId, { sentAt: stamp, after })
      } else {
        unsent.push({ clientId: item.clientId, sentAt: stamp, previous })
      }
    }
    if (unsent.length > 0) await unmarkSent(this.db, unsent)
    if (chosen.length > 0) this.events.onOutboxChange()
    if (outOfTokens && unsent.length === 0) this.later(this.bucket.wait())
  }

  /** What to send now, in outbox order, each with its predecessor (runs inside the claiming transaction). */
  private choose(queue: OutboxItem[]): { chosen: Chosen[]; outOfTokens: boolean } {
    const chosen: Chosen[] = []
    /** Per room, the nearest earlier item still waiting (in flight or not). */
    const previous = new Map<string, string>()
    /** Rooms where an item must wait: nothing after it in that room goes out in this pass. */
    const blocked = new Set<string>()
    let room = this.window - this.inFlight.size
    for (const item of queue) {
      if (item.state !== 'waiting') continue
      const after = previous.get(item.roomId)
      previous.set(item.roomId, item.clientId)
      if (this.inFlight.has(item.clientId) || blocked.has(item.roomId)) continue
      const heldFor = this.holds.get(item.clientId)
      if (heldFor !== undefined) {
        if (this.inFlight.has(heldFor)) {
          blocked.add(item.roomId)
          continue
        }
        this.holds.delete(item.clientId)
      }
      if (room <= 0) break
      if (!this.bucket.take()) return { chosen, outOfTokens: true }
      room -= 1
      chosen.push({ item, after })
    }
    return { chosen, outOfTokens: false }
  }

  async handleAck(frame: AckFrame | OperationAckFrame): Promise<void> {
    this.inFlight.delete(frame.clientId)
    this.holds.delete(frame.clientId)
    this.transientFailures = 0
    try {
      // An ack is the truth even when stale (after a reconnect): the message is stored.
      const stored = await settle(this.db, frame.clientId, entryFromAck(frame))
      this.events.onSettled(frame.roomId, stored)
      this.events.onOutboxChange()
    } catch (error) {
      console.error(`[ferry] outbox: could not store the ack for ${frame.clientId}`, error)
    }
    this.kick('ack')
  }

  /** Returns true when the error frame belonged to one of our sends (stale ones included). */
  async handleError(frame: ErrorFrame): Promise<boolean> {
    const { clientId } = frame
    if (!clientId) return false
    const flight = this.inFlight.get(clientId)
    // Not in flight: an answer to a send we no longer wait for (an older socket, a
    // duplicate answer). The item's current send gets its own answer.
    if (!flight) return true
    this.inFlight.delete(clientId)
    try {
      await this.answer(frame, clientId, flight)
    } catch (error) {
      console.error(`[ferry] outbox: could not record the refusal of ${clientId} (${frame.code})`, error)
    }
    return true
  }

  private async answer(frame: ErrorFrame, clientId: string, flight: Flight): Promise<void> {
    const unmark = () => unmarkSent(this.db, [{ clientId, sentAt: flight.sentAt }])
    if (frame.code === 'out_of_order') {
      // Its predecessor is not stored yet; no backoff: resend it once that one is answered.
      if (flight.after !== undefined && this.inFlight.has(flight.after)) this.holds.set(clientId, flight.after)
      await unmark()
      this.events.onOutboxChange()
      this.kick('out_of_order')
      return
    }
    if (TRANSIENT.has(frame.code)) {
      const now = this.now()
      // One wave of refusals (a pipeline's worth) grows the backoff once.
      if (now >= this.pausedUntil) this.transientFailures += 1
      const backoff = frame.retryAfterMs ?? fullJitter(this.transientFailures, 500, 30_000)
      this.pausedUntil = Math.max(this.pausedUntil, now + Math.max(backoff, 100))
      if (frame.code === 'rate_limited') this.bucket.drain()
      this.later(this.pausedUntil - now)
      await unmark()
      this.events.onOutboxChange()
      return
    }
    await markFailed(this.db, clientId, { code: frame.code, message: frame.message })
    this.events.onOutboxChange()
    this.kick('failed')
  }
}
