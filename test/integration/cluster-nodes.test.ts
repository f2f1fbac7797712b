import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../../server/app.ts'
import { existingSessionIds } from '../../server/auth/sessions.repository.ts'
import { sessionIdOf } from '../../server/auth/sessions.ts'
import type { Database } from '../../server/db/database.ts'
import { CLOSE_CODES } from '../../shared/errors.ts'
import { type Agent, signUp, testConfig } from '../support/app.ts'
import { BusNetwork } from '../support/bus-network.ts'
import {
  type BusKind,
  counterValue,
  cutListener,
  redisReachable,
  startCluster,
  TEST_REDIS_URL,
} from '../support/cluster.ts'
import { createTestDatabase, describeEachEngine, TEST_DATABASE_URL } from '../support/databases.ts'
import { connect, createRoom, joinRoom, postMessage, realtimeConfig, type TestSocket, until } from '../support/ws.ts'

interface Nodes {
  apps: FastifyInstance[]
  /** The test network when the nodes are joined by it (drops and settling are possible only there). */
  network?: BusNetwork
  /**
   * Node `index` loses its bus while `action` runs (what is published meanwhile never reaches it), then
   * comes back and resyncs; resolves once the resync has told its handlers.
   */
  cutOff(index: number, action: () => Promise<void>): Promise<void>
  close(): Promise<void>
}

/**
 * Three apps in one process on one database, each its own node: joined by the
 * test network of buses (test/support/bus-network.ts: asynchronous delivery,
 * JSON on the wire) on both engines, and by the real PostgresBus and RedisBus
 * on PostgreSQL. What a socket on one node sees of what happens on another.
 */
describeEachEngine('cluster: presence, typing, focus and access across nodes, test network', (engine) => {
  clusterSuite(async () => {
    const database = await createTestDatabase(engine)
    const network = new BusNetwork()
    const apps: FastifyInstance[] = []
    for (let i = 0; i < 3; i++) {
      const app = await buildApp({
        config: testConfig({ realtime: realtimeConfig({ typingTtlMs: 60_000 }) }),
        database,
        bus: network.bus(),
        serveClient: false,
      })
      await app.listen({ port: 0, host: '127.0.0.1' })
      apps.push(app)
    }
    const cutOff = async (index: number, action: () => Promise<void>) => {
      const bus = network.buses[index]!
      bus.hold()
      await action()
      await network.settle()
      bus.release({ lose: true })
      bus.resync()
    }
    return { apps, network, cutOff, close: closeAll(apps, database) }
  })
})

const redisUp = await redisReachable()
for (const kind of ['postgres', 'redis'] as BusKind[]) {
  const missing = !TEST_DATABASE_URL
    ? 'TEST_DATABASE_URL is not set'
    : kind === 'redis' && !redisUp
      ? `Redis not reachable at ${TEST_REDIS_URL}`
      : undefined
  const title = `cluster: presence, typing, focus and access across nodes, ${kind === 'postgres' ? 'PostgresBus' : 'RedisBus'}`
  describe.skipIf(missing !== undefined)(missing ? `${title} — NOT RUN: ${missing}` : title, () => {
    clusterSuite(async () => {
      const database = await createTestDatabase('postgres', { poolSize: 20 })
      const cluster = await startCluster(kind, database, 3)
      const apps = cluster.nodes.map((node) => node.app)
      const cutOff = async (index: number, action: () => Promise<void>) => {
        const node = cluster.nodes[index]!
        const before = await counterValue(node.metrics.busResyncs)
        // The listener stays away 1-2 s or more (startCluster's reconnect backoff): the action falls in that window.
        await cutListener(kind, node.bus)
        await action()
        await until(
          async () => (await counterValue(node.metrics.busResyncs)) > before,
          'the cut node to resync',
          30_000,
        )
        await node.bus.resynced()
      }
      return { apps, cutOff, close: closeAll(apps, database) }
    })
  })
}

function closeAll(apps: FastifyInstance[], database: Database) {
  return async () => {
    for (const app of apps) await app.close()
    await database.close()
  }
}

function clusterSuite(start: () => Promise<Nodes>) {
  let nodes: Nodes | undefined
  let apps: FastifyInstance[]
  const sockets: TestSocket[] = []
  let alice: Agent
  let bob: Agent
  let carol: Agent

  const open = async (app: FastifyInstance, agent: Agent, options: { cookie?: string } = {}) => {
    const socket = await connect(app, agent, options)
    sockets.push(socket)
    return socket
  }

  beforeAll(async () => {
    nodes = await start()
    apps = nodes.apps
    // Sessions live in the shared database: a cookie from one node works on every node.
    alice = await signUp(apps[0]!)
    bob = await signUp(apps[0]!)
    carol = await signUp(apps[0]!)
  })

  afterAll(async () => {
    for (const socket of sockets) if (socket.isOpen) socket.ws.terminate()
    await nodes?.close()
  })

  it('presence_join, presence_leave and typing cross nodes; the snapshot lists users of every node', async () => {
    const [a, b, c] = apps as [FastifyInstance, FastifyInstance, FastifyInstance]
    const room = await createRoom(alice)
    await joinRoom(bob, room)
    await joinRoom(carol, room)
    const onA = await open(a, alice)
    await onA.subscribe(room)
    await onA.waitFor('presence', (f) => f.roomId === room)
    // What the other nodes know arrives asynchronously: wait until B has heard (else B's socket gets her as presence_join).
    const reader = await signUp(a) // follows the public room without joining: not counted present
    await until(async () => {
      const probe = await connect(b, reader)
      const seen = await probe.subscribe(room).then(() => probe.waitFor('presence', (f) => f.roomId === room))
      probe.ws.terminate()
      return seen.users.some((u) => u.userId === alice.user.id)
    }, 'B to hear that Alice is present on A')

    const onB = await open(b, bob)
    const { from } = await onB.subscribe(room)
    // Alice went live on A before Bob subscribed on B: B's snapshot has her.
    await until(
      () =>
        onB.frames
          .slice(from)
          .some(
            (f) =>
              f.type === 'presence' &&
              f.roomId === room &&
              f.users.some((u) => u.userId === alice.user.id) &&
              f.users.some((u) => u.userId === bob.user.id),
          ),
      `a snapshot on B with Alice (on A) and Bob`,
    )
    await onA.waitFor('presence_join', (f) => f.roomId === room && f.user.userId === bob.user.id)

    const onC = await open(c, carol)
    await onC.subscribe(room)
    await onA.waitFor('presence_join', (f) => f.roomId === room && f.user.userId === carol.user.id)
    await onB.waitFor('presence_join', (f) => f.roomId === room && f.user.userId === carol.user.id)

    onA.send({ type: 'typing', roomId: room })
    expect(await onB.waitFor('typing', (f) => f.roomId === room)).toMatchObject({
      userId: alice.user.id,
    })
    expect(onB.frames.find((f) => f.type === 'typing')).toMatchObject({ expiresInMs: expect.any(Number) })
    await onC.waitFor('typing', (f) => f.roomId === room && f.userId === alice.user.id)

    // Carol's second socket, on A, keeps her present when the one on C goes.
    const carolOnA = await open(a, carol)
    await carolOnA.subscribe(room)
    // Nodes' messages are ordered per node only: once B has Carol's typing from A, it has her presence on A (sent before).
    carolOnA.send({ type: 'typing', roomId: room })
    await onB.waitFor('typing', (f) => f.roomId === room && f.userId === carol.user.id)
    const leaveFrom = onB.frames.length
    await onC.close()
    await carolOnA.close()
    await onB.waitFor('presence_leave', (f) => f.roomId === room && f.userId === carol.user.id, { from: leaveFrom })
    // Alice leaves with her typing still running: it ends on B too.
    await onA.close()
    await onB.waitFor('typing', (f) => f.roomId === room && f.userId === alice.user.id && f.expiresInMs === 0)
    await onB.waitFor('presence_leave', (f) => f.roomId === room && f.userId === alice.user.id)
    // Carol's two sockets on two nodes: one leave (A's came before Alice's leave, so it has arrived).
    const carolLeaves = onB.frames
      .slice(leaveFrom)
      .filter((f) => f.type === 'presence_leave' && f.userId === carol.user.id)
    expect(carolLeaves).toHaveLength(1)
  })

  it('every node hears the two others (ferry_cluster_peers)', async () => {
    for (const app of apps) {
      await until(
        async () => (await app.metrics.clusterPeers.get()).values[0]?.value === 2,
        'each node to count two peers',
      )
    }
  })

  it("a node that lost its bus learns on resync what it missed: a user who left meanwhile leaves its sockets' presence", async () => {
    const [a, b] = apps as [FastifyInstance, FastifyInstance]
    const room = await createRoom(alice)
    await joinRoom(bob, room)
    const aliceOnA = await open(a, alice)
    await aliceOnA.subscribe(room)
    const bobOnB = await open(b, bob)
    await bobOnB.subscribe(room)
    // B knows Alice is present once her typing (sent after her presence, by the same node) has reached it.
    aliceOnA.send({ type: 'typing', roomId: room })
    await bobOnB.waitFor('typing', (f) => f.roomId === room && f.userId === alice.user.id)
    const from = bobOnB.frames.length
    await nodes!.cutOff(1, async () => {
      await aliceOnA.close()
    })
    // Only the state exchange after the resync can tell B: A is alive and keeps beating.
    await bobOnB.waitFor('presence_leave', (f) => f.roomId === room && f.userId === alice.user.id, {
      from,
      timeoutMs: 30_000,
    })
  })

  it("the session audit's query (the fallback for a lost session-ended) sees a logged-out session gone", async () => {
    const dave = await signUp(apps[0]!)
    const token = dave.cookie.split('=')[1]!
    const id = sessionIdOf(token)
    expect(await existingSessionIds(apps[1]!.db, [id, 'no-such-session'])).toEqual(new Set([id]))
    expect((await dave.request('POST', '/api/auth/logout')).statusCode).toBe(204)
    expect(await existingSessionIds(apps[1]!.db, [id])).toEqual(new Set())
  })

  it("logout on node A closes that session's socket on node B with 4001; another session stays", async () => {
    const [a, b] = apps as [FastifyInstance, FastifyInstance]
    const dave = await signUp(a)
    // A second session of the same user, from a login.
    const login = await a.inject({
      method: 'POST',
      url: '/api/auth/login',
      headers: { 'content-type': 'application/json' },
      payload: { username: dave.user.username, password: 'correct horse battery' },
    })
    const secondCookie = login.cookies.map((cookie) => `${cookie.name}=${cookie.value}`).join('; ')
    const onB = await open(b, dave)
    const secondOnB = await open(b, dave, { cookie: secondCookie })
    expect((await dave.request('POST', '/api/auth/logout')).statusCode).toBe(204)
    expect((await onB.closed).code).toBe(CLOSE_CODES.sessionEnded)
    await nodes!.network?.settle()
    expect(secondOnB.isOpen).toBe(true)
  })

  it('a member removed from a private room on node A stops receiving on node B (not_found), by the access message alone', async () => {
    const b = apps[1]!
    const room = await createRoom(alice, 'private')
    expect(
      (await alice.request('POST', `/api/rooms/${room}/members`, { username: bob.user.username })).statusCode,
    ).toBe(201)
    const bobOnB = await open(b, bob)
    await bobOnB.subscribe(room)
    const watcher = await open(b, alice)
    await watcher.subscribe(room)
    const seen = await postMessage(alice, room, 'before the removal')
    await until(() => bobOnB.lastSeq(room) === seen, 'the message before the removal on B')

    // On the test network, the room-list change (which also tells B's user stream) is dropped: the left-room message must act.
    nodes!.network?.dropWhen((delivery) => delivery.channel === 'room-list')
    try {
      const from = bobOnB.frames.length
      expect((await alice.request('DELETE', `/api/rooms/${room}/members/${bob.user.id}`)).statusCode).toBe(204)
      expect(await bobOnB.waitFor('error', (e) => e.roomId === room, { from })).toMatchObject({
        code: 'not_found',
        roomId: room,
      })
    } finally {
      nodes!.network?.dropWhen(undefined)
    }
    const after = await postMessage(alice, room, 'after the removal')
    await until(() => watcher.lastSeq(room) === after, 'the message after the removal, on a socket on B')
    await nodes!.network?.settle()
    expect(bobOnB.events(room).some((event) => event.seq === after)).toBe(false)
    expect(bobOnB.isOpen).toBe(true)
  })

  it('a room deleted on node A ends its subscriptions on node C', async () => {
    const c = apps[2]!
    const owner = await signUp(apps[0]!)
    const room = await createRoom(owner, 'public')
    const reader = await open(c, carol) // reads the public room without joining
    await reader.subscribe(room)
    const from = reader.frames.length
    // The owner, its only member, leaves: the room is deleted.
    expect((await owner.request('POST', `/api/rooms/${room}/leave`)).statusCode).toBe(204)
    expect(await reader.waitFor('error', (e) => e.roomId === room, { from })).toMatchObject({
      code: 'not_found',
      roomId: room,
    })
  })

  it("a focus held on node B counts on node A, whose push sender checks who is away; it ends with B's socket", async () => {
    const [a, b] = apps as [FastifyInstance, FastifyInstance]
    const room = await createRoom(alice)
    await joinRoom(bob, room)
    const bobOnB = await open(b, bob)
    bobOnB.send({ type: 'focus', roomId: room })
    await until(() => a.focus.isFocused(room, bob.user.id), "Bob's focus on B seen by A")
    expect(apps[2]!.focus.focusedUsers(room)).toEqual([bob.user.id])
    await bobOnB.close()
    await until(() => !a.focus.isFocused(room, bob.user.id), "Bob's focus gone on A")
  })
}
