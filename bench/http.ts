/**
 * HTTP send throughput: N concurrent keep-alive clients, each a user of its own,
 * POST /api/rooms/:roomId/messages with a fresh UUID clientId per request into
 * one public room, for a fixed time. Each client waits for its response before
 * sending again (closed loop), so when the clock runs out nothing is in flight
 * and the stored count must equal the 2xx count exactly. Then the room's log is
 * paged over GET /events and checked: count and gap-free seqs.
 */
import { randomUUID } from 'node:crypto'
import http from 'node:http'
import { createRoom, type FerryServer, joinRoom, readAllSeqs, signup, startFerry } from './lib/ferry.ts'
import { createTempDatabase, postgresProblem } from './lib/pg.ts'
import { quietGate, roundStats, Sampler, type WindowStats } from './lib/proc.ts'
import { percentiles, round } from './lib/stats.ts'

export interface HttpResult {
  engine: 'pglite' | 'postgres'
  skipped?: string
  error?: string
  clients?: number
  seconds?: number
  requests?: number
  ok2xx?: number
  non2xx?: number
  errors?: number
  messagesPerSecond?: number
  latencyMs?: { p50: number; p90: number; p99: number; max: number }
  stored?: number
  storedEqualsOk?: boolean
  gapFree?: boolean
  lastSeq?: number
  /** Server RSS/CPU and the machine's CPU split while measuring (generator = this process). */
  cpu?: WindowStats
  /** The machine's busy share (% of all cores) just before the run, from other work. */
  backgroundBusyPct?: number
}

function post(agent: http.Agent, port: number, path: string, cookie: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        agent,
        host: '127.0.0.1',
        port,
        method: 'POST',
        path,
        headers: {
          cookie,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        },
        timeout: 30_000,
      },
      (res) => {
        res.resume()
        res.on('end', () => resolve(res.statusCode ?? 0))
        res.on('error', reject)
      },
    )
    req.on('timeout', () => req.destroy(new Error('timeout')))
    req.on('error', reject)
    req.end(body)
  })
}

async function runAgainst(
  server: FerryServer,
  engine: HttpResult['engine'],
  seconds: number,
  clients: number,
  database: string | undefined,
) {
  const tag = Math.random().toString(36).slice(2, 8)
  const users = []
  for (let i = 0; i < clients; i++) users.push(await signup(server.base, `h${tag}_${i}`))
  const roomId = await createRoom(server.base, users[0]!.cookie, `bench-http-${tag}`)
  for (const u of users.slice(1)) await joinRoom(server.base, u.cookie, roomId)

  const agent = new http.Agent({ keepAlive: true, maxSockets: clients })
  const path = `/api/rooms/${roomId}/messages`
  let ok = 0
  let non2xx = 0
  let errors = 0
  const latencies: number[] = []
  const body = 'x'.repeat(60)

  const loop = async (cookie: string, until: number, record: boolean) => {
    // Bounded by time and by count (never more than 1M requests per client).
    for (let n = 0; n < 1_000_000 && performance.now() < until; n++) {
      const payload = JSON.stringify({ clientId: randomUUID(), body: `${body} ${n}` })
      const t0 = performance.now()
      try {
        const status = await post(agent, server.port, path, cookie, payload)
        if (status >= 200 && status < 300) ok++
        else non2xx++
      } catch {
        errors++
      }
      if (record) latencies.push(performance.now() - t0)
    }
  }

  // Warm-up (JIT, connections, caches): counted for the stored-vs-2xx check, not for the figures.
  const warm = performance.now() + Math.min(2000, seconds * 200)
  await Promise.all(users.map((u) => loop(u.cookie, warm, false)))
  const okBefore = ok
  const sampler = new Sampler(server.pid, process.pid, database)
  sampler.start()
  const t0 = performance.now()
  await Promise.all(users.map((u) => loop(u.cookie, t0 + seconds * 1000, true)))
  const elapsed = (performance.now() - t0) / 1000
  const usage = sampler.stop()
  agent.destroy()

  const { seqs, messages, lastSeq } = await readAllSeqs(server.base, users[0]!.cookie, roomId)
  const gapFree = seqs.every((s, i) => s === i + 1) && lastSeq === seqs.length
  const [p50, p90, p99, max] = percentiles(latencies, [50, 90, 99, 100])
  const result: HttpResult = {
    engine,
    clients,
    seconds: round(elapsed, 2),
    requests: latencies.length,
    ok2xx: ok,
    non2xx,
    errors,
    messagesPerSecond: round((ok - okBefore) / elapsed, 0),
    latencyMs: { p50: round(p50!, 2), p90: round(p90!, 2), p99: round(p99!, 2), max: round(max!, 2) },
    stored: messages,
    storedEqualsOk: messages === ok,
    gapFree,
    lastSeq,
    cpu: roundStats(usage),
  }
  return result
}

export async function runHttp(options: { seconds: number; clients: number; log: (s: string) => void }) {
  const results: HttpResult[] = []
  for (const engine of ['pglite', 'postgres'] as const) {
    let server: FerryServer | undefined
    let drop: (() => Promise<void>) | undefined
    try {
      let databaseUrl: string | undefined
      let dbName: string | undefined
      if (engine === 'postgres') {
        const problem = await postgresProblem()
        if (problem) {
          options.log(`http/postgres skipped: ${problem}`)
          results.push({ engine, skipped: problem })
          continue
        }
        const tmp = await createTempDatabase()
        drop = tmp.drop
        databaseUrl = tmp.url
        dbName = tmp.name
      }
      const backgroundBusyPct = await quietGate(`http/${engine}`, options.log)
      options.log(`http/${engine}: starting server, ${options.clients} clients for ${options.seconds} s`)
      // The per-user send limit covers HTTP too; this measures the append path, not the limiter.
      server = await startFerry({ databaseUrl, env: { WS_SEND_RATE_PER_SECOND: '1000000', WS_SEND_BURST: '1000000' } })
      results.push({
        ...(await runAgainst(server, engine, options.seconds, options.clients, dbName)),
        backgroundBusyPct,
      })
    } catch (error) {
      options.log(`http/${engine} failed: ${(error as Error).message}`)
      results.push({ engine, error: (error as Error).message.slice(0, 2000) })
    } finally {
      await server?.stop()
      await drop?.().catch((e) => options.log(`could not drop the bench database: ${e.message}`))
    }
  }
  return results
}
