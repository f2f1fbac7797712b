import cluster, { type Worker } from 'node:cluster'
import type { Config } from '../config.ts'
import { createDatabase } from '../db/database.ts'
import { migrateToLatest } from '../db/migrate.ts'
import { type MetricsServer, startMetricsServer } from '../metrics/metrics-server.ts'
import { primaryLog } from './log.ts'
import { aggregateWorkerMetrics } from './metrics.ts'
import { RestartBackoff } from './restart-backoff.ts'

/** Longer than a worker's own 15 s shutdown limit: the workers get the first chance to finish. */
const SHUTDOWN_LIMIT_MS = 20_000

interface Slot {
  index: number
  worker: Worker | undefined
  startedAt: number
  backoff: RestartBackoff
  restart: NodeJS.Timeout | undefined
}

/**
 * The node:cluster primary for FERRY_WORKERS > 1 (docs/SCALING.md, "Workers").
 * It serves nothing itself: it migrates the database once, forks the workers
 * (which share the port; node:cluster deals new connections round robin),
 * starts a worker again when one dies (with RestartBackoff), and on
 * SIGTERM/SIGINT asks every worker to shut down gracefully and exits when
 * they all have: 0 if every worker exited cleanly, else 1.
 */
export async function runPrimary(config: Config, now: () => number = () => performance.now()): Promise<void> {
  const log = primaryLog(config.logLevel)
  // Before any worker starts, so no worker ever runs the migrator (nor serves an old schema).
  const database = await createDatabase({ databaseUrl: config.databaseUrl })
  try {
    const { results } = await migrateToLatest(database.db)
    log.info({ applied: results?.length ?? 0 }, 'database migrated')
  } finally {
    await database.close()
  }

  // Every worker's metrics added up: on METRICS_PORT here, and for the workers' GET /metrics (METRICS_TOKEN).
  const metrics = aggregateWorkerMetrics((error) => log.warn({ err: String(error) }, 'metrics scrape failed'))
  let metricsServer: MetricsServer | undefined
  if (config.metrics.port !== undefined) {
    metricsServer = await startMetricsServer({ host: config.metrics.host, port: config.metrics.port, source: metrics })
  }

  let closing = false
  const slots: Slot[] = Array.from({ length: config.workers }, (_, index) => ({
    index,
    worker: undefined,
    startedAt: 0,
    backoff: new RestartBackoff(),
    restart: undefined,
  }))
  const exits = new Set<Promise<number>>()

  function start(slot: Slot): void {
    slot.restart = undefined
    const worker = cluster.fork()
    slot.worker = worker
    slot.startedAt = now()
    const workerPid = worker.process.pid
    worker.once('listening', () => log.info({ worker: slot.index, workerPid }, 'worker listening'))
    const exited = new Promise<number>((resolve) => {
      worker.once('exit', (code, signal) => {
        exits.delete(exited)
        slot.worker = undefined
        // Stopped as asked counts as clean, also a worker the signal reached before its handler was installed.
        resolve(code === 0 || (closing && signal === 'SIGTERM') ? 0 : 1)
        if (closing) return
        const delayMs = slot.backoff.delayAfterExit(now() - slot.startedAt)
        log.warn({ worker: slot.index, workerPid, code, signal, restartInMs: delayMs }, 'worker exited')
        slot.restart = setTimeout(() => start(slot), delayMs)
      })
    })
    exits.add(exited)
  }

  async function shutdown(signal: string): Promise<void> {
    if (closing) return
    closing = true
    log.info({ signal }, 'shutting down: asking every worker to finish')
    const force = setTimeout(() => {
      log.error({}, 'workers took too long to stop; killing them')
      for (const slot of slots) slot.worker?.process.kill('SIGKILL')
    }, SHUTDOWN_LIMIT_MS)
    force.unref()
    for (const slot of slots) {
      clearTimeout(slot.restart)
      slot.worker?.process.kill('SIGTERM')
    }
    const codes = await Promise.all(exits)
    clearTimeout(force)
    await metricsServer?.close()
    process.exitCode = codes.every((code) => code === 0) ? 0 : 1
    log.info({}, 'stopped')
  }
  process.once('SIGTERM', () => void shutdown('SIGTERM'))
  process.once('SIGINT', () => void shutdown('SIGINT'))

  for (const slot of slots) start(slot)
  log.info({ workers: config.workers }, 'Ferry primary started its workers')
}
