import { randomBytes, randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { TEST_DATABASE_URL } from '../support/databases.ts'
import { NGINX, type Nginx, startNginx } from '../support/nginx.ts'
import { parseMetrics, sample } from '../support/prometheus.ts'
import { createScratchDatabase, type ScratchDatabase } from '../support/scratch-database.ts'
import { buildServer, type ServerBuild } from '../support/server-build.ts'
import { freePort, type ServerProcess, startServer } from '../support/server-process.ts'
import { post, type Signed, signUp, storedEvents } from '../support/soak.ts'
import { TestSocket, until } from '../support/ws.ts'

const USERS = 6
const PER_PHASE = 8

const missing = !TEST_DATABASE_URL
  ? 'TEST_DATABASE_URL is not set'
  : !NGINX
    ? 'nginx is not installed (apt-get install nginx-light; .ci/run does)'
    : undefined

/** A socket through the balancer, as a browser at its origin opens it. */
async function openSocket(origin: string, cookie: string): Promise<TestSocket> {
  const ws = new WebSocket(`${origin.replace(/^http/, 'ws')}/api/ws?v=2`, { headers: { cookie, origin } })
  const socket = new TestSocket(ws)
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve())
    ws.once('error', reject)
    ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)))
  })
  await socket.waitFor('hello')
  return socket
}

/**
 * Issue 11 item 7 end to end: three Ferry processes (the built server, the
 * PostgreSQL bus) behind deploy/nginx.conf, every client talking only to
 * nginx, which spreads them with no stickiness. One process is killed with
 * kill -9: its clients reconnect through nginx, land on the others and
 * resume; nothing acked is lost or doubled and every client holds the same
 * gap-free log.
 */
describe.skipIf(missing !== undefined)(
  missing ? `three processes behind nginx — NOT RUN: ${missing}` : 'three processes behind nginx',
  () => {
    let build: ServerBuild
    let database: ScratchDatabase
    let nginx: Nginx
    const nodes: ServerProcess[] = []
    const metricsPorts: number[] = []
    const sockets: TestSocket[] = []
    beforeAll(async () => {
      build = buildServer()
      database = await createScratchDatabase()
      const ports = [await freePort(), await freePort(), await freePort()]
      nginx = await startNginx({ upstreams: ports.map((port) => `127.0.0.1:${port}`), tls: false })
      const env = {
        DATABASE_URL: database.url,
        FERRY_BUS: 'postgres',
        FERRY_BUS_CHANNEL: `test_${randomBytes(6).toString('hex')}`,
        ALLOWED_ORIGINS: nginx.url,
        TRUST_PROXY: '127.0.0.1',
        AUTH_RATE_LIMIT_MAX: '100000',
      }
      for (const _ of ports) metricsPorts.push(await freePort())
      const start = (i: number) =>
        startServer({ ...env, PORT: String(ports[i]), METRICS_PORT: String(metricsPorts[i]) }, 90_000, build.entry)
      // The first migrates; the others then start together.
      nodes.push(await start(0))
      nodes.push(...(await Promise.all([start(1), start(2)])))
    }, 180_000)
    afterAll(async () => {
      for (const socket of sockets) socket.ws.terminate()
      await nginx?.stop()
      await Promise.all(nodes.map((node) => node.stop('SIGKILL')))
      await database?.drop()
      build?.remove()
    })

    const socketsOpenPer = async () =>
      Promise.all(
        metricsPorts.map(async (port, i) => {
          if (nodes[i]!.child.exitCode !== null || nodes[i]!.child.signalCode !== null) return 0
          const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
          return sample(parseMetrics(text), 'ferry_sockets_open')
        }),
      )

    it('spreads clients over the processes and, after kill -9 of one, they resume elsewhere: 0 lost, 0 doubled, one order', async () => {
      const origin = nginx.url
      const users: Signed[] = []
      for (let i = 0; i < USERS; i++) users.push(await signUp(origin, `lb_${process.pid % 10_000}_${i}`))
      const room = await post(`${origin}/api/rooms`, { name: 'Behind nginx', visibility: 'public' }, users[0]!.cookie)
      const roomId = ((await room.json()) as { room: { id: string } }).room.id
      for (const user of users.slice(1)) {
        expect((await post(`${origin}/api/rooms/${roomId}/join`, undefined, user.cookie)).status).toBe(200)
      }
      // One socket per user, all through nginx.
      const first = await Promise.all(users.map((user) => openSocket(origin, user.cookie)))
      sockets.push(...first)
      for (const socket of first) await socket.subscribe(roomId)
      const perNode = await socketsOpenPer()
      expect(perNode.reduce((a, b) => a + b, 0)).toBe(USERS)
      // No stickiness, least_conn: more than one process holds sockets.
      expect(perNode.filter((n) => n > 0).length).toBeGreaterThan(1)

      const acked = new Set<string>()
      const sendRound = async (from: TestSocket[], round: number) => {
        const ids = from.map(() => Array.from({ length: PER_PHASE }, () => randomUUID()))
        for (let i = 0; i < PER_PHASE; i++) {
          for (const [u, socket] of from.entries()) {
            socket.send({ type: 'send', roomId, clientId: ids[u]![i]!, body: `r${round} ${i}` })
          }
        }
        await Promise.all(
          from.flatMap((socket, u) =>
            ids[u]!.map(async (clientId) => {
              await socket.waitFor('ack', (f) => f.clientId === clientId, { timeoutMs: 30_000 })
              acked.add(clientId)
            }),
          ),
        )
      }
      await sendRound(first, 1)

      // kill -9 the process holding the most sockets; exactly its sockets drop.
      const victim = perNode.indexOf(Math.max(...perNode))
      nodes[victim]!.child.kill('SIGKILL')
      await until(
        () => first.filter((s) => !s.isOpen).length === perNode[victim],
        "the victim's sockets to drop",
        30_000,
      )
      expect(first.filter((s) => !s.isOpen)).toHaveLength(perNode[victim]!)

      // Their clients reconnect through nginx (which skips the dead upstream) and resume from what they hold.
      const current = await Promise.all(
        first.map(async (socket, u) => {
          if (socket.isOpen) return socket
          const again = await openSocket(origin, users[u]!.cookie)
          sockets.push(again)
          await again.subscribe(roomId, socket.lastSeq(roomId))
          return again
        }),
      )
      await sendRound(current, 2)

      const stored = await storedEvents(origin, users[0]!.cookie, roomId)
      const lastSeq = stored.at(-1)!.seq
      expect(stored.map((e) => e.seq)).toEqual(Array.from({ length: lastSeq }, (_, i) => i + 1))
      // Every acked send stored exactly once.
      const storedIds = stored.flatMap((e) => (e.clientId && e.kind === 'message.created' ? [e.clientId] : []))
      expect(new Set(storedIds).size).toBe(storedIds.length)
      for (const clientId of acked) expect(storedIds).toContain(clientId)
      expect(acked.size).toBe(2 * USERS * PER_PHASE)
      // Every client (its first socket, then its second after the kill) holds the whole log once, in order.
      for (const [u, socket] of first.entries()) {
        await until(() => current[u]!.lastSeq(roomId) === lastSeq, `client ${u} to catch up`, 30_000)
        const seqs = socket === current[u] ? socket.seqs(roomId) : [...socket.seqs(roomId), ...current[u]!.seqs(roomId)]
        expect(seqs).toEqual(Array.from({ length: lastSeq }, (_, i) => i + 1))
      }
    })
  },
)
