import type { FastifyInstance } from 'fastify'
import { buildApp } from '../../server/app.ts'
import { loadConfig } from '../../server/config.ts'
import type { Database } from '../../server/db/database.ts'
import { migrateToLatest } from '../../server/db/migrate.ts'

export interface BenchAccount {
  id: string
  cookie: string
}

/**
 * Ferry in this process on `database` (migrated), for benchmarks that time a
 * route through `app.inject` with no network (rooms, search). The caller
 * closes the app.
 */
export async function inProcessApp(
  database: Database,
): Promise<{ app: FastifyInstance; signUp: (username: string) => Promise<BenchAccount> }> {
  await migrateToLatest(database.db)
  const config = loadConfig({ LOG_LEVEL: 'silent', AUTH_RATE_LIMIT_MAX: '1000000', PORT: '3000' })
  const app = await buildApp({ config, database, serveClient: false })
  await app.ready()
  const signUp = async (username: string): Promise<BenchAccount> => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/auth/signup',
      headers: { 'content-type': 'application/json' },
      payload: { username, password: 'bench-password-123' },
    })
    if (res.statusCode !== 201) throw new Error(`signup: ${res.statusCode} ${res.body}`)
    return { id: res.json().user.id as string, cookie: res.cookies.map((c) => `${c.name}=${c.value}`).join('; ') }
  }
  return { app, signUp }
}
