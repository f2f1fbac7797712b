// npm run migrate [up|down|latest]: applies migrations to the configured database.
import { loadConfig } from '../config.ts'
import { createDatabase } from './database.ts'
import { migrateDown, migrateToLatest } from './migrate.ts'

const direction = process.argv[2] ?? 'latest'
if (!['up', 'latest', 'down'].includes(direction)) {
  console.error(`Usage: npm run migrate [latest|up|down] (got "${direction}")`)
  process.exit(2)
}
const config = loadConfig()
const database = await createDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir })
try {
  const { results } = direction === 'down' ? await migrateDown(database.db) : await migrateToLatest(database.db)
  if (!results?.length) console.log('Nothing to migrate.')
  for (const r of results ?? []) console.log(`${r.direction} ${r.migrationName}: ${r.status}`)
} catch (error) {
  console.error((error as Error).message)
  process.exitCode = 1
} finally {
  await database.close()
}
