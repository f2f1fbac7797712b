import type { FastifyBaseLogger } from 'fastify'
import { Redis } from 'ioredis'

/** Where the shared login counters live in Redis (tests pass a prefix of their own). */
export const LOGIN_LIMIT_KEY_PREFIX = 'ferry:login-limit:'

export interface LoginLimitStore {
  /** @fastify/rate-limit's options for a shared store (its RedisStore). */
  options: { redis: Redis; nameSpace: string; skipOnError: true }
  close(): void
}

/**
 * REDIS_URL set: the login and sign-up limits count in Redis, so every
 * process sees the same attempts from one address (docs/SCALING.md, "Rate
 * limits across processes"). Its own connection (the bus's subscriber
 * connection cannot run commands). It fails open, and soon: while Redis is
 * unreachable a command waits for one reconnection attempt at most (at most
 * 2 s apart) and then errors, and the plugin lets the attempt through
 * (skipOnError) rather than refusing every login; that is logged. Commands
 * issued while it first connects wait for it (the offline queue), so the
 * limit holds from the first attempt.
 */
export function loginLimitStore(
  url: string,
  log: FastifyBaseLogger,
  nameSpace = LOGIN_LIMIT_KEY_PREFIX,
): LoginLimitStore {
  const redis = new Redis(url, {
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    // Reconnects forever, at most every 2 s.
    retryStrategy: (times) => Math.min(times * 200, 2_000),
  })
  let healthy = true
  redis.on('ready', () => {
    if (!healthy) log.info('login limits: Redis is back; attempts are counted across processes again')
    healthy = true
  })
  redis.on('error', (error) => {
    // Once per outage, not once per reconnect attempt.
    if (healthy) log.warn({ err: error }, 'login limits: Redis unreachable; attempts are not limited until it is back')
    healthy = false
  })
  return { options: { redis, nameSpace, skipOnError: true }, close: () => redis.disconnect() }
}
