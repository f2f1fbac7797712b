import { randomBytes, randomUUID } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../../server/app.ts'
import type { Config } from '../../server/config.ts'
import type { Database } from '../../server/db/database.ts'
import { SendRateLimiter } from '../../server/realtime/rate-limit.ts'
import { type Agent, signUp, testConfig } from '../support/app.ts'
import { redisReachable, TEST_REDIS_URL } from '../support/cluster.ts'
import { createTestDatabase, describeEachEngine } from '../support/databases.ts'
import { freePort } from '../support/server-process.ts'
import { connect, createRoom, realtimeConfig } from '../support/ws.ts'

const BURST = 5
const REDIS_URL = TEST_REDIS_URL

/**
 * Two Ferry nodes in one process on one database (issue 11 item 5,
 * docs/SCALING.md "Rate limits across processes"). Each node keeps its own
 * per-user send bucket: the bound is the limit × the nodes a user's sockets
 * are spread over. The clock of every bucket is frozen (no refill), so the
 * counts are exact.
 */
async function twoNodes(database: Database, overrides: Partial<Config>, extra: { loginLimitKeyPrefix?: string } = {}) {
  const build = () =>
    buildApp({
      config: testConfig(overrides),
      database,
      serveClient: false,
      sendLimiter: new SendRateLimiter(1, BURST, () => 0),
      ...extra,
    })
  const nodes = [await build(), await build()] as const
  for (const node of nodes) await node.listen({ port: 0, host: '127.0.0.1' })
  return nodes
}

describeEachEngine('the send limit across two nodes', (engine) => {
  let database: Database
  let nodes: readonly [FastifyInstance, FastifyInstance]
  let alice: Agent
  beforeAll(async () => {
    database = await createTestDatabase(engine)
    nodes = await twoNodes(database, { realtime: realtimeConfig({ sendRatePerSecond: 1, sendBurst: BURST }) })
    alice = await signUp(nodes[0])
  })
  afterAll(async () => {
    for (const node of nodes ?? []) await node.close()
    await database?.close()
  })

  it('holds per node: one user with a socket on each node gets at most burst × 2 sends through, no more', async () => {
    const roomId = await createRoom(alice)
    // The same session on both nodes (one database): a socket on each.
    const sockets = await Promise.all(nodes.map((node) => connect(node, alice)))
    const clientIds = sockets.map(() => Array.from({ length: 3 * BURST }, () => randomUUID()))
    sockets.forEach((socket, n) => {
      for (const clientId of clientIds[n]!) socket.send({ type: 'send', roomId, clientId, body: 'spread' })
    })
    const answers = await Promise.all(
      sockets.map((socket, n) =>
        Promise.all(
          clientIds[n]!.map((clientId) =>
            Promise.race([
              socket.waitFor('ack', (f) => f.clientId === clientId).then(() => 'ack'),
              socket.waitFor('error', (f) => f.clientId === clientId).then((f) => f.code),
            ]),
          ),
        ),
      ),
    )
    for (const perNode of answers) {
      expect(perNode.filter((a) => a === 'ack')).toHaveLength(BURST)
      expect(perNode.filter((a) => a === 'rate_limited')).toHaveLength(2 * BURST)
    }
    // Over HTTP on either node the buckets are as empty: HTTP and WebSocket sends share a node's bucket.
    for (const node of nodes) {
      const response = await node.inject({
        method: 'POST',
        url: `/api/rooms/${roomId}/messages`,
        headers: { cookie: alice.cookie, 'content-type': 'application/json' },
        payload: { clientId: randomUUID(), body: 'one more' },
      })
      expect(response.statusCode).toBe(429)
    }
    const stored = (await alice.request('GET', `/api/rooms/${roomId}/events?after=0`)).json().events
    expect(stored.filter((e: { kind: string }) => e.kind === 'message.created')).toHaveLength(2 * BURST)
    for (const socket of sockets) await socket.close()
  })
})

const LOGIN_MAX = 3

async function loginAttempt(node: FastifyInstance, username: string): Promise<number> {
  const response = await node.inject({
    method: 'POST',
    url: '/api/auth/login',
    headers: { 'content-type': 'application/json' },
    payload: { username, password: 'not the password' },
  })
  return response.statusCode
}

describe('the login limit across two nodes', () => {
  const loginLimit = { authRateLimit: { max: LOGIN_MAX, windowMs: 60_000 } }
  let database: Database
  beforeAll(async () => {
    database = await createTestDatabase('pglite')
  })
  afterAll(() => database?.close())

  it('without Redis is per node: limit × 2 attempts from one address, then 429 on each', async () => {
    const nodes = await twoNodes(database, loginLimit)
    try {
      const statuses = []
      for (let i = 0; i < LOGIN_MAX + 1; i++)
        for (const node of nodes) statuses.push(await loginAttempt(node, 'nobody'))
      expect(statuses.filter((s) => s === 401)).toHaveLength(2 * LOGIN_MAX)
      expect(statuses.slice(-2)).toEqual([429, 429])
    } finally {
      for (const node of nodes) await node.close()
    }
  })

  it('with Redis unreachable fails open: logins go on, nothing crashes', async () => {
    const nodes = await twoNodes(database, { ...loginLimit, redisUrl: `redis://127.0.0.1:${await freePort()}` })
    try {
      expect(await loginAttempt(nodes[0], 'nobody')).toBe(401)
    } finally {
      for (const node of nodes) await node.close()
    }
  })
})

const redisUp = await redisReachable()
describe.skipIf(!redisUp)(
  redisUp ? 'the login limit with Redis' : `the login limit with Redis — NOT RUN: Redis not reachable at ${REDIS_URL}`,
  () => {
    const prefix = `ferry-test:${randomBytes(6).toString('hex')}:login:`
    let database: Database
    let nodes: readonly [FastifyInstance, FastifyInstance]
    beforeAll(async () => {
      database = await createTestDatabase('pglite')
      nodes = await twoNodes(
        database,
        { authRateLimit: { max: LOGIN_MAX, windowMs: 60_000 }, redisUrl: REDIS_URL },
        { loginLimitKeyPrefix: prefix },
      )
    })
    afterAll(async () => {
      for (const node of nodes ?? []) await node.close()
      await database?.close()
      const redis = new Redis(REDIS_URL)
      const keys = await redis.keys(`${prefix}*`)
      if (keys.length > 0) await redis.del(...keys)
      redis.disconnect()
    })

    it('is shared: limit attempts in all from one address, whichever node they reach, then 429 on both', async () => {
      const statuses = []
      for (let i = 0; i < LOGIN_MAX; i++) statuses.push(await loginAttempt(nodes[i % 2]!, 'nobody'))
      expect(statuses).toEqual(Array(LOGIN_MAX).fill(401))
      expect(await loginAttempt(nodes[0], 'nobody')).toBe(429)
      expect(await loginAttempt(nodes[1], 'nobody')).toBe(429)
      // Counted in Redis under this run's prefix, nowhere else.
      const redis = new Redis(REDIS_URL)
      try {
        expect((await redis.keys(`${prefix}*`)).length).toBeGreaterThan(0)
      } finally {
        redis.disconnect()
      }
    })
  },
)
