import { randomUUID } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import type { KyselyPlugin } from 'kysely'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { buildApp } from '../../server/app.ts'
import type { Database } from '../../server/db/database.ts'
import { CLOSE_CODES } from '../../shared/errors.ts'
import { LIMITS } from '../../shared/limits.ts'
import type { ErrorFrame } from '../../shared/protocol.ts'
import { type Agent, signUp, testConfig } from '../support/app.ts'
import { createTestDatabase, describeEachEngine } from '../support/databases.ts'
import { connect, createRoom, joinRoom, realtimeConfig, type TestSocket, until } from '../support/ws.ts'

/** Counts the statements the app sends to the database, so a test can say what a frame costs. */
class QueryCounter implements KyselyPlugin {
  count = 0
  transformQuery: KyselyPlugin['transformQuery'] = (args) => {
    this.count++
    return args.node
  }
  transformResult: KyselyPlugin['transformResult'] = async (args) => args.result
}

const errorsOf = (socket: TestSocket, from = 0) =>
  socket.frames.slice(from).filter((frame): frame is ErrorFrame => frame.type === 'error')

const unknownRooms = (count: number) => Array.from({ length: count }, () => ({ roomId: randomUUID(), after: 0 }))

describeEachEngine('ws floods: bounded work per socket and user', (engine) => {
  const queries = new QueryCounter()
  let app: FastifyInstance
  let database: Database
  let alice: Agent
  let bob: Agent
  let roomId: string
  let bobSocket: TestSocket
  let aliceSocket: TestSocket

  beforeAll(async () => {
    const plain = await createTestDatabase(engine)
    database = { ...plain, db: plain.db.withPlugin(queries) }
    app = await buildApp({
      config: testConfig({ realtime: realtimeConfig({ sendRatePerSecond: 100_000, sendBurst: 100_000 }) }),
      database,
      serveClient: false,
    })
    await app.listen({ port: 0, host: '127.0.0.1' })
    alice = await signUp(app)
    bob = await signUp(app)
    roomId = await createRoom(alice)
    await joinRoom(bob, roomId)
    bobSocket = await connect(app, bob)
    await bobSocket.subscribe(roomId)
    aliceSocket = await connect(app, alice)
  })
  afterAll(async () => {
    await app?.close()
    await database?.close()
  })

  /** Alice sends over her socket; resolves with how long until Bob's socket has the event, and the event. */
  async function deliveredToBob(body: string) {
    const clientId = randomUUID()
    const started = performance.now()
    aliceSocket.send({ type: 'send', roomId, clientId, body })
    await until(() => bobSocket.events(roomId).some((event) => event.clientId === clientId), `"${body}" at Bob`)
    return { ms: performance.now() - started, event: bobSocket.events(roomId).find((e) => e.clientId === clientId)! }
  }

  it('a user subscribing to 10,000 unknown rooms in 50 frames is refused, then closed with 4029; others are served', async () => {
    const mallory = await signUp(app)
    const flooder = await connect(app, mallory)
    const quiet = await deliveredToBob('before the flood')
    const named = new Set<string>()
    for (let frame = 0; frame < 50; frame++) {
      const rooms = unknownRooms(LIMITS.subscribeMaxRooms)
      for (const room of rooms) named.add(room.roomId)
      flooder.send({ type: 'subscribe', rooms })
    }
    const health = (async () => {
      const started = performance.now()
      const response = await app.inject({ method: 'GET', url: '/healthz' })
      return { status: response.statusCode, ms: performance.now() - started }
    })()
    const delays: number[] = []
    for (let i = 0; i < 5; i++) {
      const { ms, event } = await deliveredToBob(`during the flood ${i}`)
      delays.push(ms)
      expect(event).toMatchObject({ roomId, authorId: alice.user.id, body: `during the flood ${i}` })
    }
    const healthz = await health
    console.log(
      `[${engine}] subscribe flood: Bob's delivery delay ${quiet.ms.toFixed(1)} ms before it, during it ${delays.map((ms) => ms.toFixed(1)).join(', ')} ms; ` +
        `/healthz ${healthz.ms.toFixed(1)} ms; ${queries.count} statements so far`,
    )
    expect(healthz.status).toBe(200)

    const refused = await flooder.waitFor('error', (error) => error.code === 'rate_limited')
    expect(refused.retryAfterMs).toBeGreaterThan(0)
    expect(refused.roomId).toBeUndefined()
    expect((await flooder.closed).code).toBe(CLOSE_CODES.tooManyFrames)
    // Whatever was answered was answered as "no such room" (or "too many rooms"), never as a room.
    for (const error of errorsOf(flooder).filter((e) => e.roomId !== undefined)) {
      expect(named.has(error.roomId!)).toBe(true)
      expect(['not_found', 'bad_request']).toContain(error.code)
    }
    expect(flooder.frames.some((f) => f.type === 'caught_up' || f.type === 'events')).toBe(false)

    const seqs = bobSocket.seqs(roomId)
    expect(seqs).toEqual(seqs.map((_, i) => i + 1))
    expect(bobSocket.isOpen).toBe(true)
  })

  it('unknown rooms are answered with one query for the whole frame, duplicates once', async () => {
    const socket = await connect(app, await signUp(app))
    const distinct = unknownRooms(LIMITS.subscribeMaxRooms / 2)
    const before = queries.count
    socket.send({ type: 'subscribe', rooms: [...distinct, ...distinct] })
    await until(() => errorsOf(socket).length >= distinct.length, 'an answer for every room')
    await new Promise((resolve) => setTimeout(resolve, 100)) // any duplicate answer would have come by now
    const answered = errorsOf(socket)
    expect(answered.map((e) => e.roomId).sort()).toEqual(distinct.map((r) => r.roomId).sort())
    expect(answered.every((e) => e.code === 'not_found')).toBe(true)
    expect(queries.count - before).toBe(1)
    await socket.close()
  })

  it('a room named twice in one frame replays once, from the lower after', async () => {
    const room = await createRoom(alice)
    for (let i = 0; i < 5; i++) await deliveredToBobIn(room, i)
    const socket = await connect(app, bob)
    socket.send({
      type: 'subscribe',
      rooms: [
        { roomId: room, after: 3 },
        { roomId: room, after: 0 },
        { roomId: room, after: 3 },
      ],
    })
    await socket.waitFor('presence', (f) => f.roomId === room)
    await new Promise((resolve) => setTimeout(resolve, 100)) // a second replay would have come by now
    expect(socket.seqs(room)).toEqual([1, 2, 3, 4, 5])
    expect(socket.frames.filter((f) => f.type === 'caught_up')).toEqual([
      { type: 'caught_up', roomId: room, lastSeq: 5 },
    ])
    expect(socket.frames.filter((f) => f.type === 'presence')).toHaveLength(1)
    await socket.close()
  })

  async function deliveredToBobIn(room: string, i: number) {
    const clientId = randomUUID()
    aliceSocket.send({ type: 'send', roomId: room, clientId, body: `message ${i}` })
    await aliceSocket.waitFor('ack', (ack) => ack.clientId === clientId)
  }

  it(`a socket follows at most ${LIMITS.wsMaxRoomsPerSocket} rooms; the rooms over it are refused one by one`, async () => {
    const rooms = await database.db
      .insertInto('rooms')
      .values(
        Array.from({ length: LIMITS.wsMaxRoomsPerSocket + 1 }, (_, i) => ({
          name: `many ${i}`,
          visibility: 'public',
          owner_id: alice.user.id,
        })),
      )
      .returning('id')
      .execute()
    const ids = rooms.map((room) => room.id)
    const socket = await connect(app, await signUp(app))
    for (let i = 0; i < ids.length; i += LIMITS.subscribeMaxRooms) {
      socket.send({
        type: 'subscribe',
        rooms: ids.slice(i, i + LIMITS.subscribeMaxRooms).map((id) => ({ roomId: id, after: 0 })),
      })
    }
    const over = await socket.waitFor('error', (e) => e.roomId === ids.at(-1))
    expect(over.code).toBe('bad_request')
    await until(
      () => socket.frames.filter((f) => f.type === 'caught_up').length === LIMITS.wsMaxRoomsPerSocket,
      'every room within the bound',
    )
    expect(socket.frames.some((f) => f.type === 'caught_up' && f.roomId === ids.at(-1))).toBe(false)

    socket.send({ type: 'unsubscribe', roomIds: [ids[0]!] })
    const { caughtUp } = await socket.subscribe(ids.at(-1)!)
    expect(caughtUp).toBe(0)
    await socket.close()
  })

  it('a typing flood is refused with rate_limited, then closed with 4029', async () => {
    const typist = await connect(app, bob)
    await typist.subscribe(roomId)
    for (let i = 0; i < 200; i++) typist.send({ type: 'typing', roomId })
    const refused = await typist.waitFor('error', (error) => error.code === 'rate_limited')
    expect(refused.retryAfterMs).toBeGreaterThan(0)
    expect((await typist.closed).code).toBe(CLOSE_CODES.tooManyFrames)
    const { event } = await deliveredToBob('after the typing flood')
    expect(event.body).toBe('after the typing flood')
  })

  it('a client that waits retryAfterMs after a refusal is served again and stays open', async () => {
    const socket = await connect(app, await signUp(app))
    let refused: ErrorFrame | undefined
    for (let id = 0; !refused; id++) {
      if (id > 1000) throw new Error('never refused')
      const from = socket.frames.length
      socket.send({ type: 'ping', id })
      await until(() => socket.frames.length > from, 'the answer to a ping')
      refused = errorsOf(socket, from).find((e) => e.code === 'rate_limited')
      if (!refused) expect(socket.frames[from]).toEqual({ type: 'pong', id })
    }
    await new Promise((resolve) => setTimeout(resolve, refused.retryAfterMs! + 20))
    const from = socket.frames.length
    socket.send({ type: 'ping', id: 7 })
    expect(await socket.waitFor('pong', () => true, { from })).toEqual({ type: 'pong', id: 7 })
    expect(socket.isOpen).toBe(true)
    await socket.close()
  })
})
