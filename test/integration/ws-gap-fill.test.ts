import type { FastifyInstance } from 'fastify'
import {
  type KyselyPlugin,
  type PluginTransformQueryArgs,
  type PluginTransformResultArgs,
  type QueryId,
  type QueryResult,
  type RootOperationNode,
  SelectQueryNode,
  type UnknownRow,
} from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../../server/app.ts'
import type { Database } from '../../server/db/database.ts'
import { LocalBus } from '../../server/realtime/bus.ts'
import type { RoomEvent } from '../../shared/schemas.ts'
import { signUp, testConfig } from '../support/app.ts'
import { createTestDatabase, describeEachEngine, TEST_DATABASE_URL } from '../support/databases.ts'
import { connect, createRoom, isGapFree, postMessage, until } from '../support/ws.ts'

/** A bus that loses what it is told to: what a socket sees when another node's commit is announced late. */
class LossyBus extends LocalBus {
  dropping = false
  override publish(events: readonly RoomEvent[]): void {
    if (!this.dropping) super.publish(events)
  }
}

describeEachEngine('a live socket handed events that skip ahead', (engine) => {
  let database: Database
  let app: FastifyInstance
  const bus = new LossyBus()

  beforeAll(async () => {
    database = await createTestDatabase(engine)
    app = await buildApp({ config: testConfig(), database, bus, serveClient: false })
    await app.listen({ port: 0, host: '127.0.0.1' })
  })
  afterAll(async () => {
    await app?.close()
    await database?.close()
  })

  it('reads the hole from the database before what it was handed: every seq once, in order, no caught_up again', async () => {
    const owner = await signUp(app)
    const roomId = await createRoom(owner)
    await postMessage(owner, roomId, 'one')
    const socket = await connect(app, owner)
    const { caughtUp } = await socket.subscribe(roomId, 0)

    bus.dropping = true
    await postMessage(owner, roomId, 'committed, never announced')
    await postMessage(owner, roomId, 'this one neither')
    bus.dropping = false
    const last = await postMessage(owner, roomId, 'announced')

    await socket.waitFor('events', (f) => f.roomId === roomId && f.events.some((e) => e.seq === last))
    expect(isGapFree(socket.seqs(roomId), 1, last)).toBe(true)
    expect(last).toBe(caughtUp + 3)
    expect(socket.frames.filter((f) => f.type === 'caught_up')).toHaveLength(1)
    await socket.close()
  })
})

/**
 * Holds the result of the next read of `room_events` while armed: the replay
 * has read the log, and what is committed meanwhile is not in it.
 */
class ReplayGate implements KyselyPlugin {
  #armed = false
  #held = new Set<QueryId>()
  #release: (() => void) | undefined
  #gate: Promise<void> | undefined
  reached = false

  arm(): void {
    this.#armed = true
    this.reached = false
    this.#gate = new Promise((resolve) => {
      this.#release = resolve
    })
  }

  open(): void {
    this.#armed = false
    this.#release?.()
  }

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    const node = args.node
    if (this.#armed && SelectQueryNode.is(node) && JSON.stringify(node.from).includes('"room_events"')) {
      this.#held.add(args.queryId)
    }
    return node
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    if (this.#held.delete(args.queryId)) {
      this.reached = true
      await this.#gate
    }
    return args.result
  }
}

const postgresTitle = TEST_DATABASE_URL
  ? 'a socket whose replay read the log before a commit announced late [postgres]'
  : 'a socket whose replay read the log before a commit announced late [postgres] — NOT RUN: TEST_DATABASE_URL is not set'

// PostgreSQL only: holding a read's result holds its connection, and PGlite has one.
describe.skipIf(!TEST_DATABASE_URL)(postgresTitle, () => {
  let database: Database
  let app: FastifyInstance
  const bus = new LossyBus()
  const gate = new ReplayGate()

  beforeAll(async () => {
    const created = await createTestDatabase('postgres')
    database = { ...created, db: created.db.withPlugin(gate) }
    app = await buildApp({ config: testConfig(), database, bus, serveClient: false })
    await app.listen({ port: 0, host: '127.0.0.1' })
    database.close = created.close
  })
  afterAll(async () => {
    gate.open()
    await app?.close()
    await database?.close()
  })

  it('step 5 reads the hole between its replay and the first buffered event before flushing', async () => {
    const owner = await signUp(app)
    const roomId = await createRoom(owner)
    await postMessage(owner, roomId, 'one')
    await postMessage(owner, roomId, 'two')
    const socket = await connect(app, owner)

    gate.arm()
    socket.send({ type: 'subscribe', rooms: [{ roomId, after: 0 }] })
    await until(() => gate.reached, 'the replay read the log')
    // Committed after the replay's read: one never announced here (another node's, late), one announced (buffered).
    bus.dropping = true
    await postMessage(owner, roomId, 'late')
    bus.dropping = false
    const last = await postMessage(owner, roomId, 'announced')
    gate.open()

    await socket.waitFor('caught_up', (f) => f.roomId === roomId)
    expect(isGapFree(socket.seqs(roomId), 1, last)).toBe(true)
    await socket.close()
  })
})
