import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { TEST_DATABASE_URL } from '../support/databases.ts'
import { parseMetrics, sample } from '../support/prometheus.ts'
import { createScratchDatabase, type ScratchDatabase } from '../support/scratch-database.ts'
import { buildServer, type ServerBuild } from '../support/server-build.ts'
import { freePort, runServerToExit, type ServerProcess, startServer } from '../support/server-process.ts'
import { TestSocket, until } from '../support/ws.ts'

/** The primary's JSON log lines with this message (pino's shape: level, time, pid, msg). */
function logLines(server: ServerProcess, msg: string): Record<string, unknown>[] {
  return server
    .output()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>
      } catch {
        return {}
      }
    })
    .filter((entry) => entry.msg === msg)
}

const TOKEN = 'workers-metrics-token-0123456789'

async function scrape(url: string, headers: Record<string, string> = {}) {
  const response = await fetch(url, { headers })
  expect(response.status).toBe(200)
  return parseMetrics(await response.text())
}

const workerPids = (server: ServerProcess) => logLines(server, 'worker listening').map((e) => e.workerPid as number)

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** A socket on the server's port, as a browser at its own origin would open it. */
async function openSocket(url: string, cookie: string): Promise<TestSocket> {
  const ws = new WebSocket(`${url.replace('http:', 'ws:')}/api/ws`, { headers: { cookie, origin: url } })
  const socket = new TestSocket(ws)
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve())
    ws.once('error', reject)
  })
  await socket.waitFor('hello')
  return socket
}

async function post(url: string, body: unknown, cookie = '') {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie },
    body: JSON.stringify(body),
  })
}

/** FERRY_WORKERS (issue 11 item 6): node:cluster workers sharing the port, run as `npm run serve` runs it. */
describe('FERRY_WORKERS', () => {
  let build: ServerBuild
  let database: ScratchDatabase | undefined
  let server: ServerProcess | undefined
  beforeAll(async () => {
    build = buildServer()
    if (TEST_DATABASE_URL) database = await createScratchDatabase()
  })
  afterAll(async () => {
    await server?.stop('SIGKILL')
    await database?.drop()
    build?.remove()
  })

  it('is refused on the embedded database with a message that names FERRY_WORKERS and DATABASE_URL', async () => {
    const result = await runServerToExit({ FERRY_WORKERS: '2', DATABASE_URL: '', PORT: '0' }, build.entry)
    expect(result.code).toBe(1)
    expect(result.output).toContain('Invalid configuration: FERRY_WORKERS needs DATABASE_URL')
    expect(result.output).not.toMatch(/at .*\.(ts|js):\d+/)
  })

  it('one process (the default) serves METRICS_PORT itself; /metrics on the main port is then a 404', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-metrics-'))
    const metricsPort = await freePort()
    const single = await startServer({ DATA_DIR: dataDir, METRICS_PORT: String(metricsPort) }, 60_000, build.entry)
    try {
      const samples = await scrape(`http://127.0.0.1:${metricsPort}/metrics`)
      expect(sample(samples, 'ferry_sockets_open')).toBe(0)
      expect(samples.has('nodejs_eventloop_lag_seconds')).toBe(true)
      expect((await fetch(`${single.url}/metrics`)).status).toBe(404)
      expect(await single.stop('SIGTERM')).toBe(0)
      await expect(fetch(`http://127.0.0.1:${metricsPort}/metrics`)).rejects.toThrow()
    } finally {
      await single.stop('SIGKILL')
      fs.rmSync(dataDir, { recursive: true, force: true })
    }
  })

  it('a worker that cannot start is started again after growing waits, and serves once it can', async ({ skip }) => {
    if (!database) return skip('TEST_DATABASE_URL is not set')
    // Something else holds the port: every worker fails to listen and exits at start.
    const port = await freePort()
    const squatter = net.createServer((socket) => socket.destroy())
    await new Promise<void>((resolve) => squatter.listen(port, '127.0.0.1', resolve))
    const child = spawn(process.execPath, build.entry, {
      env: {
        ...process.env,
        DATABASE_URL: database.url,
        FERRY_WORKERS: '2',
        LOG_LEVEL: 'info',
        HOST: '127.0.0.1',
        PORT: String(port),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    child.stdout.on('data', (chunk) => (output += chunk))
    child.stderr.on('data', (chunk) => (output += chunk))
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    const primary: ServerProcess = {
      child,
      url: `http://127.0.0.1:${port}`,
      output: () => output,
      stop: () => exited,
    }
    try {
      const waits = (worker: number) =>
        logLines(primary, 'worker exited')
          .filter((e) => e.worker === worker)
          .map((e) => e.restartInMs)
      // Both slots back off: 0.5 s, then 1 s, then 2 s … (no spinning).
      await until(() => waits(0).length >= 3 && waits(1).length >= 3, 'three failed starts per slot', 60_000)
      for (const worker of [0, 1]) expect(waits(worker).slice(0, 3)).toEqual([500, 1000, 2000])
      // The worker said why, in one line, without a stack trace.
      expect(output).toMatch(/Ferry cannot listen on 127\.0\.0\.1:\d+: the address is in use/)
      expect(output).not.toMatch(/at .*\.(ts|js):\d+/)
      // The port is free again: the next start succeeds and the primary serves.
      await new Promise<void>((resolve) => squatter.close(() => resolve()))
      await until(() => workerPids(primary).length === 2, 'both workers listening', 60_000)
      expect((await fetch(`${primary.url}/healthz`)).status).toBe(200)
      child.kill('SIGTERM')
      expect(await exited).toBe(0)
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL')
      squatter.close()
    }
  })

  const title = TEST_DATABASE_URL ? 'on PostgreSQL' : 'on PostgreSQL — NOT RUN: TEST_DATABASE_URL is not set'
  describe.skipIf(!TEST_DATABASE_URL)(title, () => {
    it('migrates once in the primary, serves from every worker, sums their metrics, restarts a killed one, and stops them all on SIGTERM', async () => {
      const metricsPort = await freePort()
      server = await startServer(
        {
          DATABASE_URL: database!.url,
          FERRY_WORKERS: '2',
          LOG_LEVEL: 'info',
          AUTH_RATE_LIMIT_MAX: '1000',
          METRICS_PORT: String(metricsPort),
          METRICS_TOKEN: TOKEN,
        },
        90_000,
        build.entry,
      )
      const s = server
      await until(() => workerPids(s).length === 2, 'two workers listening', 60_000)
      const [first, second] = workerPids(s) as [number, number]
      expect(first).not.toBe(second)
      expect(first).not.toBe(s.child.pid)
      // The primary migrated before forking; no worker ran the migrator (it logs nothing of the kind).
      expect(logLines(s, 'database migrated')).toHaveLength(1)
      expect(logLines(s, 'database migrated')[0]!.pid).toBe(s.child.pid)

      const signup = await post(`${s.url}/api/auth/signup`, {
        username: `w_${process.pid}`,
        password: 'long enough pw',
      })
      expect(signup.status).toBe(201)
      const cookie = signup.headers.getSetCookie()[0]!.split(';')[0]!
      const room = (await (await post(`${s.url}/api/rooms`, { name: 'Workers', visibility: 'public' }, cookie)).json())
        .room
      // Four sockets, dealt round robin over the workers: every one sees every message, whichever worker stored it.
      const sockets = await Promise.all(Array.from({ length: 4 }, () => openSocket(s.url, cookie)))
      for (const socket of sockets) await socket.subscribe(room.id)
      const send = (i: number) =>
        post(`${s.url}/api/rooms/${room.id}/messages`, { clientId: randomUUID(), body: `m${i}` }, cookie)
      // New connections are dealt round robin: these go to both workers, which share one log.
      const sent = await Promise.all(Array.from({ length: 10 }, (_, i) => send(i)))
      expect(sent.map((r) => r.status)).toEqual(Array(10).fill(201))

      for (const socket of sockets) {
        await until(() => socket.lastSeq(room.id) === 10, 'every message on every socket')
        expect(socket.seqs(room.id)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1))
      }

      // One scrape of the primary's port sees both workers: their counts add up to the ten sends.
      const accepted = { result: 'accepted', transport: 'http' }
      const summed = await scrape(`http://127.0.0.1:${metricsPort}/metrics`)
      expect(sample(summed, 'ferry_sends_total', accepted)).toBe(10)
      expect(sample(summed, 'ferry_append_batch_size_sum')).toBe(10)
      expect(summed.has('nodejs_eventloop_lag_seconds')).toBe(true)
      expect(sample(summed, 'ferry_sockets_open')).toBe(4)
      expect(sample(summed, 'ferry_subscriptions')).toBe(4)
      // The token route on the main port lands on one worker, which answers the same sum.
      const viaWorker = await scrape(`${s.url}/metrics`, { authorization: `Bearer ${TOKEN}` })
      expect(sample(viaWorker, 'ferry_sends_total', accepted)).toBe(10)
      expect((await fetch(`${s.url}/metrics`)).status).toBe(401)

      for (const socket of sockets) await socket.close()

      // kill -9 a worker: the primary starts another in its place, and the port keeps answering.
      process.kill(first, 'SIGKILL')
      await until(() => logLines(s, 'worker exited').length === 1, 'the primary seeing the worker exit', 30_000)
      expect(logLines(s, 'worker exited')[0]).toMatchObject({ workerPid: first, signal: 'SIGKILL' })
      await until(() => workerPids(s).length === 3, 'a replacement worker listening', 60_000)
      const replacement = workerPids(s)[2]!
      expect([first, second]).not.toContain(replacement)
      expect(isAlive(first)).toBe(false)
      const after = await Promise.all(Array.from({ length: 6 }, (_, i) => send(10 + i)))
      expect(after.map((r) => r.status)).toEqual(Array(6).fill(201))
      const events = await (await fetch(`${s.url}/api/rooms/${room.id}/events?after=0`, { headers: { cookie } })).json()
      expect(events.lastSeq).toBe(16)
      // The killed worker's counts went with it (documented: a restarted worker starts from zero).
      const afterKill = sample(await scrape(`http://127.0.0.1:${metricsPort}/metrics`), 'ferry_sends_total', accepted)
      expect(afterKill).toBeGreaterThanOrEqual(6)
      expect(afterKill).toBeLessThanOrEqual(16)

      // SIGTERM to the primary: every worker shuts down gracefully, then the primary exits 0.
      expect(await s.stop('SIGTERM')).toBe(0)
      expect(isAlive(second)).toBe(false)
      expect(isAlive(replacement)).toBe(false)
      expect(logLines(s, 'worker exited')).toHaveLength(1)
      expect(s.output()).not.toMatch(/at .*\.(ts|js):\d+/)
      await expect(fetch(`http://127.0.0.1:${metricsPort}/metrics`)).rejects.toThrow()
    })
  })
})
