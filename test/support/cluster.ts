import { randomBytes, randomUUID } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { Redis } from 'ioredis'
import pg from 'pg'
import { expect } from 'vitest'
import { buildApp } from '../../server/app.ts'
import type { Database } from '../../server/db/database.ts'
import { Metrics } from '../../server/metrics/metrics.ts'
import type { ClusterBus } from '../../server/realtime/bus/cluster-bus.ts'
import { eventReader } from '../../server/realtime/bus/create-bus.ts'
import { PostgresBus } from '../../server/realtime/bus/postgres-bus.ts'
import { RedisBus } from '../../server/realtime/bus/redis-bus.ts'
import type { BusLog } from '../../server/realtime/bus/transport.ts'
import * as api from './api.ts'
import { type Agent, signUp, testConfig } from './app.ts'
import { TEST_DATABASE_URL } from './databases.ts'
import { connect, isGapFree, realtimeConfig, storedEvents, type TestSocket, until } from './ws.ts'

export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'

/** Whether Redis answers PING within a second (the Redis half is skipped, and says so, when it does not). */
export async function redisReachable(url = TEST_REDIS_URL): Promise<boolean> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 1_000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  })
  client.on('error', () => {})
  try {
    await client.connect()
    return (await client.ping()) === 'PONG'
  } catch {
    return false
  } finally {
    client.disconnect()
  }
}

/** Log lines a node's bus wrote, for assertions (nothing goes to the console). */
export class RecordingLog implements BusLog {
  readonly lines: { level: string; message: string; object: object }[] = []
  info(object: object, message: string) {
    this.lines.push({ level: 'info', message, object })
  }
  warn(object: object, message: string) {
    this.lines.push({ level: 'warn', message, object })
  }
  error(object: object, message: string) {
    this.lines.push({ level: 'error', message, object })
  }
}

export interface ClusterNode {
  app: FastifyInstance
  bus: PostgresBus | RedisBus
  metrics: Metrics
  log: RecordingLog
}

export type BusKind = 'postgres' | 'redis'

/**
 * `count` Ferry apps on one database, each with its own bus on one channel
 * of its own (other test runs on the same server never hear it), listening
 * on ephemeral ports: processes in all but the process boundary.
 */
export async function startCluster(kind: BusKind, database: Database, count: number) {
  // A cut listener stays away ~1–2 s: long enough for a whole wave of sends to commit unheard, so only the resync can
  // bring them (the suite's no-loss check would also pass through later pointers' gap fills otherwise).
  const reconnect = { initialMs: 2_000, maxMs: 4_000 }
  const tag = randomBytes(5).toString('hex')
  const config = testConfig({
    realtime: realtimeConfig({ sendRatePerSecond: 100_000, sendBurst: 100_000 }),
  })
  const nodes: ClusterNode[] = []
  for (let i = 0; i < count; i++) {
    const metrics = new Metrics()
    const log = new RecordingLog()
    const common = { read: eventReader(database.db), metrics, log, retryMs: 50 }
    const bus =
      kind === 'postgres'
        ? new PostgresBus({ ...common, connectionString: TEST_DATABASE_URL!, channel: `ferry_test_${tag}`, reconnect })
        : new RedisBus({
            ...common,
            url: TEST_REDIS_URL,
            prefix: `ferry-test-${tag}`,
            name: `ferry-test-${tag}-n${i}`,
            reconnect,
          })
    await bus.start()
    const app = await buildApp({ config, database, bus, metrics, serveClient: false })
    await app.listen({ port: 0, host: '127.0.0.1' })
    nodes.push({ app, bus, metrics, log })
  }
  return {
    nodes,
    channel: `ferry_test_${tag}`,
    async close() {
      for (const node of nodes) await node.app.close()
    },
  }
}

/** A labelled counter's value (prom-client). */
export async function counterValue(
  metric: { get(): Promise<{ values: { labels: Record<string, unknown>; value: number }[] }> },
  labels: Record<string, string> = {},
): Promise<number> {
  const { values } = await metric.get()
  return values
    .filter((value) => Object.entries(labels).every(([key, wanted]) => value.labels[key] === wanted))
    .reduce((sum, value) => sum + value.value, 0)
}

/** Cuts the node's listening connection the way an outage does. */
export async function cutListener(kind: BusKind, bus: ClusterBus): Promise<void> {
  if (kind === 'postgres') {
    const pid = await (bus as PostgresBus).transport.listenerPid()
    expect(pid).toBeTypeOf('number')
    await adminQuery('SELECT pg_terminate_backend($1)', [pid])
    return
  }
  const admin = new Redis(TEST_REDIS_URL)
  try {
    const name = `${(bus as RedisBus).transport.connectionName}-sub`
    const list = String(await admin.call('CLIENT', 'LIST', 'TYPE', 'pubsub'))
    const ids = list
      .split('\n')
      .filter((line) => line.includes(` name=${name} `))
      .map((line) => /id=(\d+)/.exec(line)?.[1])
    expect(ids).toHaveLength(1)
    await admin.call('CLIENT', 'KILL', 'ID', ids[0]!)
  } finally {
    admin.disconnect()
  }
}

/** One statement on a connection of its own. */
export async function adminQuery(text: string, values: unknown[] = []): Promise<void> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL })
  await client.connect()
  try {
    await client.query(text, values)
  } finally {
    await client.end()
  }
}

/**
 * The scenario: `sockets` clients spread over the nodes follow one
 * public room; each sends `perSocket` messages through its own node, all at
 * once. With `midway`, half are sent and acked, `midway` runs (cut the bus
 * there), then the other half goes at once.
 * Every socket must then hold the room's whole log, 1..N, once each, in order.
 */
export async function everySocketSeesEverySeq(
  nodes: ClusterNode[],
  options: {
    users: number
    sockets: number
    perSocket: number
    midway?: () => Promise<void>
    /** Nodes whose sockets stay quiet after `midway` (the cut node: its own commits would fill its holes anyway). */
    quietAfterMidway?: number[]
  },
): Promise<{ sockets: TestSocket[]; lastSeq: number }> {
  const agents: Agent[] = []
  for (let i = 0; i < options.users; i++) agents.push(await signUp(nodes[i % nodes.length]!.app))
  const owner = agents[0]!
  const roomId = (await api.createRoom(owner, 'public')).id
  for (const agent of agents.slice(1)) await api.join(agent, roomId)

  const sockets: TestSocket[] = []
  for (let i = 0; i < options.sockets; i++) {
    sockets.push(await connect(nodes[i % nodes.length]!.app, agents[i % agents.length]!))
  }
  await Promise.all(sockets.map((socket) => socket.subscribe(roomId, 0)))

  const acks = () => sockets.reduce((sum, socket) => sum + socket.frames.filter((f) => f.type === 'ack').length, 0)
  let total = 0
  const sendWave = (from: number, to: number, quiet: number[] = []) => {
    for (const [index, socket] of sockets.entries()) {
      if (quiet.includes(index % nodes.length)) continue
      for (let i = from; i < to; i++) socket.send({ type: 'send', roomId, clientId: randomUUID(), body: `m${i}` })
      total += to - from
    }
  }
  if (options.midway) {
    // Half, then the cut, then the other half at once: commits land while the node is not listening.
    const half = Math.floor(options.perSocket / 2)
    sendWave(0, half)
    await until(() => acks() === total, 'the first half acked')
    await options.midway()
    sendWave(half, options.perSocket, options.quietAfterMidway)
  } else {
    sendWave(0, options.perSocket)
  }
  await until(() => acks() === total, `all ${total} sends acked`, 40_000)
  const errors = sockets.flatMap((socket) => socket.frames.filter((f) => f.type === 'error'))
  expect(errors).toEqual([])

  const stored = await storedEvents(owner, roomId)
  const lastSeq = stored.at(-1)!.seq
  expect(
    isGapFree(
      stored.map((e) => e.seq),
      1,
      lastSeq,
    ),
  ).toBe(true)
  await until(
    () => sockets.every((socket) => socket.lastSeq(roomId) >= lastSeq),
    'every socket at the last seq',
    40_000,
  )
  for (const socket of sockets) {
    const seqs = socket.seqs(roomId)
    expect(isGapFree(seqs, 1, lastSeq), `socket sees 1..${lastSeq} once each, in order`).toBe(true)
  }
  return { sockets, lastSeq }
}
