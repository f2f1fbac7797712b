import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { afterAll, beforeAll } from 'vitest'
import { buildApp } from '../../server/app.ts'
import { type Config, loadConfig } from '../../server/config.ts'
import type { Database } from '../../server/db/database.ts'
import { createTestDatabase, type EngineName } from './databases.ts'

export const TEST_ORIGIN = 'http://127.0.0.1:3000'

export function testConfig(overrides: Partial<Config> = {}): Config {
  return {
    ...loadConfig({ LOG_LEVEL: 'silent', AUTH_RATE_LIMIT_MAX: '100000', PORT: '3000' }),
    ...overrides,
  }
}

export interface TestContext {
  app: FastifyInstance
  database: Database
}

/**
 * Builds the app on a fresh database for the enclosing describe block and
 * closes both after it (fastify/demo's `build(t)`, as vitest hooks).
 * Read `ctx.app` inside tests, not at describe time.
 */
export function useTestApp(engine: EngineName, overrides: Partial<Config> = {}): TestContext {
  const ctx = {} as TestContext
  beforeAll(async () => {
    ctx.database = await createTestDatabase(engine)
    ctx.app = await buildApp({ config: testConfig(overrides), database: ctx.database, serveClient: false })
    await ctx.app.ready()
  })
  afterAll(async () => {
    await ctx.app?.close()
    await ctx.database?.close()
  })
  return ctx
}

let counter = 0
/** A username no other test in this process uses. */
export const uniqueName = (prefix = 'user') => `${prefix}_${process.pid}_${++counter}`.slice(0, 32)

export interface Agent {
  cookie: string
  user: { id: string; username: string }
  request(method: string, url: string, body?: unknown): Promise<LightMyRequestResponse>
}

/** Signs up a new user and returns a client that sends its session cookie and JSON bodies. */
export async function signUp(app: FastifyInstance, username = uniqueName()): Promise<Agent> {
  const response = await app.inject({
    method: 'POST',
    url: '/api/auth/signup',
    headers: { 'content-type': 'application/json' },
    payload: { username, password: 'correct horse battery' },
  })
  if (response.statusCode !== 201) throw new Error(`signup failed: ${response.statusCode} ${response.body}`)
  const cookie = response.cookies.map((c) => `${c.name}=${c.value}`).join('; ')
  return {
    cookie,
    user: response.json().user,
    request: (method, url, body) =>
      app.inject({
        method: method as 'GET',
        url,
        headers: { cookie, ...(method === 'GET' ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
      }),
  }
}
