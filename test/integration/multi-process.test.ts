import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { CLOSE_CODES } from '../../shared/errors.ts'
import { redisReachable, TEST_REDIS_URL } from '../support/cluster.ts'
import { asAdmin, TEST_DATABASE_URL } from '../support/databases.ts'
import { type ServerProcess, startServer } from '../support/server-process.ts'
import { post, type Signed, signUp } from '../support/soak.ts'
import { TestSocket } from '../support/ws.ts'

/**
 * Issue 11 with real processes: three Ferry servers on one PostgreSQL,
 * joined by the cross-process bus (LISTEN/NOTIFY, then Redis). Whichever
 * process a socket lands on, it sees every event of its rooms, everyone's
 * presence and typing, and is cut off at once when its session ends or its
 * member is removed from a private room on another process; a killed
 * process's users leave everyone's presence (heartbeat expiry, 30 s).
 */

const buses = [
  { bus: 'postgres', env: {} as Record<string, string>, missing: undefined as string | undefined },
  {
    bus: 'redis',
    env: { REDIS_URL: TEST_REDIS_URL } as Record<string, string>,
    missing: (await redisReachable()) ? undefined : `Redis does not answer on ${TEST_REDIS_URL}`,
  },
]

function titleOf(bus: string, missing: string | undefined): string {
  const title = `three processes on one PostgreSQL, ${bus} bus`
  if (!TEST_DATABASE_URL) return `${title} — NOT RUN: TEST_DATABASE_URL is not set`
  return missing ? `${title} — NOT RUN: ${missing}` : title
}

/** A socket on one process, as the app opens it (protocol 2), hello received. */
async function openSocket(url: string, cookie: string): Promise<TestSocket> {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/api/ws?v=2`, { headers: { cookie, origin: url } })
  const socket = new TestSocket(ws)
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve())
    ws.once('error', reject)
  })
  await socket.waitFor('hello')
  return socket
}

async function createRoom(url: string, owner: Signed, visibility: 'public' | 'private'): Promise<string> {
  const response = await post(`${url}/api/rooms`, { name: `Across ${visibility}`, visibility }, owner.cookie)
  expect(response.status).toBe(201)
  return ((await response.json()) as { room: { id: string } }).room.id
}

for (const { bus, env: busEnv, missing } of buses) {
  describe.skipIf(!TEST_DATABASE_URL || missing !== undefined)(titleOf(bus, missing), () => {
    const schema = `ferry_procs_${bus}_${process.pid}_${Date.now().toString(36)}`
    const nodes: ServerProcess[] = []
    const sockets: TestSocket[] = []
    let urls: string[] = []
    let alice: Signed
    let bob: Signed
    let carol: Signed
    let suffix = 0

    const socketOn = async (node: number, user: Signed) => {
      const socket = await openSocket(urls[node]!, user.cookie)
      sockets.push(socket)
      return socket
    }
    const newUser = async (node: number, name: string) =>
      signUp(urls[node]!, `${name}_${bus}_${process.pid % 10_000}_${++suffix}`.slice(0, 32))

    beforeAll(async () => {
      await asAdmin(`CREATE SCHEMA ${schema}`)
      const databaseUrl = new URL(TEST_DATABASE_URL!)
      databaseUrl.searchParams.set('options', `-c search_path=${schema}`)
      const env = {
        DATABASE_URL: databaseUrl.href,
        FERRY_BUS: bus,
        FERRY_BUS_CHANNEL: `test_${randomBytes(6).toString('hex')}`,
        AUTH_RATE_LIMIT_MAX: '100000',
        ...busEnv,
      }
      nodes.push(await startServer(env))
      nodes.push(...(await Promise.all([startServer(env), startServer(env)])))
      urls = nodes.map((node) => node.url)
      alice = await newUser(0, 'alice')
      bob = await newUser(1, 'bob')
      carol = await newUser(2, 'carol')
    }, 120_000)

    afterAll(async () => {
      for (const socket of sockets) socket.ws.terminate()
      await Promise.all(nodes.map((node) => node.stop('SIGKILL')))
      await asAdmin(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
    })

    it('delivers one gap-free sequence to sockets on every process, whichever process wrote', async () => {
      const roomId = await createRoom(urls[0]!, alice, 'public')
      for (const [node, user] of [
        [1, bob],
        [2, carol],
      ] as const) {
        expect((await post(`${urls[node]}/api/rooms/${roomId}/join`, undefined, user.cookie)).status).toBe(200)
      }
      const writers = [alice, bob, carol]
      const readers = await Promise.all(writers.map((user, node) => socketOn(node, user)))
      const starts = await Promise.all(readers.map((socket) => socket.subscribe(roomId)))
      // 3 writers × 20 sends, each through its own process's socket, interleaved.
      for (let i = 0; i < 20; i++) {
        for (const [w, socket] of readers.entries()) {
          socket.send({ type: 'send', roomId, clientId: crypto.randomUUID(), body: `w${w} #${i}` })
        }
      }
      const last = starts[0]!.caughtUp + 60
      await Promise.all(
        readers.map((socket) =>
          socket.waitFor('events', (frame) => frame.roomId === roomId && frame.events.some((e) => e.seq >= last), {
            timeoutMs: 30_000,
          }),
        ),
      )
      const views = readers.map((socket, i) =>
        socket.events(roomId, starts[i]!.from).filter((e) => e.seq > starts[0]!.caughtUp),
      )
      const first = views[0]!.map((event) => [event.seq, event.clientId])
      expect(first.map(([seq]) => seq)).toEqual(Array.from({ length: 60 }, (_, i) => starts[0]!.caughtUp + i + 1))
      for (const view of views.slice(1)) expect(view.map((event) => [event.seq, event.clientId])).toEqual(first)
    })

    it('counts presence and relays typing across processes', async () => {
      const roomId = await createRoom(urls[0]!, alice, 'public')
      expect((await post(`${urls[1]}/api/rooms/${roomId}/join`, undefined, bob.cookie)).status).toBe(200)
      const aliceSocket = await socketOn(0, alice)
      await aliceSocket.subscribe(roomId)
      const bobSocket = await socketOn(1, bob)
      const mark = aliceSocket.frames.length
      await bobSocket.subscribe(roomId)
      await aliceSocket.waitFor('presence_join', (f) => f.roomId === roomId && f.user.userId === bob.userId, {
        from: mark,
      })
      const snapshot = await bobSocket.waitFor('presence', (f) => f.roomId === roomId)
      expect(snapshot.users.map((user) => user.userId).sort()).toEqual([alice.userId, bob.userId].sort())

      bobSocket.send({ type: 'typing', roomId })
      const typing = await aliceSocket.waitFor('typing', (f) => f.roomId === roomId && f.userId === bob.userId)
      expect(typing.expiresInMs).toBeGreaterThan(0)

      // A second socket of bob's, on another process, does not make him join twice nor leave when one goes.
      const bobElsewhere = await socketOn(2, bob)
      await bobElsewhere.subscribe(roomId)
      await bobSocket.close()
      const afterFirst = aliceSocket.frames.length
      await bobElsewhere.close()
      const leave = await aliceSocket.waitFor('presence_leave', (f) => f.roomId === roomId && f.userId === bob.userId, {
        from: mark,
      })
      expect(aliceSocket.frames.indexOf(leave)).toBeGreaterThanOrEqual(afterFirst)
      const joins = aliceSocket.frames
        .slice(mark)
        .filter((f) => f.type === 'presence_join' && f.roomId === roomId && f.user.userId === bob.userId)
      expect(joins).toHaveLength(1)
    })

    it('closes a session on every process when it logs out on one', async () => {
      const dave = await newUser(0, 'dave')
      const onOne = await socketOn(1, dave)
      const onTwo = await socketOn(2, dave)
      const response = await fetch(`${urls[0]}/api/auth/logout`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', cookie: dave.cookie, origin: urls[0]! },
      })
      expect(response.status).toBe(204)
      expect((await onOne.closed).code).toBe(CLOSE_CODES.sessionEnded)
      expect((await onTwo.closed).code).toBe(CLOSE_CODES.sessionEnded)
    })

    it('stops a removed member on every process', async () => {
      const roomId = await createRoom(urls[0]!, alice, 'private')
      for (const user of [bob, carol]) {
        const added = await fetch(`${urls[0]}/api/rooms/${roomId}/members`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', cookie: alice.cookie, origin: urls[0]! },
          body: JSON.stringify({ username: (await whoAmI(urls[0]!, user)).username }),
        })
        expect(added.status).toBe(201)
      }
      const bobSocket = await socketOn(2, bob)
      const carolSocket = await socketOn(2, carol)
      await bobSocket.subscribe(roomId)
      const { from } = await carolSocket.subscribe(roomId)
      const removed = await fetch(`${urls[0]}/api/rooms/${roomId}/members/${bob.userId}`, {
        method: 'DELETE',
        headers: { 'content-type': 'application/json', cookie: alice.cookie, origin: urls[0]! },
      })
      expect(removed.status).toBe(204)
      await bobSocket.waitFor('error', (f) => f.code === 'not_found' && f.roomId === roomId)
      const bobMark = bobSocket.frames.length
      const sent = await post(
        `${urls[1]}/api/rooms/${roomId}/messages`,
        { clientId: crypto.randomUUID(), body: 'after bob left' },
        alice.cookie,
      )
      expect(sent.status).toBe(201)
      const { message } = (await sent.json()) as { message: { seq: number } }
      // Carol, on the same process as bob, gets it; by then bob's socket has had its chance and got nothing.
      await carolSocket.waitFor('events', (f) => f.roomId === roomId && f.events.some((e) => e.seq === message.seq), {
        from,
      })
      expect(bobSocket.frames.slice(bobMark).filter((f) => f.type === 'events')).toEqual([])
    })

    // Heartbeats and expiry are the same code on either bus: the 30 s wait runs once, on the default one
    // (registered there only, so the Redis half does not count a skipped test).
    const onDefaultBus = bus === 'postgres' ? it : undefined
    onDefaultBus?.("drops a killed process's users from everyone's presence", { timeout: 90_000 }, async () => {
      const roomId = await createRoom(urls[0]!, alice, 'public')
      expect((await post(`${urls[2]}/api/rooms/${roomId}/join`, undefined, carol.cookie)).status).toBe(200)
      const aliceSocket = await socketOn(0, alice)
      await aliceSocket.subscribe(roomId)
      const mark = aliceSocket.frames.length
      const carolSocket = await socketOn(2, carol)
      await carolSocket.subscribe(roomId)
      await aliceSocket.waitFor('presence_join', (f) => f.roomId === roomId && f.user.userId === carol.userId, {
        from: mark,
      })
      await nodes[2]!.stop('SIGKILL')
      // No clean goodbye: the other processes notice the silence (NODE_EXPIRY_MS, 30 s) and say she left.
      await aliceSocket.waitFor('presence_leave', (f) => f.roomId === roomId && f.userId === carol.userId, {
        from: mark,
        timeoutMs: 60_000,
      })
    })
  })
}

async function whoAmI(url: string, user: Signed): Promise<{ username: string }> {
  const response = await fetch(`${url}/api/auth/me`, { headers: { cookie: user.cookie } })
  expect(response.status).toBe(200)
  return ((await response.json()) as { user: { username: string } }).user
}
