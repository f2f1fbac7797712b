import { describe, expect, it, vi } from 'vitest'
import { getCursor, newestEntries } from '../../client/db/messages.ts'
import type { FerryDatabase } from '../../client/db/schema.ts'
import { OutboxFlusher } from '../../client/outbox/flusher.ts'
import { discard, edit, enqueue, listOutbox, markFailed, retry } from '../../client/outbox/store.ts'
import { TokenBucket } from '../../client/outbox/token-bucket.ts'
import type { ErrorCode } from '../../shared/errors.ts'
import type { SendFrame } from '../../shared/protocol.ts'
import { freshDb, message, ROOM_A, ROOM_B } from './support.ts'

interface Harness {
  db: FerryDatabase
  flusher: OutboxFlusher
  sent: SendFrame[]
  timers: Array<{ fn: () => void; ms: number }>
  clock: { now: number }
  changes: number
}

async function harness(options: { window?: number; burst?: number } = {}): Promise<Harness> {
  const db = await freshDb()
  const clock = { now: 1_000_000 }
  const timers: Harness['timers'] = []
  const h: Harness = { db, sent: [], timers, clock, changes: 0, flusher: undefined as unknown as OutboxFlusher }
  h.flusher = new OutboxFlusher(
    db,
    { onOutboxChange: () => h.changes++, onSettled: () => undefined },
    {
      window: options.window ?? 64,
      now: () => clock.now,
      bucket: new TokenBucket(10, options.burst ?? 1000, () => clock.now),
      setTimer: (fn, ms) => timers.push({ fn, ms }),
    },
  )
  return h
}

const bodies = (frames: SendFrame[]) => frames.map((f) => f.body)
const refuse = (h: Harness, clientId: string, code: ErrorCode, retryAfterMs?: number) =>
  h.flusher.handleError({
    type: 'error',
    code,
    message: code,
    clientId,
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  })
const ack = (h: Harness, frame: SendFrame, seq: number) =>
  h.flusher.handleAck({
    type: 'ack',
    roomId: frame.roomId,
    clientId: frame.clientId,
    seq,
    duplicate: false,
    message: message(frame.roomId, seq, frame.clientId, frame.body),
  })

describe('outbox store', () => {
  it('keeps creation order across rooms', async () => {
    const db = await freshDb()
    await enqueue(db, ROOM_A, 'a1')
    await enqueue(db, ROOM_B, 'b1')
    await enqueue(db, ROOM_A, 'a2')
    const items = await listOutbox(db)
    expect(items.map((i) => i.body)).toEqual(['a1', 'b1', 'a2'])
    expect(items.map((i) => i.order)).toEqual([1, 2, 3])
    const roomA = await db.getAllFromIndex('outbox', 'by-room', IDBKeyRange.bound([ROOM_A, 0], [ROOM_A, Infinity]))
    expect(roomA.map((i) => i.body)).toEqual(['a1', 'a2'])
  })

  it('orders concurrent writes (two tabs) without collisions', async () => {
    const db = await freshDb()
    await Promise.all(Array.from({ length: 20 }, (_, i) => enqueue(db, ROOM_A, `m${i}`)))
    const orders = (await listOutbox(db)).map((i) => i.order)
    expect(new Set(orders).size).toBe(20)
  })

  it('retries, edits and discards', async () => {
    const db = await freshDb()
    const a = await enqueue(db, ROOM_A, 'first')
    const b = await enqueue(db, ROOM_A, 'second')
    await markFailed(db, a.clientId, { code: 'forbidden', message: 'not allowed' })
    expect((await listOutbox(db))[0]).toMatchObject({ state: 'failed', error: { code: 'forbidden' } })
    await retry(db, a.clientId)
    expect((await listOutbox(db))[0]).toMatchObject({ state: 'waiting', error: null, order: a.order })
    await edit(db, b.clientId, 'second, edited')
    await discard(db, a.clientId)
    const items = await listOutbox(db)
    expect(items).toHaveLength(1)
    expect(items[0]).toMatchObject({ clientId: b.clientId, body: 'second, edited' })
  })
})

describe('outbox flusher', () => {
  it('sends every waiting item in creation order, pipelined, and settles acks', async () => {
    const h = await harness()
    for (const body of ['a1', 'b1', 'a2', 'b2']) await enqueue(h.db, body[0] === 'a' ? ROOM_A : ROOM_B, body)
    h.flusher.connected((f) => h.sent.push(f as SendFrame) > 0)
    await h.flusher.pump()
    expect(bodies(h.sent)).toEqual(['a1', 'b1', 'a2', 'b2'])
    expect(h.flusher.inFlightCount).toBe(4)

    await ack(h, h.sent[0]!, 1)
    await ack(h, h.sent[2]!, 2)
    expect((await listOutbox(h.db)).map((i) => i.body)).toEqual(['b1', 'b2'])
    expect((await newestEntries(h.db, ROOM_A, 10)).map((e) => [e.seq, e.body])).toEqual([
      [1, 'a1'],
      [2, 'a2'],
    ])
    expect((await getCursor(h.db, ROOM_A)).lastSeq).toBe(2)
  })

  it('respects the pipeline window', async () => {
    const h = await harness({ window: 2 })
    for (let i = 0; i < 5; i++) await enqueue(h.db, ROOM_A, `m${i}`)
    h.flusher.connected((f) => h.sent.push(f as SendFrame) > 0)
    await h.flusher.pump()
    expect(bodies(h.sent)).toEqual(['m0', 'm1'])
    await ack(h, h.sent[0]!, 1)
    await h.flusher.pump()
    expect(bodies(h.sent)).toEqual(['m0', 'm1', 'm2'])
  })

  it('a refused message is marked failed with its reason and does not block the rest', async () => {
    const h = await harness()
    await enqueue(h.db, ROOM_A, 'ok 1')
    const bad = await enqueue(h.db, ROOM_A, 'x'.repeat(5000))
    await enqueue(h.db, ROOM_A, 'ok 2')
    h.flusher.connected((f) => h.sent.push(f as SendFrame) > 0)
    await h.flusher.pump()
    expect(h.sent).toHaveLength(3)
    await h.flusher.handleError({
      type: 'error',
      code: 'message_too_long',
      message: 'Messages are at most 4000 characters',
      clientId: bad.clientId,
    })
    await ack(h, h.sent[0]!, 1)
    await ack(h, h.sent[2]!, 2)
    const left = await listOutbox(h.db)
    expect(left).toHaveLength(1)
    expect(left[0]).toMatchObject({
      clientId: bad.clientId,
      state: 'failed',
      error: { code: 'message_too_long', message: 'Messages are at most 4000 characters' },
    })
    // A failed item is not resent on its own.
    h.sent.length = 0
    await h.flusher.pump()
    expect(h.sent).toHaveLength(0)
  })

  it('a rate-limited send pauses; later sends of its room, refused out_of_order, follow it again in order', async () => {
    const h = await harness()
    const items = []
    for (let i = 0; i < 4; i++) items.push(await enqueue(h.db, ROOM_A, `m${i}`))
    h.flusher.connected((f) => h.sent.push(f as SendFrame) > 0)
    await h.flusher.pump()
    await ack(h, h.sent[0]!, 1)
    await h.flusher.handleError({
      type: 'error',
      code: 'rate_limited',
      message: 'Slow down',
      clientId: items[1]!.clientId,
      retryAfterMs: 500,
    })
    // The frames behind it are still in flight: each gets its own answer.
    expect(h.flusher.inFlightCount).toBe(2)
    await refuse(h, items[2]!.clientId, 'out_of_order')
    await refuse(h, items[3]!.clientId, 'out_of_order')
    expect((await listOutbox(h.db)).every((i) => i.state === 'waiting')).toBe(true)
    h.sent.length = 0
    await h.flusher.pump()
    expect(h.sent).toHaveLength(0)
    const timer = h.timers.at(-1)!
    expect(timer.ms).toBe(500)
    h.clock.now += 500
    timer.fn()
    await vi.waitFor(() => expect(bodies(h.sent)).toEqual(['m1', 'm2', 'm3']))
    expect(h.sent.map((f) => f.afterClientId)).toEqual([undefined, items[1]!.clientId, items[2]!.clientId])
  })

  it('after a disconnect, unacked items are resent in order with the same clientIds', async () => {
    const h = await harness()
    for (let i = 0; i < 3; i++) await enqueue(h.db, ROOM_A, `m${i}`)
    h.flusher.connected((f) => h.sent.push(f as SendFrame) > 0)
    await h.flusher.pump()
    const firstIds = h.sent.map((f) => f.clientId)
    h.flusher.disconnected()
    const again: SendFrame[] = []
    h.flusher.connected((f) => again.push(f as SendFrame) > 0)
    await h.flusher.pump()
    expect(again.map((f) => f.clientId)).toEqual(firstIds)
  })

  it('a duplicate ack (message already stored) settles without a second copy', async () => {
    const h = await harness()
    await enqueue(h.db, ROOM_A, 'once')
    h.flusher.connected((f) => h.sent.push(f as SendFrame) > 0)
    await h.flusher.pump()
    await ack(h, h.sent[0]!, 1)
    await ack(h, h.sent[0]!, 1)
    expect(await newestEntries(h.db, ROOM_A, 10)).toHaveLength(1)
    expect(await listOutbox(h.db)).toHaveLength(0)
  })

  it('paces sends with the token bucket', async () => {
    const h = await harness({ burst: 2 })
    for (let i = 0; i < 4; i++) await enqueue(h.db, ROOM_A, `m${i}`)
    h.flusher.connected((f) => h.sent.push(f as SendFrame) > 0)
    await h.flusher.pump()
    expect(bodies(h.sent)).toEqual(['m0', 'm1'])
    expect(h.timers.at(-1)!.ms).toBe(100)
    h.clock.now += 100
    h.timers.at(-1)!.fn()
    await vi.waitFor(() => expect(bodies(h.sent)).toEqual(['m0', 'm1', 'm2']))
  })

  it('does nothing while disconnected', async () => {
    const h = await harness()
    await enqueue(h.db, ROOM_A, 'later')
    await h.flusher.pump()
    expect(h.sent).toHaveLength(0)
  })
})

describe('outbox flusher: sender order (afterClientId)', () => {
  it('names the nearest earlier waiting item of the same room; none after a failed or acked one', async () => {
    const h = await harness()
    const a0 = await enqueue(h.db, ROOM_A, 'a0')
    const a1 = await enqueue(h.db, ROOM_A, 'a1')
    const b1 = await enqueue(h.db, ROOM_B, 'b1')
    const a2 = await enqueue(h.db, ROOM_A, 'a2')
    const a3 = await enqueue(h.db, ROOM_A, 'a3')
    await markFailed(h.db, a0.clientId, { code: 'not_member', message: 'Join first' })
    h.flusher.connected((f) => h.sent.push(f as SendFrame) > 0)
    await h.flusher.pump()
    expect(h.sent.map((f) => [f.body, f.afterClientId])).toEqual([
      ['a1', undefined],
      ['b1', undefined],
      ['a2', a1.clientId],
      ['a3', a2.clientId],
    ])
    // a1 is acked, the link drops: the resends name their new nearest predecessor.
    await ack(h, h.sent[0]!, 1)
    h.flusher.disconnected()
    const again: SendFrame[] = []
    h.flusher.connected((f) => again.push(f as SendFrame) > 0)
    await h.flusher.pump()
    expect(again.map((f) => [f.clientId, f.afterClientId])).toEqual([
      [b1.clientId, undefined],
      [a2.clientId, undefined],
      [a3.clientId, a2.clientId],
    ])
  })

  it('out_of_order while its predecessor is in flight: waits for that answer, with no pause and no backoff', async () => {
    const h = await harness()
    await enqueue(h.db, ROOM_A, 'p')
    const x = await enqueue(h.db, ROOM_A, 'x')
    const y = await enqueue(h.db, ROOM_A, 'y')
    h.flusher.connected((f) => h.sent.push(f as SendFrame) > 0)
    await h.flusher.pump()
    expect(bodies(h.sent)).toEqual(['p', 'x', 'y'])
    // x's refusal overtakes p's ack (p is still in flight).
    await refuse(h, x.clientId, 'out_of_order')
    await refuse(h, y.clientId, 'out_of_order')
    await h.flusher.pump()
    expect(bodies(h.sent)).toEqual(['p', 'x', 'y'])
    expect(h.timers).toHaveLength(0)
    await ack(h, h.sent[0]!, 1)
    await vi.waitFor(() => expect(bodies(h.sent)).toEqual(['p', 'x', 'y', 'x', 'y']))
    expect(h.sent.slice(3).map((f) => f.afterClientId)).toEqual([undefined, x.clientId])
    expect(h.timers).toHaveLength(0)
    expect((await listOutbox(h.db)).map((i) => i.clientId)).toEqual([x.clientId, y.clientId])
  })

  it('out_of_order after its predecessor failed for good: resent at once naming the one before (or none)', async () => {
    const h = await harness()
    const p = await enqueue(h.db, ROOM_A, 'p')
    const x = await enqueue(h.db, ROOM_A, 'x')
    h.flusher.connected((f) => h.sent.push(f as SendFrame) > 0)
    await h.flusher.pump()
    await refuse(h, p.clientId, 'not_storable')
    await refuse(h, x.clientId, 'out_of_order')
    await vi.waitFor(() => expect(bodies(h.sent)).toEqual(['p', 'x', 'x']))
    expect(h.sent[2]!.afterClientId).toBeUndefined()
    expect(h.timers).toHaveLength(0)
    expect((await listOutbox(h.db)).map((i) => [i.body, i.state, i.error?.code])).toEqual([
      ['p', 'failed', 'not_storable'],
      ['x', 'waiting', undefined],
    ])
  })

  it('overloaded is transient and honours retryAfterMs; other rooms keep their answers', async () => {
    const h = await harness()
    const a = await enqueue(h.db, ROOM_A, 'a')
    await enqueue(h.db, ROOM_B, 'b')
    h.flusher.connected((f) => h.sent.push(f as SendFrame) > 0)
    await h.flusher.pump()
    await refuse(h, a.clientId, 'overloaded', 1000)
    expect(h.timers.at(-1)!.ms).toBe(1000)
    // b's ack still counts: one refusal does not forget the rest of the pipeline.
    await ack(h, h.sent[1]!, 1)
    expect((await listOutbox(h.db)).map((i) => [i.body, i.state])).toEqual([['a', 'waiting']])
    await h.flusher.pump()
    expect(h.sent).toHaveLength(2)
    h.clock.now += 1000
    h.timers.at(-1)!.fn()
    await vi.waitFor(() => expect(bodies(h.sent)).toEqual(['a', 'b', 'a']))
  })

  it('ignores a stale error (a clientId not in flight)', async () => {
    const h = await harness()
    const waiting = await enqueue(h.db, ROOM_A, 'not sent yet')
    expect(await refuse(h, waiting.clientId, 'forbidden')).toBe(true)
    expect(await refuse(h, waiting.clientId, 'rate_limited', 5000)).toBe(true)
    expect((await listOutbox(h.db))[0]).toMatchObject({ state: 'waiting', error: null })
    h.flusher.connected((f) => h.sent.push(f as SendFrame) > 0)
    await h.flusher.pump()
    // No pause was taken from the stale rate_limited.
    expect(bodies(h.sent)).toEqual(['not sent yet'])
    expect(h.timers).toHaveLength(0)
  })
})
