import { describe, expect, it, vi } from 'vitest'
import type { FerryDatabase } from '../../client/db/schema.ts'
import { OutboxFlusher } from '../../client/outbox/flusher.ts'
import { claimForSending, discard, edit, enqueue, listOutbox } from '../../client/outbox/store.ts'
import { TokenBucket } from '../../client/outbox/token-bucket.ts'
import type { ErrorCode } from '../../shared/errors.ts'
import type { SendFrame } from '../../shared/protocol.ts'
import { freshDb, message, ROOM_A } from './support.ts'

/**
 * Issue 7 item 3: an item handed to the network may already be stored, so it
 * cannot be edited or discarded until its answer comes (an ack brings the
 * original back to everyone). The mark lives in IndexedDB (`sentAt`), written
 * in the transaction that picks what to send, so every tab sees it.
 */
async function setup(db?: FerryDatabase) {
  const database = db ?? (await freshDb())
  const clock = { now: 1_000 }
  const sent: SendFrame[] = []
  const flusher = new OutboxFlusher(
    database,
    { onOutboxChange: () => undefined, onSettled: () => undefined },
    {
      now: () => clock.now,
      bucket: new TokenBucket(10, 1000, () => clock.now),
      setTimer: () => undefined,
    },
  )
  return { db: database, flusher, sent, clock, open: () => flusher.connected((f) => sent.push(f as SendFrame) > 0) }
}

const refuse = (flusher: OutboxFlusher, clientId: string, code: ErrorCode) =>
  flusher.handleError({ type: 'error', code, message: code, clientId, retryAfterMs: 100 })

const state = async (db: FerryDatabase) =>
  (await listOutbox(db)).map((i) => ({ body: i.body, state: i.state, inFlight: i.sentAt !== undefined }))

describe('outbox: edit and discard of an in-flight item', () => {
  it('refuses edit and discard once the item is sent, and sends the edit made before', async () => {
    const h = await setup()
    const a = await enqueue(h.db, ROOM_A, 'first draft')
    expect(await edit(h.db, a.clientId, 'final text')).toEqual({ ok: true })
    h.open()
    await h.flusher.pump()
    expect(h.sent.map((f) => f.body)).toEqual(['final text'])
    expect(await state(h.db)).toEqual([{ body: 'final text', state: 'waiting', inFlight: true }])
    expect(await edit(h.db, a.clientId, 'too late')).toEqual({ ok: false, reason: 'in_flight' })
    expect(await discard(h.db, a.clientId)).toEqual({ ok: false, reason: 'in_flight' })
    expect(await state(h.db)).toEqual([{ body: 'final text', state: 'waiting', inFlight: true }])
    // The ack settles it: it left the outbox for the log.
    await h.flusher.handleAck({
      type: 'ack',
      roomId: ROOM_A,
      clientId: a.clientId,
      seq: 1,
      duplicate: false,
      message: message(ROOM_A, 1, a.clientId, 'final text'),
    })
    expect(await listOutbox(h.db)).toEqual([])
    expect(await discard(h.db, a.clientId)).toEqual({ ok: false, reason: 'gone' })
  })

  it('a refusal (nothing stored) takes the mark back: editable again, and the resend carries the edit', async () => {
    const h = await setup()
    const a = await enqueue(h.db, ROOM_A, 'one')
    const b = await enqueue(h.db, ROOM_A, 'two')
    h.open()
    await h.flusher.pump()
    await refuse(h.flusher, a.clientId, 'rate_limited')
    await refuse(h.flusher, b.clientId, 'not_member')
    expect(await state(h.db)).toEqual([
      { body: 'one', state: 'waiting', inFlight: false },
      { body: 'two', state: 'failed', inFlight: false },
    ])
    expect(await edit(h.db, a.clientId, 'one, edited')).toEqual({ ok: true })
    expect(await discard(h.db, b.clientId)).toEqual({ ok: true })
    h.clock.now += 100
    await h.flusher.pump()
    expect(h.sent.map((f) => f.body)).toEqual(['one', 'two', 'one, edited'])
  })

  it('keeps the mark across a disconnect (the outcome is unknown) until the resend is answered', async () => {
    const h = await setup()
    const a = await enqueue(h.db, ROOM_A, 'maybe stored')
    h.open()
    await h.flusher.pump()
    h.flusher.disconnected()
    expect(await discard(h.db, a.clientId)).toEqual({ ok: false, reason: 'in_flight' })
    h.open()
    await h.flusher.pump()
    expect(h.sent).toHaveLength(2)
    await refuse(h.flusher, a.clientId, 'overloaded')
    expect(await discard(h.db, a.clientId)).toEqual({ ok: true })
  })

  it('marks left by a tab that died do not block: the next flusher resends, and the answer clears them', async () => {
    const db = await freshDb()
    const a = await enqueue(db, ROOM_A, 'sent by a dead tab')
    const b = await enqueue(db, ROOM_A, 'also')
    // The dead tab claimed both, then vanished.
    await claimForSending(db, (queue) => queue.map((item) => ({ item })), 5)
    expect((await state(db)).every((i) => i.inFlight)).toBe(true)
    const h = await setup(db)
    h.open()
    await h.flusher.pump()
    expect(h.sent.map((f) => [f.clientId, f.afterClientId])).toEqual([
      [a.clientId, undefined],
      [b.clientId, a.clientId],
    ])
    await refuse(h.flusher, a.clientId, 'rate_limited')
    await refuse(h.flusher, b.clientId, 'out_of_order')
    expect((await state(db)).map((i) => i.inFlight)).toEqual([false, false])
  })

  it('an item claimed but not sent (socket closed meanwhile) gets its previous mark back', async () => {
    const db = await freshDb()
    await enqueue(db, ROOM_A, 'never sent')
    const h = await setup(db)
    h.flusher.connected(() => false)
    await h.flusher.pump()
    expect(await state(db)).toEqual([{ body: 'never sent', state: 'waiting', inFlight: false }])
  })
})

describe('outbox flusher: failures are reported, not swallowed', () => {
  it('a pass that IndexedDB refuses is logged and retried later; pump never rejects', async () => {
    const db = await freshDb()
    await enqueue(db, ROOM_A, 'later')
    const timers: number[] = []
    const flusher = new OutboxFlusher(
      db,
      { onOutboxChange: () => undefined, onSettled: () => undefined },
      { setTimer: (_fn, ms) => timers.push(ms) },
    )
    flusher.connected(() => true)
    await flusher.pump()
    const error = vi.spyOn(console, 'error').mockImplementation(() => undefined)
    db.close()
    await expect(flusher.pump()).resolves.toBeUndefined()
    expect(error).toHaveBeenCalledWith(expect.stringContaining('a send pass failed'), expect.anything())
    expect(timers).toContain(1_000)
    error.mockRestore()
  })
})
