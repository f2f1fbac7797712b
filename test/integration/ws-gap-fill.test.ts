import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { buildApp } from '../../server/app.ts'
import type { Database } from '../../server/db/database.ts'
import { LocalBus } from '../../server/realtime/bus.ts'
import type { RoomEvent } from '../../shared/schemas.ts'
import { signUp, testConfig } from '../support/app.ts'
import { createTestDatabase, describeEachEngine } from '../support/databases.ts'
import { connect, createRoom, isGapFree, postMessage } from '../support/ws.ts'

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
