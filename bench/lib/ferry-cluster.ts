/**
 * Ferry as several processes for the ws part's multi-process targets
 * (`ferry-2w`, `ferry-2w-redis`, docs/BENCHMARKS.md "Several processes"):
 * the environment that makes `server/main.ts` a node:cluster primary with
 * its workers on a cross-process bus, the Redis check, and the scrape of the
 * primary's /metrics (the sum over the workers).
 */
import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import { parseScrape, type Scrape } from './bus-metrics.ts'
import { findProcess } from './proc.ts'
import { sleep } from './stats.ts'

export const BENCH_REDIS_URL = process.env.BENCH_REDIS_URL || 'redis://127.0.0.1:6379'

export interface ClusterShape {
  workers: number
  bus: 'postgres' | 'redis'
}

/** Why Redis cannot be used (the target is skipped and says so), or undefined when it answers PING. */
export async function redisProblem(url = BENCH_REDIS_URL): Promise<string | undefined> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 1000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  })
  // The connection's own error (ECONNREFUSED…) says more than the rejected connect's "Connection is closed".
  let cause: Error | undefined
  client.on('error', (error: Error) => {
    cause ??= error
  })
  try {
    await client.connect()
    await client.ping()
    return undefined
  } catch (error) {
    const why = (cause ?? (error as Error)).message
    return `Redis not reachable at ${url} (${why}); set BENCH_REDIS_URL or start redis-server`
  } finally {
    client.disconnect()
  }
}

/**
 * The server's environment for a cluster: workers on one bus, a bus channel
 * of this run's own (a shared PostgreSQL or Redis may carry other clusters'
 * traffic), and FERRY_BUS / REDIS_URL set explicitly so a REDIS_URL in the
 * bench's own environment does not turn the PostgreSQL target into a Redis one.
 */
export function clusterEnv(shape: ClusterShape): Record<string, string> {
  return {
    FERRY_WORKERS: String(shape.workers),
    FERRY_BUS: shape.bus,
    REDIS_URL: shape.bus === 'redis' ? BENCH_REDIS_URL : '',
    FERRY_BUS_CHANNEL: `bench_${randomBytes(4).toString('hex')}`,
    // With REDIS_URL the login limit counts in Redis under a fixed prefix shared by every Ferry on that Redis;
    // a 1 s window keeps the bench's sign-ups from weighing on anyone else's count for long.
    ...(shape.bus === 'redis' ? { AUTH_RATE_LIMIT_WINDOW_MS: '1000' } : {}),
  }
}

/** Reads METRICS_PORT's /metrics (the primary's sum over its workers, or the single process's own). */
export function metricsScraper(port: number): () => Promise<Scrape> {
  return async () => {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(15_000) })
    const text = await res.text()
    if (res.status !== 200) throw new Error(`GET /metrics on the metrics port: ${res.status} ${text.slice(0, 200)}`)
    return parseScrape(text)
  }
}

/**
 * Waits until every worker hears every other one on the bus
 * (ferry_cluster_peers summed = workers × (workers − 1)): then all of them
 * listen on the shared port, so the sockets spread over all of them.
 */
export async function waitForPeers(scrape: () => Promise<Scrape>, workers: number, timeoutMs = 60_000): Promise<void> {
  const want = workers * (workers - 1)
  const deadline = performance.now() + timeoutMs
  let seen = -1
  let lastError = ''
  while (performance.now() < deadline) {
    try {
      seen = (await scrape()).get('ferry_cluster_peers') ?? 0
      if (seen >= want) return
    } catch (error) {
      lastError = (error as Error).message
    }
    await sleep(250)
  }
  throw new Error(
    `the ${workers} workers did not all hear each other within ${timeoutMs} ms (ferry_cluster_peers ${seen}, want ${want})` +
      (lastError ? `; last scrape: ${lastError}` : ''),
  )
}

/**
 * The redis-server behind BENCH_REDIS_URL when it runs on this machine (a
 * loopback URL), for its CPU per message; undefined for a remote one. It may
 * serve others too (tests on a shared box): then its CPU is theirs as well.
 */
export function localRedisPid(url = BENCH_REDIS_URL): number | undefined {
  const host = new URL(url).hostname
  if (host !== '127.0.0.1' && host !== 'localhost' && host !== '[::1]') return undefined
  return findProcess('redis-server')
}
