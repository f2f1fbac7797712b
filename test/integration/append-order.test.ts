import { randomUUID } from 'node:crypto'
import { beforeAll, expect, it } from 'vitest'
import type { AppendRequest } from '../../server/messages/append-batch.ts'
import { expectError } from '../support/api.ts'
import { type Agent, signUp, useTestApp } from '../support/app.ts'
import { appendInOneBatch, appendRequest } from '../support/append.ts'
import { describeEachEngine } from '../support/databases.ts'
import { connect, createRoom, realtimeConfig, storedEvents } from '../support/ws.ts'

/**
 * Sender order across refusals (docs/PROTOCOL.md "Sender order"): a new write
 * naming `afterClientId` is stored only once that message of the same sender
 * and room is stored (before, or earlier in the same batch).
 */
describeEachEngine('append: sender order across refusals', (engine) => {
  const ctx = useTestApp(engine, { realtime: realtimeConfig({ sendRatePerSecond: 1000, sendBurst: 1000 }) })
  let alice: Agent
  beforeAll(async () => {
    await ctx.app.listen({ port: 0, host: '127.0.0.1' })
    alice = await signUp(ctx.app)
  })

  const post = (roomId: string, body: Record<string, unknown>) =>
    alice.request('POST', `/api/rooms/${roomId}/messages`, body)
  const storedClientIds = async (roomId: string) => (await storedEvents(alice, roomId)).map((e) => e.clientId)
  const request = (roomId: string, clientId: string, afterClientId?: string) =>
    appendRequest(alice, roomId, clientId, afterClientId)
  const batch = (requests: AppendRequest[]) => appendInOneBatch(ctx.database.db, requests)

  it('refuses k+1 with out_of_order while k is not stored, storing nothing; stores it once k is', async () => {
    const roomId = await createRoom(alice)
    const [k, next] = [randomUUID(), randomUUID()]

    const early = await post(roomId, { clientId: next, body: 'second', afterClientId: k })
    expectError(early, 409, 'out_of_order')
    expect(early.json().error.message).toContain(k)
    expect(await storedClientIds(roomId)).toEqual([])

    expect((await post(roomId, { clientId: k, body: 'first' })).statusCode).toBe(201)
    const later = await post(roomId, { clientId: next, body: 'second', afterClientId: k })
    expect(later.statusCode).toBe(201)
    expect(later.json().message.seq).toBe(2)
    expect(await storedClientIds(roomId)).toEqual([k, next])
  })

  it('stores a chain whose links come earlier in the same batch, in one transaction', async () => {
    const roomId = await createRoom(alice)
    const ids = [randomUUID(), randomUUID(), randomUUID()]
    const { results } = await batch([
      request(roomId, ids[0]!),
      request(roomId, ids[1]!, ids[0]),
      request(roomId, ids[2]!, ids[1]),
    ])
    expect(results.map((r) => r.ok && r.event.seq)).toEqual([1, 2, 3])
    expect(await storedClientIds(roomId)).toEqual(ids)
  })

  it('refuses a write whose predecessor comes later in the batch, and every write after a refused link', async () => {
    const roomId = await createRoom(alice)
    const [k, next, last] = [randomUUID(), randomUUID(), randomUUID()]
    const { results } = await batch([request(roomId, next, k), request(roomId, k), request(roomId, last, next)])
    expect(results.map((r) => (r.ok ? 'stored' : r.code))).toEqual(['out_of_order', 'stored', 'out_of_order'])
    expect(await storedClientIds(roomId)).toEqual([k])
    // Resent in order, the rest follows.
    const again = await batch([request(roomId, next, k), request(roomId, last, next)])
    expect(again.results.map((r) => r.ok && r.event.seq)).toEqual([2, 3])
    expect(await storedClientIds(roomId)).toEqual([k, next, last])
  })

  it('answers a resend of a stored clientId with its original event, whatever afterClientId says', async () => {
    const roomId = await createRoom(alice)
    const k = randomUUID()
    const first = await post(roomId, { clientId: k, body: 'once' })
    expect(first.statusCode).toBe(201)
    const resend = await post(roomId, { clientId: k, body: 'once', afterClientId: randomUUID() })
    expect(resend.statusCode).toBe(200)
    expect(resend.json()).toEqual(first.json())
  })

  it('counts only the same sender and room as a predecessor', async () => {
    const roomId = await createRoom(alice)
    const otherRoom = await createRoom(alice)
    const k = randomUUID()
    expect((await post(otherRoom, { clientId: k, body: 'elsewhere' })).statusCode).toBe(201)
    expectError(await post(roomId, { clientId: randomUUID(), body: 'here', afterClientId: k }), 409, 'out_of_order')
  })

  it('refuses an afterClientId naming the message itself (it could never be satisfied)', async () => {
    const roomId = await createRoom(alice)
    const k = randomUUID()
    expectError(
      await post(roomId, { clientId: k, body: 'loop', afterClientId: k.toUpperCase() }),
      400,
      'validation_failed',
    )
    expect(await storedClientIds(roomId)).toEqual([])
  })

  it('without afterClientId behaves as before', async () => {
    const roomId = await createRoom(alice)
    const { results } = await batch([request(roomId, randomUUID()), request(roomId, randomUUID())])
    expect(results.map((r) => r.ok && r.event.seq)).toEqual([1, 2])
  })

  it('passes afterClientId through the socket send frame', async () => {
    const roomId = await createRoom(alice)
    const socket = await connect(ctx.app, alice)
    const [k, next] = [randomUUID(), randomUUID()]
    socket.send({ type: 'send', roomId, clientId: next, body: 'second', afterClientId: k })
    const refused = await socket.waitFor('error', (f) => f.clientId === next)
    expect(refused).toMatchObject({ code: 'out_of_order', roomId })
    socket.send({ type: 'send', roomId, clientId: k, body: 'first' })
    socket.send({ type: 'send', roomId, clientId: next, body: 'second', afterClientId: k })
    const ack = await socket.waitFor('ack', (f) => f.clientId === next)
    expect(ack.seq).toBe(2)
    expect(await storedClientIds(roomId)).toEqual([k, next])
    await socket.close()
  })
})
