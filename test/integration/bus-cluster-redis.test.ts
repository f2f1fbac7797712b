import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Database } from '../../server/db/database.ts'
import * as api from '../support/api.ts'
import { signUp } from '../support/app.ts'
import {
  type ClusterNode,
  counterValue,
  cutListener,
  everySocketSeesEverySeq,
  redisReachable,
  startCluster,
  TEST_REDIS_URL,
} from '../support/cluster.ts'
import { createTestDatabase, TEST_DATABASE_URL } from '../support/databases.ts'
import { connect, postMessage } from '../support/ws.ts'

const redisUp = await redisReachable()
const missing = !TEST_DATABASE_URL
  ? 'TEST_DATABASE_URL is not set'
  : !redisUp
    ? `Redis not reachable at ${TEST_REDIS_URL}`
    : undefined
const title = `three nodes on one PostgreSQL, RedisBus (pub/sub)${missing ? ` — NOT RUN: ${missing}` : ''}`

describe.skipIf(missing !== undefined)(title, () => {
  let database: Database
  let cluster: Awaited<ReturnType<typeof startCluster>>
  let nodes: ClusterNode[]

  beforeAll(async () => {
    database = await createTestDatabase('postgres', { poolSize: 20 })
    cluster = await startCluster('redis', database, 3)
    nodes = cluster.nodes
  })
  afterAll(async () => {
    await cluster?.close()
    await database?.close()
  })

  it('20 sockets over 3 nodes, 50 messages each through their own node: every socket sees 1..N once, in order', async () => {
    const { sockets } = await everySocketSeesEverySeq(nodes, { users: 10, sockets: 20, perSocket: 50 })
    for (const node of nodes)
      expect(await counterValue(node.metrics.busReceived, { kind: 'events' })).toBeGreaterThan(0)
    for (const socket of sockets) await socket.close()
  })

  it('the subscriber connection killed (CLIENT KILL) mid-stream: the node resubscribes, re-reads its rooms, no socket misses an event', async () => {
    const cut = nodes[2]!
    const { sockets } = await everySocketSeesEverySeq(nodes, {
      users: 6,
      sockets: 12,
      perSocket: 40,
      midway: () => cutListener('redis', cut.bus),
      quietAfterMidway: [2],
    })
    expect(await counterValue(cut.metrics.busResyncs)).toBe(1)
    expect(sockets.every((socket) => socket.isOpen)).toBe(true)
    for (const socket of sockets) await socket.close()
  })

  it('a room-list change and a read marker published on one node reach sockets on the others', async () => {
    const owner = await signUp(nodes[0]!.app)
    const invitee = await signUp(nodes[0]!.app)
    const inviteeSocket = await connect(nodes[1]!.app, invitee, { protocol: 2 })
    const roomId = (await api.createRoom(owner, 'private')).id
    const added = await owner.request('POST', `/api/rooms/${roomId}/members`, { username: invitee.user.username })
    expect(added.statusCode).toBe(201)
    await inviteeSocket.waitFor('room_added', (f) => f.room.id === roomId)
    const seq = await postMessage(owner, roomId, 'read me')
    await invitee.request('POST', `/api/rooms/${roomId}/read`, { seq })
    await inviteeSocket.waitFor('read_marker', (f) => f.roomId === roomId && f.lastReadSeq === seq)
    await inviteeSocket.close()
  })
})
