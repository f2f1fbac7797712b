import type { FastifyBaseLogger } from 'fastify'
import type { Kysely } from 'kysely'
import type { RoomEvent } from '../../shared/schemas.ts'
import type { PushConfig } from '../config.ts'
import type { DB } from '../db/schema.ts'
import type { Bus } from '../realtime/bus.ts'
import type { FocusRegistry } from '../realtime/focus.ts'
import { Delivery, type DeliveryOutcome, type PushMessage, type PushTarget } from './delivery.ts'
import { buildPayload } from './payload.ts'
import { type Attempt, PushQueue, type PushQueueStats } from './push-queue.ts'
import { findRecipients } from './recipients.ts'
import { deleteSubscription, recordDelivery } from './subscriptions.repository.ts'
import type { VapidKeySource } from './vapid-keys.ts'

/** Messages waiting for their recipients to be looked up; past it the oldest go (counted). */
const PENDING_MESSAGES_MAX = 10_000
/** Messages looked up in one statement. */
const LOOKUP_BATCH = 100
/** How long "no subscription is stored at all" is believed before it is asked again (other processes may add one). */
const NONE_STORED_RECHECK_MS = 5_000

interface Job extends PushMessage {
  /** Device and room: a newer message for both replaces a waiting one (PushQueue coalescing). */
  key: string
  /** The message's seq: a retry of an older plain message is dropped once a newer one of its key started. */
  order: number
  subscriptionId: string
  failures: number
  target: PushTarget
  mention: boolean
}

export interface PushStats extends PushQueueStats {
  sent: number
  /** Subscriptions deleted because the push service said 404/410. */
  gone: number
  /** Deliveries refused for good (a 4xx other than 404/410/429, a private address); `exhausted`: out of retries. */
  failed: number
  /** Messages whose recipients were never looked up (too many waiting, or the lookup failed). */
  messagesDropped: number
}

export interface PushSenderDeps {
  db: Kysely<DB>
  bus: Bus
  focus: FocusRegistry
  keys: VapidKeySource
  config: PushConfig
  log: FastifyBaseLogger
}

/**
 * Web Push for committed messages (docs/PUSH.md). The bus handler only
 * queues the message (never a query, never a request: fan-out and acks do
 * not wait for it); recipients are then looked up one message at a time and
 * each device's push goes through a bounded queue with bounded concurrency,
 * mentions first, retries with backoff. 404/410 deletes the subscription;
 * failures are counted and logged with ids and status only.
 */
export class PushSender {
  readonly #deps: PushSenderDeps
  readonly #delivery: Delivery
  readonly #queue: PushQueue<Job>
  readonly #pending: RoomEvent[] = []
  readonly #stopListening: () => void
  #looking: Promise<void> | undefined
  #closed = false
  /** Until when no subscription exists anywhere: a server nobody enabled push on costs no lookup per message. */
  #noneStoredUntil = 0
  readonly #counts = { sent: 0, gone: 0, failed: 0, messagesDropped: 0 }

  constructor(deps: PushSenderDeps) {
    this.#deps = deps
    const { config } = deps
    this.#delivery = new Delivery(
      {
        keys: deps.keys,
        subject: config.vapidSubject,
        ttlSeconds: config.ttlSeconds,
        timeoutMs: config.requestTimeoutMs,
        allowPrivate: config.allowPrivateEndpoints,
      },
      config.concurrency,
    )
    this.#queue = new PushQueue<Job>(
      (job, signal) => this.#deliver(job, signal),
      {
        concurrency: config.concurrency,
        max: config.queueMax,
        maxAttempts: config.maxAttempts,
        retryBaseMs: config.retryBaseMs,
        retryMaxMs: config.retryMaxMs,
        ratePerSecond: config.ratePerSecond,
      },
      (error) => deps.log.error({ err: error }, 'push delivery failed'),
    )
    this.#stopListening = deps.bus.subscribeOwn((events) => this.#take(events))
  }

  /** Deliveries waiting, queued or between retries (ferry_push_queue_depth). */
  get queueDepth(): number {
    return this.#queue.size
  }

  get stats(): PushStats {
    return { ...this.#queue.stats, ...this.#counts }
  }

  /** Resolves once every message seen so far has been looked up and every push is done (tests, benchmarks). */
  async idle(): Promise<void> {
    for (;;) {
      if (this.#looking) {
        await this.#looking
        continue
      }
      await this.#queue.idle()
      if (!this.#looking && this.#pending.length === 0) return
    }
  }

  /** A subscription was stored in this process: look up recipients from now on. */
  subscriptionStored(): void {
    this.#noneStoredUntil = 0
  }

  close(): void {
    this.#closed = true
    this.#stopListening()
    this.#pending.length = 0
    this.#queue.close()
    this.#delivery.close()
  }

  /** On the fan-out path: keep the messages and return at once. */
  #take(events: readonly RoomEvent[]): void {
    for (const event of events) {
      if (event.kind !== 'message.created' || event.authorId === null) continue
      if (this.#pending.length >= PENDING_MESSAGES_MAX) {
        this.#pending.shift()
        this.#counts.messagesDropped++
      }
      this.#pending.push(event)
    }
    if (this.#pending.length > 0 && !this.#looking) {
      this.#looking = new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.#lookUp())
    }
  }

  /**
   * One lookup at a time, each for up to LOOKUP_BATCH messages in one
   * statement: the lookups share the database with the append path and must
   * not crowd it, yet keep up with a busy server.
   */
  async #lookUp(): Promise<void> {
    try {
      while (this.#pending.length > 0 && !this.#closed) {
        const batch = this.#pending.splice(0, LOOKUP_BATCH)
        try {
          await this.#enqueue(batch)
        } catch (error) {
          this.#counts.messagesDropped += batch.length
          this.#deps.log.error({ err: error, messages: batch.length }, 'push recipients lookup failed')
        }
      }
    } finally {
      this.#looking = undefined
    }
  }

  async #noneStored(): Promise<boolean> {
    if (Date.now() < this.#noneStoredUntil) return true
    const any = await this.#deps.db.selectFrom('push_subscriptions').select('id').limit(1).executeTakeFirst()
    if (!any) this.#noneStoredUntil = Date.now() + NONE_STORED_RECHECK_MS
    return !any
  }

  async #enqueue(batch: readonly RoomEvent[]): Promise<void> {
    if (await this.#noneStored()) return
    const events = new Map(batch.map((event) => [`${event.roomId}:${event.seq}`, event]))
    const recipients = await findRecipients(
      this.#deps.db,
      batch.map((event) => ({
        roomId: event.roomId,
        seq: event.seq,
        authorId: event.authorId!,
        mentions: event.mentions ?? [],
      })),
    )
    for (const recipient of recipients) {
      const { roomId } = recipient
      // Looking at the room now: the socket shows the message, no push.
      if (this.#deps.focus.isFocused(roomId, recipient.userId)) continue
      const event = events.get(`${roomId}:${recipient.seq}`)
      if (!event) continue
      // Topic: the room id without dashes (32 base64url characters), so a burst collapses per room.
      const topic = roomId.replaceAll('-', '')
      this.#queue.enqueue({
        key: `${recipient.subscriptionId}:${topic}`,
        order: event.seq,
        subscriptionId: recipient.subscriptionId,
        failures: recipient.failures,
        target: { endpoint: recipient.endpoint, p256dh: recipient.p256dh, auth: recipient.auth },
        payload: buildPayload({
          event,
          roomName: recipient.roomName,
          unread: recipient.unread,
          mention: recipient.mention,
        }),
        topic,
        urgency: recipient.mention ? 'high' : 'normal',
        mention: recipient.mention,
      })
    }
  }

  async #deliver(job: Job, signal: AbortSignal): Promise<Attempt> {
    const { log, db } = this.#deps
    const ids = { subscriptionId: job.subscriptionId }
    let outcome: DeliveryOutcome
    try {
      outcome = await this.#delivery.send(job.target, job, signal)
    } catch (error) {
      // Encryption refused the stored keys (registered before they were checked): permanent, and never the keys in the log.
      outcome = { kind: 'failed', reason: error instanceof Error ? error.message.slice(0, 120) : 'could not encrypt' }
    }
    switch (outcome.kind) {
      case 'sent':
        this.#counts.sent++
        if (job.failures > 0) await recordDelivery(db, job.subscriptionId, true)
        return { retry: false }
      case 'gone':
        this.#counts.gone++
        log.info({ ...ids, status: outcome.status }, 'push subscription gone: deleted')
        await deleteSubscription(db, job.subscriptionId)
        return { retry: false }
      case 'retry':
        log.warn({ ...ids, status: outcome.status, reason: outcome.reason }, 'push delivery failed; will retry')
        if (signal.aborted) return { retry: false }
        return { retry: true, afterMs: outcome.retryAfterMs }
      case 'failed':
        this.#counts.failed++
        log.warn({ ...ids, status: outcome.status, reason: outcome.reason }, 'push delivery refused')
        await recordDelivery(db, job.subscriptionId, false)
        return { retry: false }
    }
  }
}
