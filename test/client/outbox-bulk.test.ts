import { describe, expect, it } from 'vitest'
import type { FerryDatabase } from '../../client/db/schema.ts'
import { OutboxFlusher } from '../../client/outbox/flusher.ts'
import { discardRoom, enqueue, listOutbox, markFailed, retryRoom } from '../../client/outbox/store.ts'
import { TokenBucket } from '../../client/outbox/token-bucket.ts'
import type { ErrorCode } from '../../shared/errors.ts'
import type { SendFrame } from '../../shared/protocol.ts'
import { freshDb, message, ROOM_A, ROOM_B } from './support.ts'

/**
 * Issue 8 item 8: "Retry all" and "Discard all" act on one room's queue, each
 * in one transaction, and never let a later message of the room be stored
 * before an earlier one that will be (re)sent (docs/PROTOCOL.md "Sender order").
 */
async function setup() {
  const db = await freshDb()
  const sent: SendFrame[] = []
  const clock = { now: 1_000 }
  const flusher = new OutboxFlusher(
    db,
    { onOutboxChange: () => undefined, onSettled: () => undefined },
    { now: () => clock.now, bucket: new TokenBucket(10, 1000, () => clock.now), setTimer: () => undefined },
  )
  return { db, sent, clock, flusher, open: () => flusher.connected((f) => sent.push(f as SendFrame) > 0) }
}

const refuse = (flusher: OutboxFlusher, clientId: string, code: ErrorCode) =>
  flusher.handleError({ type: 'error', code, message: code, clientId })

const rows = async (db: FerryDatabase) =>
  (await listOutbox(db)).map((i) => [i.body, i.state, i.sentAt !== undefined ? 'in flight' : ''])

describe('Retry all (retryRoom)', () => {
  it("puts every failed message of the room back in line, in place; other rooms' failures stay", async () => {
    const { db } = await setup()
    const a1 = await enqueue(db, ROOM_A, 'a1')
    await enqueue(db, ROOM_A, 'a2')
    const a3 = await enqueue(db, ROOM_A, 'a3')
    const b1 = await enqueue(db, ROOM_B, 'b1')
    for (const item of [a1, a3, b1]) await markFailed(db, item.clientId, { code: 'not_member', message: 'Join first' })
    expect(await retryRoom(db, ROOM_A)).toBe(2)
    expect(await rows(db)).toEqual([
      ['a1', 'waiting', ''],
      ['a2', 'waiting', ''],
      ['a3', 'waiting', ''],
      ['b1', 'failed', ''],
    ])
    expect((await listOutbox(db))[0]).toMatchObject({ error: null, order: a1.order, clientId: a1.clientId })
    expect(await retryRoom(db, ROOM_A)).toBe(0)
  })

  it('all at once: the next pass sends them in writing order, each naming the one before', async () => {
    const h = await setup()
    const items = []
    for (const body of ['r1', 'r2', 'r3']) items.push(await enqueue(h.db, ROOM_A, body))
    for (const item of items) await markFailed(h.db, item.clientId, { code: 'not_member', message: 'Join first' })
    h.open()
    await retryRoom(h.db, ROOM_A)
    await h.flusher.pump()
    expect(h.sent.map((f) => [f.body, f.afterClientId])).toEqual([
      ['r1', undefined],
      ['r2', items[0]!.clientId],
      ['r3', items[1]!.clientId],
    ])
  })
})

describe('Discard all (discardRoom)', () => {
  it('removes waiting and failed messages of the room, keeps those in flight and counts them', async () => {
    const h = await setup()
    await enqueue(h.db, ROOM_A, 'in flight')
    h.open()
    await h.flusher.pump()
    const failed = await enqueue(h.db, ROOM_A, 'failed')
    await markFailed(h.db, failed.clientId, { code: 'not_member', message: 'Join first' })
    await enqueue(h.db, ROOM_A, 'waiting')
    await enqueue(h.db, ROOM_B, 'other room')
    expect(await discardRoom(h.db, ROOM_A)).toEqual({ discarded: 2, inFlight: 1 })
    expect(await rows(h.db)).toEqual([
      ['in flight', 'waiting', 'in flight'],
      ['other room', 'waiting', ''],
    ])
  })

  it('a message in flight that named a discarded one is resent naming the nearest one still waiting', async () => {
    const h = await setup()
    const m1 = await enqueue(h.db, ROOM_A, 'm1')
    const m2 = await enqueue(h.db, ROOM_A, 'm2')
    const m3 = await enqueue(h.db, ROOM_A, 'm3')
    h.open()
    await h.flusher.pump()
    expect(h.sent.map((f) => f.afterClientId)).toEqual([undefined, m1.clientId, m2.clientId])
    // m2 is refused for a moment (nothing stored; m3, which named it, is still in flight) …
    await refuse(h.flusher, m2.clientId, 'rate_limited')
    // … and the person discards what is not in flight: m2 goes, m1 and m3 stay.
    expect(await discardRoom(h.db, ROOM_A)).toEqual({ discarded: 1, inFlight: 2 })
    // The server cannot store m3 after a message it never got: it refuses it, and m3 is resent after m1.
    await h.flusher.handleAck({
      type: 'ack',
      roomId: ROOM_A,
      clientId: m1.clientId,
      seq: 1,
      duplicate: false,
      message: message(ROOM_A, 1, m1.clientId, 'm1'),
    })
    await refuse(h.flusher, m3.clientId, 'out_of_order')
    h.clock.now += 60_000 // past the rate limit's pause
    await h.flusher.pump()
    const resent = h.sent.slice(3)
    expect(resent.map((f) => [f.body, f.afterClientId])).toEqual([['m3', undefined]])
    expect((await listOutbox(h.db)).map((i) => i.body)).toEqual(['m3'])
  })
})
