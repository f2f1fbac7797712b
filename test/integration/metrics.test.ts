import { randomUUID } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../../server/app.ts'
import type { Database } from '../../server/db/database.ts'
import { Metrics } from '../../server/metrics/metrics.ts'
import { startMetricsServer } from '../../server/metrics/metrics-server.ts'
import { CLOSE_CODES } from '../../shared/errors.ts'
import { LIMITS } from '../../shared/limits.ts'
import { expectError } from '../support/api.ts'
import { type Agent, signUp, testConfig, useTestApp } from '../support/app.ts'
import { createTestDatabase } from '../support/databases.ts'
import { parseMetrics, sample } from '../support/prometheus.ts'
import { connect, createRoom, joinRoom, realtimeConfig, until } from '../support/ws.ts'

const TOKEN = 'metrics-token-of-the-test-0123456789'

/** Every metric docs/SCALING.md lists, by name (histograms by their _count sample). */
const FERRY_METRICS = [
  'ferry_sockets_open',
  'ferry_subscriptions',
  'ferry_append_batch_size_count',
  'ferry_append_commit_seconds_count',
  'ferry_fanout_seconds_count',
  'ferry_bus_lag_seconds_count',
  'ferry_bus_gap_fills_total',
  'ferry_bus_resyncs_total',
  'ferry_replay_events_count',
  'ferry_resets_total',
  'ferry_slow_consumer_closes_total',
  'ferry_push_queue_depth',
  // Event-loop lag, from prom-client's default metrics in the app's registry.
  'nodejs_eventloop_lag_seconds',
  'nodejs_eventloop_lag_p99_seconds',
  'process_resident_memory_bytes',
]

/** Metrics (issue 11 item 8): what is counted, and who may read it. */
describe('metrics on the main port (METRICS_TOKEN)', () => {
  const ctx = useTestApp('pglite', {
    metrics: { port: undefined, host: '127.0.0.1', token: TOKEN },
    realtime: realtimeConfig({ sendRatePerSecond: 1, sendBurst: 8, resumeMaxEvents: 5, maxBufferedBytes: 64 * 1024 }),
  })
  let alice: Agent
  let bob: Agent
  beforeAll(async () => {
    await ctx.app.listen({ port: 0, host: '127.0.0.1' })
    alice = await signUp(ctx.app)
    bob = await signUp(ctx.app)
  })

  const scrape = async () => {
    const response = await ctx.app.inject({ url: '/metrics', headers: { authorization: `Bearer ${TOKEN}` } })
    expect(response.statusCode, response.body).toBe(200)
    expect(response.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8')
    return parseMetrics(response.body)
  }

  it('refuses a missing, malformed or wrong token with a typed 401', async () => {
    for (const authorization of [
      undefined,
      TOKEN,
      `Basic ${TOKEN}`,
      `Bearer ${TOKEN}x`,
      `Bearer ${TOKEN.slice(1)}`,
      'Bearer ',
    ]) {
      const response = await ctx.app.inject({ url: '/metrics', headers: authorization ? { authorization } : {} })
      expectError(response, 401, 'unauthorized')
      expect(response.headers['www-authenticate']).toBe('Bearer')
    }
  })

  it('serves every metric in Prometheus text format to the right token', async () => {
    const samples = await scrape()
    for (const name of FERRY_METRICS) expect(samples.has(name), name).toBe(true)
    expect(sample(samples, 'ferry_push_queue_depth')).toBe(0)
  })

  it('counts sockets and subscriptions over their lifecycle, sends by result, batches, replays and resets', async () => {
    const roomId = await createRoom(alice)
    const privateRoom = await createRoom(alice, 'private')
    const before = await scrape()
    const socket = await connect(ctx.app, alice)
    await socket.subscribe(roomId)
    let samples = await scrape()
    expect(sample(samples, 'ferry_sockets_open')).toBe(sample(before, 'ferry_sockets_open') + 1)
    expect(sample(samples, 'ferry_subscriptions')).toBe(sample(before, 'ferry_subscriptions') + 1)

    // WebSocket: three accepted, a resend of one (duplicate), one refused (bob's socket, not a member).
    const clientIds = [randomUUID(), randomUUID(), randomUUID()]
    for (const clientId of clientIds) socket.send({ type: 'send', roomId, clientId, body: 'hi' })
    for (const clientId of clientIds) await socket.waitFor('ack', (f) => f.clientId === clientId)
    socket.send({ type: 'send', roomId, clientId: clientIds[0]!, body: 'hi' })
    await socket.waitFor('ack', (f) => f.clientId === clientIds[0] && f.duplicate)
    const other = await connect(ctx.app, bob)
    const refused = randomUUID()
    other.send({ type: 'send', roomId: privateRoom, clientId: refused, body: 'let me in' })
    await other.waitFor('error', (f) => f.clientId === refused)
    // HTTP: one accepted, then the rest of bob's burst of 8 (one spent above) and one past it: rate_limited.
    await joinRoom(bob, roomId)
    const http = (clientId = randomUUID()) =>
      bob.request('POST', `/api/rooms/${roomId}/messages`, { clientId, body: 'over http' })
    expect((await http()).statusCode).toBe(201)
    let statuses: number[] = []
    for (let i = 0; i < 8; i++) statuses.push((await http()).statusCode)
    statuses = statuses.filter((status) => status === 429)
    expect(statuses.length).toBeGreaterThan(0)

    samples = await scrape()
    const sends = (result: string, transport: string) =>
      sample(samples, 'ferry_sends_total', { result, transport }) -
      sample(before, 'ferry_sends_total', { result, transport })
    expect(sends('accepted', 'ws')).toBe(3)
    expect(sends('duplicate', 'ws')).toBe(1)
    expect(sends('not_found', 'ws')).toBe(1)
    expect(sends('accepted', 'http')).toBe(9 - statuses.length)
    expect(sends('rate_limited', 'http')).toBe(statuses.length)
    // Every stored write went through a committed batch: sizes sum to the writes appended.
    const appended = sample(samples, 'ferry_append_batch_size_sum') - sample(before, 'ferry_append_batch_size_sum')
    expect(appended).toBeGreaterThanOrEqual(3 + 1 + 9 - statuses.length)
    expect(sample(samples, 'ferry_append_commit_seconds_count')).toBeGreaterThan(
      sample(before, 'ferry_append_commit_seconds_count'),
    )

    // A resubscribe three behind replays three; from 0, past resumeMaxEvents (5), it is a reset.
    const lastSeq = (await bob.request('GET', `/api/rooms/${roomId}/events?after=0`)).json().lastSeq as number
    expect(lastSeq).toBeGreaterThan(5)
    await socket.subscribe(roomId, lastSeq - 3)
    await socket.subscribe(roomId, 0)
    const afterReplay = await scrape()
    expect(sample(afterReplay, 'ferry_replay_events_sum') - sample(samples, 'ferry_replay_events_sum')).toBe(3)
    expect(sample(afterReplay, 'ferry_resets_total') - sample(samples, 'ferry_resets_total')).toBe(1)
    // Re-subscribing the same room does not count it twice.
    expect(sample(afterReplay, 'ferry_subscriptions')).toBe(sample(before, 'ferry_subscriptions') + 1)

    await socket.close()
    await other.close()
    await until(
      async () => sample(await scrape(), 'ferry_sockets_open') === sample(before, 'ferry_sockets_open'),
      'the sockets to be counted closed',
    )
    expect(sample(await scrape(), 'ferry_subscriptions')).toBe(sample(before, 'ferry_subscriptions'))
  })

  it('counts a slow consumer closed with 4008', async () => {
    const roomId = await createRoom(alice)
    await joinRoom(bob, roomId)
    const before = sample(await scrape(), 'ferry_slow_consumer_closes_total')
    const slow = await connect(ctx.app, bob)
    await slow.subscribe(roomId)
    // Bob's socket stops reading; big messages are appended until the server cuts him off.
    ;(slow.ws as unknown as { _socket: { pause(): void } })._socket.pause()
    const body = '🚢'.repeat(LIMITS.messageBodyMax)
    for (let round = 0; slow.isOpen && round < 100; round++) {
      await Promise.all(
        Array.from({ length: 20 }, () =>
          ctx.app.appender.append({
            roomId,
            authorId: alice.user.id,
            authorName: alice.user.username,
            clientId: randomUUID(),
            body,
          }),
        ),
      )
      if (sample(await scrape(), 'ferry_slow_consumer_closes_total') > before) break
    }
    expect(sample(await scrape(), 'ferry_slow_consumer_closes_total')).toBe(before + 1)
    ;(slow.ws as unknown as { _socket: { resume(): void } })._socket.resume()
    expect((await slow.closed).code).toBe(CLOSE_CODES.slowConsumer)
  })
})

describe('metrics not configured', () => {
  let database: Database
  let app: FastifyInstance
  const clientDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-metrics-client-'))
  beforeAll(async () => {
    fs.writeFileSync(path.join(clientDir, 'index.html'), '<!doctype html><title>Ferry</title>')
    database = await createTestDatabase('pglite')
    app = await buildApp({ config: testConfig({ clientDir }), database })
  })
  afterAll(async () => {
    await app?.close()
    await database?.close()
    fs.rmSync(clientDir, { recursive: true, force: true })
  })

  it('answers GET /metrics with a 404 like any unknown route, token or not (never the client shell)', async () => {
    expect((await app.inject({ url: '/some/client/route' })).statusCode).toBe(200)
    for (const headers of [{}, { authorization: `Bearer ${TOKEN}` }]) {
      const response = await app.inject({ url: '/metrics', headers })
      expectError(response, 404, 'not_found')
    }
  })
})

describe('the metrics port (METRICS_PORT)', () => {
  const metrics = new Metrics()
  let server: Awaited<ReturnType<typeof startMetricsServer>>
  beforeAll(async () => {
    metrics.sends.inc({ result: 'accepted', transport: 'ws' }, 2)
    server = await startMetricsServer({ host: '127.0.0.1', port: 0, source: () => metrics.render() })
  })
  afterAll(() => server?.close())

  it('serves /metrics on its own port without a token, and 404 for anything else', async () => {
    const url = `http://127.0.0.1:${server.port}`
    const response = await fetch(`${url}/metrics`)
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8')
    expect(
      sample(parseMetrics(await response.text()), 'ferry_sends_total', { result: 'accepted', transport: 'ws' }),
    ).toBe(2)
    for (const other of ['/', '/metrics/x', '/api/ws']) expect((await fetch(`${url}${other}`)).status).toBe(404)
    expect((await fetch(`${url}/metrics`, { method: 'POST' })).status).toBe(405)
  })

  it('answers 503 without a stack when the source fails (a worker that does not answer)', async () => {
    const failing = await startMetricsServer({
      host: '127.0.0.1',
      port: 0,
      source: () => Promise.reject(new Error('Operation timed out.')),
    })
    try {
      const response = await fetch(`http://127.0.0.1:${failing.port}/metrics`)
      expect(response.status).toBe(503)
      expect(await response.text()).not.toMatch(/at .*\.(ts|js):\d+/)
    } finally {
      await failing.close()
    }
  })
})
