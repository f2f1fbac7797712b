/** Running a Ferry server for a benchmark and driving its HTTP API. */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { freePort, ROOT, type Spawned, spawnGroup, stopGroup, waitHealthy } from './proc.ts'

export interface FerryServer {
  base: string
  port: number
  pid: number
  spawned: Spawned
  stop(): Promise<void>
}

/**
 * Starts `node --import tsx server/main.ts` (one process, so its pid is the
 * server's pid for RSS/CPU) on PGlite in a fresh DATA_DIR, or on `databaseUrl`.
 */
export async function startFerry(options: {
  databaseUrl?: string
  env?: Record<string, string>
}): Promise<FerryServer> {
  const port = await freePort()
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-bench-'))
  const env: Record<string, string> = {
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    DATA_DIR: dataDir,
    AUTH_RATE_LIMIT_MAX: '1000000',
    CLIENT_DIR: path.join(dataDir, 'no-client'),
    DATABASE_URL: options.databaseUrl ?? '',
    ...options.env,
  }
  // Diagnostics: BENCH_FERRY_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the server (not allowed in NODE_OPTIONS).
  const nodeArgs = (process.env.BENCH_FERRY_NODE_ARGS ?? '').split(/\s+/).filter(Boolean)
  const spawned = spawnGroup(process.execPath, [...nodeArgs, '--import', 'tsx', 'server/main.ts'], env)
  const base = `http://127.0.0.1:${port}`
  try {
    await waitHealthy(`${base}/healthz`, spawned, performance.now())
  } catch (error) {
    await stopGroup(spawned)
    fs.rmSync(dataDir, { recursive: true, force: true })
    throw error
  }
  return {
    base,
    port,
    pid: spawned.child.pid!,
    spawned,
    async stop() {
      await stopGroup(spawned)
      fs.rmSync(dataDir, { recursive: true, force: true })
    },
  }
}

export { ROOT }

async function call(base: string, method: string, url: string, cookie: string | undefined, body?: unknown) {
  const headers: Record<string, string> = {}
  if (cookie) headers.cookie = cookie
  if (method !== 'GET') headers['content-type'] = 'application/json'
  const res = await fetch(base + url, {
    method,
    headers,
    body: method === 'GET' ? undefined : JSON.stringify(body ?? {}),
    signal: AbortSignal.timeout(30_000),
  })
  const text = await res.text()
  const json = text ? JSON.parse(text) : undefined
  return { status: res.status, json, res }
}

/** Signs up a user; returns the cookie header value `ferry_session=...` and the user id. */
export async function signup(base: string, username: string): Promise<{ cookie: string; userId: string }> {
  const { status, json, res } = await call(base, 'POST', '/api/auth/signup', undefined, {
    username,
    password: 'bench-password-123',
  })
  if (status !== 201) throw new Error(`signup ${username}: ${status} ${JSON.stringify(json)}`)
  const setCookie = res.headers.getSetCookie().find((c) => c.startsWith('ferry_session='))
  if (!setCookie) throw new Error('signup: no ferry_session cookie')
  return { cookie: setCookie.split(';')[0]!, userId: json.user.id }
}

export async function createRoom(base: string, cookie: string, name: string): Promise<string> {
  const { status, json } = await call(base, 'POST', '/api/rooms', cookie, { name, visibility: 'public' })
  if (status !== 201) throw new Error(`create room: ${status} ${JSON.stringify(json)}`)
  return json.room.id
}

export async function joinRoom(base: string, cookie: string, roomId: string): Promise<void> {
  const { status, json } = await call(base, 'POST', `/api/rooms/${roomId}/join`, cookie, {})
  if (status >= 300 && json?.error?.code !== 'already_member') {
    throw new Error(`join: ${status} ${JSON.stringify(json)}`)
  }
}

/** Registers a push subscription for the user's session (issue 10). */
export async function subscribePush(base: string, cookie: string, body: unknown): Promise<void> {
  const { status, json } = await call(base, 'POST', '/api/push/subscriptions', cookie, body)
  if (status !== 201 && status !== 200) throw new Error(`push subscription: ${status} ${JSON.stringify(json)}`)
}

/** Pages GET /events from 0; returns every event's seq and the count of messages (bounded by `maxPages`). */
export async function readAllSeqs(base: string, cookie: string, roomId: string, maxPages = 10_000) {
  const seqs: number[] = []
  let messages = 0
  let after = 0
  let lastSeq = 0
  for (let page = 0; page < maxPages; page++) {
    const { status, json } = await call(base, 'GET', `/api/rooms/${roomId}/events?after=${after}&limit=500`, cookie)
    if (status !== 200) throw new Error(`events: ${status} ${JSON.stringify(json)}`)
    for (const e of json.events as Array<{ seq: number; kind: string }>) {
      seqs.push(e.seq)
      if (e.kind === 'message.created') messages++
    }
    lastSeq = json.lastSeq
    const last = (json.events as Array<{ seq: number }>).at(-1)
    if (!json.hasMore || !last) break
    after = last.seq
  }
  return { seqs, messages, lastSeq }
}

/** Runs `fn` over items with at most `limit` at once. */
export async function pool<T, R>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<R>) {
  const out: R[] = new Array(items.length)
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const i = next++
      out[i] = await fn(items[i]!, i)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return out
}
