import pg from 'pg'
import type { RoomEvent } from '../../../shared/schemas.ts'
import type { Metrics } from '../../metrics/metrics.ts'
import { ClusterBus } from './cluster-bus.ts'
import { type BusLog, backoffMs, type Transport, type TransportEvents } from './transport.ts'

export interface PostgresBusOptions {
  connectionString: string
  /** The LISTEN channel (a lower-case identifier): tests on one server use one each. */
  channel?: string
  read(roomId: string, after: number, limit: number): Promise<RoomEvent[]>
  log: BusLog
  metrics?: Metrics
  now?: () => number
  /** Reconnect backoff of the LISTEN connection. */
  reconnect?: { initialMs: number; maxMs: number }
  /** How often the idle LISTEN connection is checked with `SELECT 1` (a silently dead one is found within this). */
  probeMs?: number
  retryMs?: number
  graceMs?: number
}

/** NOTIFY's payload stops at 8,000 bytes; this leaves room for what PostgreSQL adds. */
const NOTIFY_MAX_PAYLOAD = 7_000
/** Notifications per publishing statement at most (~0.7 MB at the payload limit). */
const MAX_NOTIFY_BATCH = 100
/** Notifications waiting for the publishing connection at most (~70 MB at the payload limit, far less in practice). */
const MAX_OUTBOX = 10_000
const CHANNEL = /^[a-z_][a-z0-9_]{0,62}$/

/**
 * LISTEN/NOTIFY: one dedicated connection (not from the app's pool) holds
 * `LISTEN <channel>`; publishing is `SELECT pg_notify($1, $2)` on a second,
 * one-connection pool, once per committed batch and never inside the write
 * transaction (a NOTIFY there takes a database-wide lock at commit). One
 * publishing connection keeps this node's notifications in publish order.
 */
export class PostgresTransport implements Transport {
  readonly name = 'postgres'
  readonly maxPayloadBytes = NOTIFY_MAX_PAYLOAD
  readonly #connectionString: string
  readonly #channel: string
  readonly #reconnect: { initialMs: number; maxMs: number }
  readonly #probeMs: number
  readonly #publisher: pg.Pool
  #listener: pg.Client | undefined
  #events: TransportEvents | undefined
  #probe: ReturnType<typeof setInterval> | undefined
  #retry: ReturnType<typeof setTimeout> | undefined
  /** Payloads waiting for the publishing connection, sent together by the next statement. */
  #outbox: { payload: string; resolve(): void; reject(error: unknown): void }[] = []
  #flushing = false
  #closed = false

  constructor(options: Pick<PostgresBusOptions, 'connectionString' | 'channel' | 'reconnect' | 'probeMs'>) {
    const channel = options.channel ?? 'ferry_bus'
    if (!CHANNEL.test(channel)) throw new Error(`bus: "${channel}" is not a valid channel name`)
    this.#connectionString = options.connectionString
    this.#channel = channel
    this.#reconnect = options.reconnect ?? { initialMs: 200, maxMs: 5_000 }
    this.#probeMs = options.probeMs ?? 15_000
    this.#publisher = new pg.Pool({
      connectionString: options.connectionString,
      max: 1,
      connectionTimeoutMillis: 10_000,
    })
    this.#publisher.on('error', () => {
      // An idle publishing connection died; the pool opens another for the next NOTIFY.
    })
  }

  async start(events: TransportEvents): Promise<void> {
    this.#events = events
    this.#probe = setInterval(() => this.#check(), this.#probeMs)
    this.#probe.unref()
    try {
      await this.#listen()
    } catch (error) {
      events.lost(error)
      this.#retryListen(0)
    }
  }

  /**
   * One notification per payload, in publish order. Payloads that queue up
   * while a statement is under way go together in the next one (one
   * transaction, one commit, each still its own notification).
   */
  send(payload: string): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.#outbox.length >= MAX_OUTBOX) {
        // The database does not take notifications (down, or far behind): the oldest waiting one is given up, so
        // memory stays bounded. Receivers read missed room events at the room's next pointer and see a listSeq jump.
        this.#outbox.shift()?.reject(new Error('bus: publishing backlog full; oldest notification dropped'))
      }
      this.#outbox.push({ payload, resolve, reject })
      if (!this.#flushing) void this.#flush()
    })
  }

  async #flush(): Promise<void> {
    this.#flushing = true
    while (this.#outbox.length > 0) {
      const batch = this.#outbox.splice(0, MAX_NOTIFY_BATCH)
      try {
        await this.#publisher.query('SELECT pg_notify($1, payload) FROM unnest($2::text[]) AS payload', [
          this.#channel,
          batch.map((item) => item.payload),
        ])
        for (const item of batch) item.resolve()
      } catch (error) {
        for (const item of batch) item.reject(error)
      }
    }
    this.#flushing = false
  }

  /** The backend holding LISTEN (tests terminate it). */
  async listenerPid(): Promise<number | undefined> {
    const result = await this.#listener?.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')
    return result?.rows[0]?.pid
  }

  async close(): Promise<void> {
    this.#closed = true
    clearInterval(this.#probe)
    clearTimeout(this.#retry)
    const listener = this.#listener
    this.#listener = undefined
    await Promise.all([listener?.end().catch(() => {}), this.#publisher.end().catch(() => {})])
  }

  async #listen(): Promise<void> {
    const client = new pg.Client({
      connectionString: this.#connectionString,
      // A peer gone without a word (a partition) is found by the probe's timeout or, failing that, TCP keepalive.
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      query_timeout: 10_000,
    })
    client.on('notification', (message) => {
      if (client === this.#listener && message.channel === this.#channel && message.payload !== undefined) {
        this.#events?.receive(message.payload)
      }
    })
    client.on('error', (error) => this.#lost(client, error))
    client.on('end', () => this.#lost(client))
    try {
      await client.connect()
      await client.query(`LISTEN ${this.#channel}`)
    } catch (error) {
      client.end().catch(() => {})
      throw error
    }
    if (this.#closed) {
      await client.end().catch(() => {})
      return
    }
    this.#listener = client
  }

  #lost(client: pg.Client, error?: unknown): void {
    if (client !== this.#listener || this.#closed) return
    this.#listener = undefined
    client.end().catch(() => {})
    this.#events?.lost(error)
    this.#retryListen(0)
  }

  #retryListen(attempt: number): void {
    if (this.#closed) return
    this.#retry = setTimeout(
      () => {
        this.#listen().then(
          () => {
            if (!this.#closed) this.#events?.back()
          },
          () => this.#retryListen(attempt + 1),
        )
      },
      backoffMs(attempt, this.#reconnect.initialMs, this.#reconnect.maxMs),
    )
  }

  /** A connection that died without a word (a partition) shows only when used. */
  #check(): void {
    const client = this.#listener
    if (!client) return
    client.query('SELECT 1').catch((error: unknown) => this.#lost(client, error))
  }
}

/** The Bus on PostgreSQL LISTEN/NOTIFY (the default with DATABASE_URL; docs/SCALING.md, "Bus"). */
export class PostgresBus extends ClusterBus {
  readonly transport: PostgresTransport

  constructor(options: PostgresBusOptions) {
    const transport = new PostgresTransport(options)
    super({ ...options, transport })
    this.transport = transport
  }
}
