import { randomUUID } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type BuildOptions, buildApp } from '../../server/app.ts'
import type { Database } from '../../server/db/database.ts'
import { Appender, type AppendRequest } from '../../server/messages/appender.ts'
import { LocalBus } from '../../server/realtime/bus.ts'
import { expectError } from '../support/api.ts'
import { type Agent, signUp, testConfig } from '../support/app.ts'
import { createTestDatabase, describeEachEngine, type EngineName } from '../support/databases.ts'
import { connect, createRoom, realtimeConfig, storedEvents } from '../support/ws.ts'

/** A listening app on a fresh database, built with the given appender options and send limits. */
function useApp(engine: EngineName, appender: BuildOptions['appender'], sendBurst: number) {
  const ctx = {} as { app: FastifyInstance; database: Database }
  beforeAll(async () => {
    ctx.database = await createTestDatabase(engine)
    // A refill slower than any test: the burst is all there is.
    const config = testConfig({ realtime: realtimeConfig({ sendRatePerSecond: 0.001, sendBurst }) })
    ctx.app = await buildApp({ config, database: ctx.database, serveClient: false, appender })
    await ctx.app.listen({ port: 0, host: '127.0.0.1' })
  })
  afterAll(async () => {
    await ctx.app?.close()
    await ctx.database?.close()
  })
  return ctx
}

describeEachEngine('append: bounded work', (engine) => {
  describe('one send limit per user for HTTP and the socket', () => {
    const ctx = useApp(engine, undefined, 3)

    it('counts HTTP and socket sends against the same bucket; HTTP answers 429 rate_limited with Retry-After', async () => {
      const alice = await signUp(ctx.app)
      const roomId = await createRoom(alice)
      const post = (clientId = randomUUID()) =>
        alice.request('POST', `/api/rooms/${roomId}/messages`, { clientId, body: 'hello' })
      expect((await post()).statusCode).toBe(201)
      expect((await post()).statusCode).toBe(201)

      const socket = await connect(ctx.app, alice)
      const [third, fourth] = [randomUUID(), randomUUID()]
      socket.send({ type: 'send', roomId, clientId: third, body: 'third' })
      expect((await socket.waitFor('ack', (f) => f.clientId === third)).seq).toBe(3)
      socket.send({ type: 'send', roomId, clientId: fourth, body: 'fourth' })
      const refused = await socket.waitFor('error', (f) => f.clientId === fourth)
      expect(refused.code).toBe('rate_limited')
      expect(refused.retryAfterMs).toBeGreaterThan(0)
      await socket.close()

      const limited = await post()
      expectError(limited, 429, 'rate_limited')
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0)
      expect((await storedEvents(alice, roomId)).map((e) => e.seq)).toEqual([1, 2, 3])

      // Another user has a bucket of their own.
      const bob = await signUp(ctx.app)
      const bobsRoom = await createRoom(bob)
      const bobs = await bob.request('POST', `/api/rooms/${bobsRoom}/messages`, { clientId: randomUUID(), body: 'hi' })
      expect(bobs.statusCode).toBe(201)
    })
  })

  describe('a full appender queue', () => {
    // No room at all: every write is refused before it is queued.
    const ctx = useApp(engine, { maxPending: 0 }, 100)
    let alice: Agent
    beforeAll(async () => {
      alice = await signUp(ctx.app)
    })

    it('answers HTTP with 503 overloaded and Retry-After, storing nothing', async () => {
      const roomId = await createRoom(alice)
      const response = await alice.request('POST', `/api/rooms/${roomId}/messages`, {
        clientId: randomUUID(),
        body: 'x',
      })
      expectError(response, 503, 'overloaded')
      expect(Number(response.headers['retry-after'])).toBeGreaterThan(0)
      expect(await storedEvents(alice, roomId)).toEqual([])
    })

    it('answers a send frame with an overloaded error frame carrying retryAfterMs, storing nothing', async () => {
      const roomId = await createRoom(alice)
      const socket = await connect(ctx.app, alice)
      const clientId = randomUUID()
      socket.send({ type: 'send', roomId, clientId, body: 'x' })
      const refused = await socket.waitFor('error', (f) => f.clientId === clientId)
      expect(refused).toMatchObject({ code: 'overloaded', roomId })
      expect(refused.retryAfterMs).toBeGreaterThan(0)
      expect(await storedEvents(alice, roomId)).toEqual([])
      await socket.close()
    })

    it('bounds the writes waiting or under way across lanes, and takes writes again once they are answered', async () => {
      const roomId = await createRoom(alice)
      const appender = new Appender(ctx.database.db, new LocalBus(), { lanes: 2, maxPending: 3 })
      const write = (): AppendRequest => ({
        roomId,
        authorId: alice.user.id,
        authorName: alice.user.username,
        clientId: randomUUID(),
        body: 'queued',
      })
      // Queued synchronously: the first transaction cannot have finished before the fifth arrives.
      const results = await Promise.all(Array.from({ length: 5 }, () => appender.append(write())))
      expect(results.map((r) => (r.ok ? r.event.seq : r.code))).toEqual([1, 2, 3, 'overloaded', 'overloaded'])
      const refused = results[3]!
      expect(!refused.ok && refused.retryAfterMs).toBeGreaterThan(0)
      expect((await appender.append(write())).ok).toBe(true)
      expect((await storedEvents(alice, roomId)).map((e) => e.seq)).toEqual([1, 2, 3, 4])
      await appender.drain()
    })
  })
})
