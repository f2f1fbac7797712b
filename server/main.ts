import { buildApp } from './app.ts'
import { startSessionSweeper } from './auth/session-sweeper.ts'
import { ConfigError, loadConfig } from './config.ts'
import { createDatabase } from './db/database.ts'
import { DataDirInUseError } from './db/lock-file.ts'
import { migrateToLatest } from './db/migrate.ts'

async function main() {
  const config = loadConfig()
  const database = await createDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir })
  await migrateToLatest(database.db)
  const app = await buildApp({ config, database })
  startSessionSweeper(app)

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
      await app.close()
    } finally {
      await database.close()
      app.log.info('stopped')
    }
  }
  process.once('SIGTERM', () => void shutdown('SIGTERM'))
  process.once('SIGINT', () => void shutdown('SIGINT'))

  await app.listen({ port: config.port, host: config.host })
  app.log.info(
    { database: database.kind === 'postgres' ? 'postgresql' : `embedded PGlite in ${config.dataDir}` },
    'Ferry is ready',
  )
}

main().catch((error) => {
  if (error instanceof ConfigError || error instanceof DataDirInUseError) {
    console.error(error.message)
  } else {
    console.error('Ferry failed to start:', error)
  }
  process.exit(1)
})
