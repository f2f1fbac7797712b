import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Database } from '../../server/db/database.ts'
import * as api from '../support/api.ts'
import { signUp } from '../support/app.ts'
import {
  adminQuery,
  type ClusterNode,
  counterValue,
  cutListener,
  everySocketSeesEverySeq,
  startCluster,
} from '../support/cluster.ts'
import { createTestDatabase, TEST_DATABASE_URL } from '../support/databases.ts'
import { connect, postMessage, until } from '../support/ws.ts'

const title = TEST_DATABASE_URL
  ? 'three nodes on one PostgreSQL, PostgresBus (LISTEN/NOTIFY)'
  : 'three nodes on one PostgreSQL, PostgresBus — NOT RUN: TEST_DATABASE_URL is not set'

describe.skipIf(!TEST_DATABASE_URL)(title, () => {
  let database: Database
  let cluster: Awaited<ReturnType<typeof startCluster>>
  let nodes: ClusterNode[]

  beforeAll(async () => {
    database = await createTestDatabase('postgres', { poolSize: 20 })
    cluster = await startCluster('postgres', database, 3)
    nodes = cluster.nodes
  })
  afterAll(async () => {
    await cluster?.close()
    await database?.close()
  })

  it('20 sockets over 3 nodes, 50 messages each through their own node: every socket sees 1..N once, in order', async () => {
    const { sockets } = await everySocketSeesEverySeq(nodes, { users: 10, sockets: 20, perSocket: 50 })
    expect(sockets.every((socket) => socket.isOpen)).toBe(true)
    for (const node of nodes) {
      expect(await counterValue(node.metrics.busReceived, { kind: 'events' })).toBeGreaterThan(0)
      const fanOuts = (await node.metrics.fanOutSeconds.get()).values.find((v) => v.metricName?.endsWith('_count'))
      expect(fanOuts?.value).toBeGreaterThan(0)
    }
    for (const socket of sockets) await socket.close()
  })

  it('the LISTEN backend terminated mid-stream: the node reconnects, re-reads its rooms, and no socket misses an event', async () => {
    const cut = nodes[1]!
    const { sockets } = await everySocketSeesEverySeq(nodes, {
      users: 6,
      sockets: 12,
      perSocket: 40,
      midway: () => cutListener('postgres', cut.bus),
      quietAfterMidway: [1],
    })
    await until(async () => (await counterValue(cut.metrics.busResyncs)) === 1, 'the cut node resynced')
    await cut.bus.resynced()
    // Nothing of the room lists was published meanwhile: the sockets stay open.
    expect(sockets.every((socket) => socket.isOpen)).toBe(true)
    for (const socket of sockets) await socket.close()
  })

  it('malformed notifications are dropped, counted and logged; the bus goes on', async () => {
    const owner = await signUp(nodes[0]!.app)
    const reader = await signUp(nodes[2]!.app)
    const roomId = (await api.createRoom(owner, 'public')).id
    await api.join(reader, roomId)
    const socket = await connect(nodes[2]!.app, reader)
    await socket.subscribe(roomId, 0)

    const before = await Promise.all(nodes.map((node) => counterValue(node.metrics.busReceived, { kind: 'invalid' })))
    const bad = [
      'not json',
      '{"v":1,"nodeId":"x","sentAt":0,"listSeq":0,"kind":"events","rooms":[{"roomId":"nope","from":1,"to":2}]}',
      '{"v":1,"nodeId":"x","sentAt":0,"listSeq":0,"kind":"control","message":{"kind":"session-ended","sessionId":"s","__proto__":{"x":1}}}',
      JSON.stringify({ v: 99, nodeId: 'x', sentAt: 0, listSeq: 0, kind: 'events', rooms: [] }),
    ]
    for (const payload of bad) await adminQuery('SELECT pg_notify($1, $2)', [cluster.channel, payload])
    for (const [i, node] of nodes.entries()) {
      await until(
        async () => (await counterValue(node.metrics.busReceived, { kind: 'invalid' })) === before[i]! + bad.length,
        'every node counted the bad notifications',
      )
      expect(node.log.lines.some((line) => line.message === 'bus: invalid message dropped')).toBe(true)
    }
    const seq = await postMessage(owner, roomId, 'still here')
    await socket.waitFor('events', (f) => f.roomId === roomId && f.events.some((e) => e.seq === seq))
    await socket.close()
  })

  it('a room-list change and a read marker published on one node reach sockets on the others', async () => {
    const owner = await signUp(nodes[0]!.app)
    const invitee = await signUp(nodes[0]!.app)
    const ownerSocket = await connect(nodes[1]!.app, owner, { protocol: 2 })
    const inviteeSocket = await connect(nodes[2]!.app, invitee, { protocol: 2 })
    const roomId = (await api.createRoom(owner, 'private')).id
    await ownerSocket.subscribe(roomId, 0)

    const added = await owner.request('POST', `/api/rooms/${roomId}/members`, { username: invitee.user.username })
    expect(added.statusCode).toBe(201)
    await inviteeSocket.waitFor('room_added', (f) => f.room.id === roomId)

    const seq = await postMessage(owner, roomId, 'read me')
    const read = await invitee.request('POST', `/api/rooms/${roomId}/read`, { seq })
    expect(read.statusCode).toBe(200)
    await inviteeSocket.waitFor('read_marker', (f) => f.roomId === roomId && f.lastReadSeq === seq)
    await ownerSocket.waitFor(
      'receipts',
      (f) => f.roomId === roomId && f.readers.some((r) => r.userId === invitee.user.id && r.lastReadSeq === seq),
    )
    await ownerSocket.close()
    await inviteeSocket.close()
  })

  it('a room-list change lost while a node was not listening closes its sockets with 1001 (clients refetch); other nodes keep theirs', async () => {
    const cut = nodes[2]!
    const owner = await signUp(nodes[0]!.app)
    const invitee = await signUp(nodes[0]!.app)
    const onCut = await connect(cut.app, invitee)
    const elsewhere = await connect(nodes[1]!.app, invitee)
    const roomId = (await api.createRoom(owner, 'private')).id
    const seenLost = cut.log.lines.length

    await cutListener('postgres', cut.bus)
    await until(
      () => cut.log.lines.slice(seenLost).some((line) => line.message.startsWith('bus: listening connection lost')),
      'the cut node noticed',
    )
    const added = await owner.request('POST', `/api/rooms/${roomId}/members`, { username: invitee.user.username })
    expect(added.statusCode).toBe(201)
    await elsewhere.waitFor('room_added', (f) => f.room.id === roomId)

    // Back and listening, the cut node hears node 0's next envelope, whose listSeq shows what it missed.
    await until(async () => (await counterValue(cut.metrics.busResyncs)) >= 1, 'the cut node resynced', 30_000)
    await postMessage(owner, roomId, 'after the outage')
    expect((await onCut.closed).code).toBe(1001)
    expect(elsewhere.isOpen).toBe(true)
    expect(onCut.frames.some((f) => f.type === 'room_added')).toBe(false)
    await elsewhere.close()
  })
})
