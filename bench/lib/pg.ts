/** A throwaway PostgreSQL database for one benchmark run. */
import { randomBytes } from 'node:crypto'
import pg from 'pg'

export const ADMIN_URL = process.env.BENCH_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

export interface TempDatabase {
  url: string
  name: string
  drop(): Promise<void>
}

/** Creates `ferry_bench_<random>`; throws with the reason when PostgreSQL is not reachable. */
export async function createTempDatabase(): Promise<TempDatabase> {
  const admin = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 3000 })
  await admin.connect()
  const name = `ferry_bench_${randomBytes(4).toString('hex')}`
  try {
    await admin.query(`CREATE DATABASE ${name}`)
  } finally {
    await admin.end()
  }
  const url = new URL(ADMIN_URL)
  url.pathname = `/${name}`
  return {
    url: url.toString(),
    name,
    async drop() {
      const c = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 3000 })
      await c.connect()
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      } finally {
        await c.end()
      }
    },
  }
}

/** Why PostgreSQL cannot be used, or undefined when it answers. */
export async function postgresProblem(): Promise<string | undefined> {
  const c = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 3000 })
  try {
    await c.connect()
    await c.query('SELECT 1')
    return undefined
  } catch (error) {
    return `PostgreSQL at ${ADMIN_URL.replace(/\/\/[^@]*@/, '//')} not reachable (${(error as Error).message})`
  } finally {
    await c.end().catch(() => {})
  }
}

export interface ActivitySummary {
  samples: number
  /** Mean number of the bench database's backends in each state per sample. */
  meanByState: Record<string, number>
  /** The most frequent statements (first 60 characters) among active backends, with their share of active samples. */
  topActive: Array<{ query: string; share: number }>
}

/**
 * Samples pg_stat_activity for one database every `everyMs` between start()
 * and stop(): where the server's connections spend their time (running a
 * statement, idle inside a transaction waiting for the app, idle in the pool).
 */
export class ActivitySampler {
  #client: pg.Client | undefined
  #timer: NodeJS.Timeout | undefined
  #busy = false
  #samples = 0
  #states = new Map<string, number>()
  #active = new Map<string, number>()
  #activeTotal = 0
  constructor(readonly database: string) {}

  async start(everyMs = 50): Promise<void> {
    this.#client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 3000 })
    await this.#client.connect()
    this.#timer = setInterval(() => void this.#sample(), everyMs)
  }

  async #sample(): Promise<void> {
    if (this.#busy || !this.#client) return
    this.#busy = true
    try {
      const { rows } = await this.#client.query(
        `SELECT state, left(regexp_replace(query, '\\s+', ' ', 'g'), 60) AS query
           FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid() AND backend_type = 'client backend'`,
        [this.database],
      )
      this.#samples++
      for (const row of rows) {
        const state = row.state ?? 'unknown'
        this.#states.set(state, (this.#states.get(state) ?? 0) + 1)
        if (state === 'active') {
          this.#activeTotal++
          this.#active.set(row.query, (this.#active.get(row.query) ?? 0) + 1)
        }
      }
    } catch {
      // a missed sample
    } finally {
      this.#busy = false
    }
  }

  async stop(): Promise<ActivitySummary> {
    clearInterval(this.#timer)
    for (let i = 0; i < 50 && this.#busy; i++) await new Promise((r) => setTimeout(r, 10))
    await this.#client?.end().catch(() => {})
    const n = Math.max(1, this.#samples)
    const meanByState: Record<string, number> = {}
    for (const [state, count] of this.#states) meanByState[state] = Math.round((count / n) * 100) / 100
    const topActive = [...this.#active]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 4)
      .map(([query, count]) => ({ query, share: Math.round((count / Math.max(1, this.#activeTotal)) * 100) / 100 }))
    return { samples: this.#samples, meanByState, topActive }
  }
}
