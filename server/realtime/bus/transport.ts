/** What the cluster bus is told by its transport. */
export interface TransportEvents {
  /** One payload from the channel (this node's own included: the bus drops its echo). */
  receive(payload: string): void
  /** The listening connection is gone: anything published from now until `back` may be missed. */
  lost(error?: unknown): void
  /** Listening again after a loss (the subscription is confirmed): time to resync. */
  back(): void
}

/** Logging the bus needs (pino's shape: Fastify's logger, or pino itself in main.ts). */
export interface BusLog {
  info(object: object, message: string): void
  warn(object: object, message: string): void
  error(object: object, message: string): void
}

/**
 * A log for a bus made before the app whose logger it should use (main.ts:
 * buildApp takes the bus): lines go to stderr as JSON until `attach`.
 */
export function deferredLog(): BusLog & { attach(log: BusLog): void } {
  let target: BusLog | undefined
  const write = (level: keyof BusLog) => (object: object, message: string) => {
    if (target) target[level](object, message)
    else if (level !== 'info') console.error(JSON.stringify({ level, ...object, msg: message }))
  }
  return {
    info: write('info'),
    warn: write('warn'),
    error: write('error'),
    attach(log) {
      target = log
    },
  }
}

/**
 * One engine's publish/subscribe channel (PostgreSQL LISTEN/NOTIFY, Redis
 * pub/sub): delivery at most once, in order per publishing connection; the
 * cluster bus above it makes room events gap-free from the database.
 */
export interface Transport {
  readonly name: 'postgres' | 'redis'
  /** The largest payload `send` takes (NOTIFY stops at 8,000 bytes). */
  readonly maxPayloadBytes: number
  /** Listens; resolves once the first subscription is confirmed (or failed: it then keeps trying, and says `back`). */
  start(events: TransportEvents): Promise<void>
  /** Publishes one payload on its own connection, after whatever the caller committed. */
  send(payload: string): Promise<void>
  close(): Promise<void>
}

/**
 * Exponential backoff with equal jitter: attempt 0 waits between half of
 * `initialMs` and all of it, doubling up to `maxMs` (jitter spreads the
 * nodes' reconnects after a shared outage; the half floor keeps a retry from
 * hammering a server that just refused).
 */
export function backoffMs(attempt: number, initialMs: number, maxMs: number, random: () => number = Math.random) {
  const ceiling = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 20))
  return Math.round(ceiling / 2 + (random() * ceiling) / 2)
}
