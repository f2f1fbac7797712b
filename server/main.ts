import cluster from 'node:cluster'
import { buildApp } from './app.ts'
import { startSessionSweeper } from './auth/session-sweeper.ts'
import { joinClusterMetrics } from './cluster/metrics.ts'
import { runPrimary } from './cluster/primary.ts'
import { type Config, ConfigError, loadConfig } from './config.ts'
import { createDatabase } from './db/database.ts'
import { DataDirInUseError } from './db/lock-file.ts'
import { migrateToLatest } from './db/migrate.ts'
import { Metrics } from './metrics/metrics.ts'
import { type MetricsServer, startMetricsServer } from './metrics/metrics-server.ts'
import { createBus } from './realtime/bus/create-bus.ts'
import { deferredLog } from './realtime/bus/transport.ts'

async function main() {
  const config = loadConfig()
  // FERRY_WORKERS > 1: this process only supervises (server/cluster/primary.ts); each worker runs serve().
  if (config.workers > 1 && cluster.isPrimary) return runPrimary(config)
  await serve(config)
}

/** One Ferry process: the only one (FERRY_WORKERS=1, the default), or a cluster worker. */
async function serve(config: Config) {
  const database = await createDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir })
  // A worker's primary migrated once before forking.
  if (!cluster.isWorker) await migrateToLatest(database.db)
  const metrics = new Metrics()
  // In a worker, GET /metrics answers the primary's sum over all workers.
  const metricsSource = cluster.isWorker ? joinClusterMetrics(metrics) : undefined
  const busLog = deferredLog()
  const bus = await createBus(config, database, metrics, busLog)
  const app = await buildApp({ config, database, bus, metrics, ...(metricsSource ? { metricsSource } : {}) })
  busLog.attach(app.log)
  startSessionSweeper(app)

  let metricsServer: MetricsServer | undefined
  let closing = false
  const shutdown = async (signal: string) => {
    if (closing) return
    closing = true
    app.log.info({ signal }, 'shutting down: no new connections, finishing requests')
    const force = setTimeout(() => {
      app.log.error('shutdown took too long; exiting')
      process.exit(1)
    }, 15_000)
    force.unref()
    try {
      await metricsServer?.close()
      await app.close()
    } finally {
      await database.close()
      app.log.info('stopped')
      // A worker's IPC channel would keep it alive: leave the cluster (it then exits like a single process).
      cluster.worker?.disconnect()
    }
  }
  process.once('SIGTERM', () => void shutdown('SIGTERM'))
  process.once('SIGINT', () => void shutdown('SIGINT'))

  await app.listen({ port: config.port, host: config.host })
  // METRICS_PORT: served here by a single process; with workers, by the primary (their sum).
  if (config.metrics.port !== undefined && !cluster.isWorker) {
    const { host, port } = config.metrics
    metricsServer = await startMetricsServer({ host, port, source: () => metrics.render() })
  }
  app.log.info(
    { database: database.kind === 'postgres' ? 'postgresql' : `embedded PGlite in ${config.dataDir}` },
    'Ferry is ready',
  )
}

/** listen() refused because something else holds the port (in a cluster worker too: the primary binds for it). */
function addressInUse(error: unknown): error is { address?: string; port?: number } {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'EADDRINUSE'
}

main().catch((error) => {
  if (error instanceof ConfigError || error instanceof DataDirInUseError) {
    console.error(error.message)
  } else if (addressInUse(error)) {
    const { host, port } = { host: error.address ?? process.env.HOST, port: error.port ?? process.env.PORT }
    console.error(`Ferry cannot listen on ${host}:${port}: the address is in use (another process holds the port)`)
  } else {
    console.error('Ferry failed to start:', error)
  }
  process.exit(1)
})
