import { Redis } from 'ioredis'
import type { RoomEvent } from '../../../shared/schemas.ts'
import type { Metrics } from '../../metrics/metrics.ts'
import { ClusterBus } from './cluster-bus.ts'
import { type BusLog, backoffMs, type Transport, type TransportEvents } from './transport.ts'

export interface RedisBusOptions {
  url: string
  /** Prefix of the channel name (`<prefix>:bus`): tests on one Redis use one each. */
  prefix?: string
  /** Names the two connections `<name>-sub` and `<name>-pub` (CLIENT LIST; tests find their subscriber by it). */
  name?: string
  read(roomId: string, after: number, limit: number): Promise<RoomEvent[]>
  log: BusLog
  metrics?: Metrics
  now?: () => number
  reconnect?: { initialMs: number; maxMs: number }
  retryMs?: number
  graceMs?: number
}

/** Redis carries far more than NOTIFY; still small enough that one message never holds up the connection. */
const REDIS_MAX_PAYLOAD = 60_000

/**
 * Redis pub/sub: a subscriber connection (SUBSCRIBE `<prefix>:bus`) and a
 * publisher connection. ioredis reconnects both by itself; a subscriber that
 * comes back is subscribed again and then told `back` (the bus resyncs).
 * Publishes made while the publisher is down wait in ioredis's offline queue.
 */
export class RedisTransport implements Transport {
  readonly name = 'redis'
  readonly maxPayloadBytes = REDIS_MAX_PAYLOAD
  readonly channel: string
  /** The connections are `<connectionName>-sub` and `-pub`. */
  readonly connectionName: string
  readonly #subscriber: Redis
  readonly #publisher: Redis
  #listening = false
  /** Set once start's own subscribe is confirmed: a `ready` before that is the first connect, not a return. */
  #started = false
  #events: TransportEvents | undefined
  #closed = false

  constructor(options: Pick<RedisBusOptions, 'url' | 'prefix' | 'name' | 'reconnect'>) {
    this.channel = `${options.prefix ?? 'ferry'}:bus`
    const { initialMs, maxMs } = options.reconnect ?? { initialMs: 200, maxMs: 5_000 }
    const settings = {
      lazyConnect: true,
      // TCP keepalive after 10 s idle: a subscriber cut off without a word still ends in `close`, then a resync.
      keepAlive: 10_000,
      // Commands wait through reconnects instead of failing after a few tries.
      maxRetriesPerRequest: null,
      retryStrategy: (times: number) => Math.max(10, backoffMs(times, initialMs, maxMs)),
    }
    this.connectionName = options.name ?? 'ferry-bus'
    this.#subscriber = new Redis(options.url, { ...settings, connectionName: `${this.connectionName}-sub` })
    // No offline queue: while Redis is away a publish fails at once (receivers resync or see a listSeq jump)
    // instead of piling up in memory for the length of the outage.
    this.#publisher = new Redis(options.url, {
      ...settings,
      enableOfflineQueue: false,
      connectionName: `${this.connectionName}-pub`,
    })
  }

  async start(events: TransportEvents): Promise<void> {
    this.#events = events
    const sub = this.#subscriber
    sub.on('message', (channel: string, message: string) => {
      if (channel === this.channel) this.#events?.receive(message)
    })
    // ioredis reconnects on its own; errors are reported by `close` and the commands that fail.
    sub.on('error', () => {})
    this.#publisher.on('error', () => {})
    sub.on('close', () => {
      if (!this.#listening || this.#closed) return
      this.#listening = false
      this.#events?.lost()
    })
    sub.on('ready', () => {
      if (!this.#started || this.#listening || this.#closed) return
      // ioredis subscribes again by itself; asking once more waits for Redis's confirmation before the resync.
      sub.subscribe(this.channel).then(
        () => {
          if (this.#listening || this.#closed) return
          this.#listening = true
          this.#events?.back()
        },
        () => {},
      )
    })
    await Promise.all([sub.connect(), this.#publisher.connect()])
    await sub.subscribe(this.channel)
    this.#listening = true
    this.#started = true
  }

  async send(payload: string): Promise<void> {
    await this.#publisher.publish(this.channel, payload)
  }

  async close(): Promise<void> {
    this.#closed = true
    this.#subscriber.disconnect()
    this.#publisher.disconnect()
  }
}

/** The Bus on Redis pub/sub (REDIS_URL; docs/SCALING.md, "Bus"). */
export class RedisBus extends ClusterBus {
  readonly transport: RedisTransport

  constructor(options: RedisBusOptions) {
    const transport = new RedisTransport(options)
    super({ ...options, transport })
    this.transport = transport
  }
}
