import { describe, expect, it } from 'vitest'
import { newestEntries, storeEvents } from '../../client/db/messages.ts'
import { openFerryDb } from '../../client/db/open.ts'
import type { FerryDatabase } from '../../client/db/schema.ts'
import { foldTimeline, type ShownMessage } from '../../client/log/timeline.ts'
import { OutboxFlusher } from '../../client/outbox/flusher.ts'
import {
  type OutgoingFrame,
  queueDelete,
  queueEdit,
  queueReaction,
  replyFields,
} from '../../client/outbox/operations.ts'
import { claimForSending, enqueue, listOutbox } from '../../client/outbox/store.ts'
import { TokenBucket } from '../../client/outbox/token-bucket.ts'
import { flushOutboxOverHttp } from '../../client/sw/flush.ts'
import type { ErrorCode } from '../../shared/errors.ts'
import type { RoomEvent } from '../../shared/schemas.ts'
import { ALICE, BOB, event, freshDb, message, ROOM_A, ROOM_B } from './support.ts'

/**
 * Issue 9, offline semantics (docs/PROTOCOL.md): edits, deletions, reactions
 * and replies are outbox items with their own clientId in the room's one
 * `afterClientId` chain, sent once in order, refused one by one.
 */
async function harness(db?: FerryDatabase) {
  const database = db ?? (await freshDb())
  const sent: OutgoingFrame[] = []
  const clock = { now: 1_000_000 }
  const flusher = new OutboxFlusher(
    database,
    { onOutboxChange: () => undefined, onSettled: () => undefined },
    { now: () => clock.now, bucket: new TokenBucket(10, 1000, () => clock.now), setTimer: () => undefined },
  )
  flusher.connected((f) => sent.push(f) > 0)
  return { db: database, flusher, sent }
}

/** What the server stores for a frame (its kind's entry at `seq`), as an ack carries it. */
function entryFor(frame: OutgoingFrame, seq: number): RoomEvent {
  const base = event(frame.roomId, seq, { authorId: ALICE, authorName: 'alice', clientId: frame.clientId })
  if (frame.type === 'edit') return { ...base, kind: 'message.edited', targetSeq: frame.targetSeq!, body: frame.body }
  if (frame.type === 'delete') return { ...base, kind: 'message.deleted', targetSeq: frame.targetSeq!, body: null }
  if (frame.type === 'react') {
    const kind = frame.action === 'add' ? 'reaction.added' : 'reaction.removed'
    return { ...base, kind, targetSeq: frame.targetSeq!, body: null, reaction: frame.emoji }
  }
  return { ...base, body: frame.body, ...(frame.replyTo ? { replyTo: frame.replyTo } : {}) }
}

const ack = (flusher: OutboxFlusher, frame: OutgoingFrame, seq: number) =>
  frame.type === 'send'
    ? flusher.handleAck({
        type: 'ack',
        roomId: frame.roomId,
        clientId: frame.clientId,
        seq,
        duplicate: false,
        message: message(frame.roomId, seq, frame.clientId, frame.body),
      })
    : flusher.handleAck({
        type: 'ack',
        roomId: frame.roomId,
        clientId: frame.clientId,
        seq,
        duplicate: false,
        event: entryFor(frame, seq),
      })

const refuse = (flusher: OutboxFlusher, clientId: string, code: ErrorCode) =>
  flusher.handleError({ type: 'error', code, message: `server says ${code}`, clientId })

/** A room whose log holds four messages by Bob (seqs 1-4) and one by Alice (5). */
async function roomWithMessages(db: FerryDatabase) {
  await storeEvents(db, ROOM_A, [
    event(ROOM_A, 1),
    event(ROOM_A, 2),
    event(ROOM_A, 3),
    event(ROOM_A, 4),
    event(ROOM_A, 5, { authorId: ALICE, authorName: 'alice' }),
  ])
}

describe('operations in the outbox', () => {
  it('sends edit, delete, react and a reply in the order written, chained with messages, each once', async () => {
    const h = await harness()
    await roomWithMessages(h.db)
    const first = await enqueue(h.db, ROOM_A, 'a new message')
    const edit = await queueEdit(h.db, ROOM_A, { seq: 5 }, 'edited text')
    await queueDelete(h.db, ROOM_A, { seq: 5 })
    await queueReaction(h.db, ROOM_A, { seq: 3 }, '🎉', 'add')
    await enqueue(h.db, ROOM_B, 'elsewhere')
    await enqueue(h.db, ROOM_A, 'a reply', undefined, replyFields({ seq: 4 }))
    // An edit of the still-waiting message changes it: no operation is written.
    expect(await queueEdit(h.db, ROOM_A, { clientId: first.clientId }, 'a new message, fixed')).toEqual({
      done: 'changed_queued',
    })
    await h.flusher.pump()
    const ids = h.sent.map((f) => f.clientId)
    expect(h.sent.map((f) => [f.type, f.roomId === ROOM_A ? 'A' : 'B'])).toEqual([
      ['send', 'A'],
      ['edit', 'A'],
      ['delete', 'A'],
      ['react', 'A'],
      ['send', 'B'],
      ['send', 'A'],
    ])
    expect(h.sent[0]).toMatchObject({ body: 'a new message, fixed' })
    expect(h.sent[1]).toMatchObject({ targetSeq: 5, body: 'edited text', afterClientId: ids[0] })
    expect(h.sent[2]).toMatchObject({ targetSeq: 5, afterClientId: ids[1] })
    expect(h.sent[3]).toMatchObject({ targetSeq: 3, emoji: '🎉', action: 'add', afterClientId: ids[2] })
    expect(h.sent[4]).not.toHaveProperty('afterClientId')
    expect(h.sent[5]).toMatchObject({ body: 'a reply', replyTo: 4, afterClientId: ids[3] })
    expect(edit.done).toBe('queued')

    let seq = 5
    for (const frame of h.sent.filter((f) => f.roomId === ROOM_A)) await ack(h.flusher, frame, ++seq)
    expect((await listOutbox(h.db)).map((i) => i.roomId)).toEqual([ROOM_B])
    const shown = foldTimeline(await newestEntries(h.db, ROOM_A, 20), ALICE) as ShownMessage[]
    expect(shown.map((m) => [m.seq, m.deleted, m.reactions.map((r) => r.emoji)])).toEqual([
      [1, false, []],
      [2, false, []],
      [3, false, ['🎉']],
      [4, false, []],
      [5, true, []],
      [6, false, []],
      [10, false, []],
    ])
    // The deletion scrubbed the text of the message and of its edit on the device.
    expect((await newestEntries(h.db, ROOM_A, 20)).filter((e) => e.seq === 5 || e.seq === 7)).toMatchObject([
      { body: null },
      { body: null },
    ])
    expect(shown.at(-1)).toMatchObject({ replyTo: { seq: 4, authorName: 'bob', firstLine: 'message 4' } })
  })

  it('a refusal fails only that operation, with its reason, and the chain moves on past it', async () => {
    const h = await harness()
    await roomWithMessages(h.db)
    await queueEdit(h.db, ROOM_A, { seq: 5 }, 'too late')
    await queueReaction(h.db, ROOM_A, { seq: 2 }, '👍', 'add')
    await h.flusher.pump()
    const [edit, react] = h.sent
    await refuse(h.flusher, edit!.clientId, 'target_deleted')
    // The reaction named the edit; refused out_of_order while the edit was being answered, it is resent without it.
    await refuse(h.flusher, react!.clientId, 'out_of_order')
    await h.flusher.pump()
    expect(h.sent.at(-1)).toMatchObject({ clientId: react!.clientId })
    expect(h.sent.at(-1)).not.toHaveProperty('afterClientId')
    const items = await listOutbox(h.db)
    expect(items.find((i) => i.clientId === edit!.clientId)).toMatchObject({
      state: 'failed',
      error: { code: 'target_deleted' },
    })
    const shown = foldTimeline(await newestEntries(h.db, ROOM_A, 20), ALICE, items) as ShownMessage[]
    expect(shown[4]).toMatchObject({
      body: 'message 5',
      edited: false,
      failed: [{ type: 'edit', code: 'target_deleted' }],
    })
    expect(shown[1]).toMatchObject({ waiting: ['react'], reactions: [{ emoji: '👍', count: 1, mine: true }] })
  })

  it('once the message is handed to the network, an edit or deletion of it is an operation by targetClientId', async () => {
    const h = await harness()
    const queued = await enqueue(h.db, ROOM_A, 'on its way')
    await h.flusher.pump()
    expect(await queueEdit(h.db, ROOM_A, { clientId: queued.clientId }, 'changed')).toMatchObject({ done: 'queued' })
    expect(await queueDelete(h.db, ROOM_A, { clientId: queued.clientId })).toMatchObject({ done: 'queued' })
    await h.flusher.pump()
    expect(h.sent.slice(1)).toMatchObject([
      { type: 'edit', targetClientId: queued.clientId, afterClientId: queued.clientId, body: 'changed' },
      { type: 'delete', targetClientId: queued.clientId },
    ])
    expect(h.sent[1]).not.toHaveProperty('targetSeq')
  })

  it('deleting a message still queued discards it with what was queued against it; a reply keeps its text', async () => {
    const db = await freshDb()
    const target = await enqueue(db, ROOM_A, 'never mind')
    await queueReaction(db, ROOM_A, { clientId: target.clientId }, '👍', 'add')
    await enqueue(db, ROOM_A, 'replying', undefined, replyFields({ clientId: target.clientId }))
    const other = await enqueue(db, ROOM_A, 'unrelated')
    expect(await queueDelete(db, ROOM_A, { clientId: target.clientId })).toEqual({ done: 'changed_queued' })
    const left = await listOutbox(db)
    expect(left.map((i) => i.body)).toEqual(['replying', 'unrelated'])
    expect(left[0]).not.toHaveProperty('replyToClientId')
    expect(left[1]!.clientId).toBe(other.clientId)
  })

  it('waiting operations survive a reload and still show, marked waiting', async () => {
    const name = `ferry-ops-reload-${Math.random()}`
    const before = await openFerryDb({}, name)
    await roomWithMessages(before)
    await queueEdit(before, ROOM_A, { seq: 5 }, 'offline edit')
    await queueDelete(before, ROOM_A, { seq: 4 })
    await queueReaction(before, ROOM_A, { seq: 3 }, '❤️', 'add')
    await enqueue(before, ROOM_A, 'offline reply', undefined, replyFields({ seq: 2 }))
    before.close()
    const after = await openFerryDb({}, name)
    const items = await listOutbox(after)
    const shown = foldTimeline(await newestEntries(after, ROOM_A, 20), ALICE, items) as ShownMessage[]
    expect(shown.map((m) => [m.seq, m.body, m.deleted, m.waiting ?? []])).toEqual([
      [1, 'message 1', false, []],
      [2, 'message 2', false, []],
      [3, 'message 3', false, ['react']],
      [4, '', true, ['delete']],
      [5, 'offline edit', false, ['edit']],
    ])
    expect(shown[2]!.reactions).toEqual([{ emoji: '❤️', count: 1, mine: true, waiting: true }])
    expect(items.at(-1)).toMatchObject({ body: 'offline reply', replyTo: 2 })
    after.close()
  })

  it('items written before issue 9 (no type) are sends', async () => {
    const db = await freshDb()
    const item = await enqueue(db, ROOM_A, 'old style')
    const claimed = await claimForSending(db, (queue) => queue.map((i) => ({ item: i })), 1)
    expect(claimed[0]!.item).not.toHaveProperty('type')
    const h = await harness(db)
    await h.flusher.pump()
    expect(h.sent).toEqual([{ type: 'send', roomId: ROOM_A, clientId: item.clientId, body: 'old style' }])
  })
})

describe('operations over HTTP (Background Sync)', () => {
  it('posts operations to …/operations and replies to …/messages, in order, and settles each', async () => {
    const db = await freshDb()
    await roomWithMessages(db)
    await queueReaction(db, ROOM_A, { seq: 1 }, '👍', 'add')
    await enqueue(db, ROOM_A, 'reply', undefined, replyFields({ seq: 1 }))
    await queueDelete(db, ROOM_A, { seq: 5 })
    const calls: Array<{ url: string; body: Record<string, unknown> }> = []
    let seq = 5
    const fakeFetch = (async (url: string, init: RequestInit) => {
      const body = JSON.parse(String(init.body))
      calls.push({ url, body })
      seq += 1
      const frame = { ...body, roomId: ROOM_A, type: body.type ?? 'send' } as OutgoingFrame
      const answer =
        frame.type === 'send'
          ? { message: message(ROOM_A, seq, frame.clientId, frame.body, BOB) }
          : { event: entryFor(frame, seq) }
      return new Response(JSON.stringify(answer), { status: 201, headers: { 'content-type': 'application/json' } })
    }) as typeof fetch
    expect(await flushOutboxOverHttp(db, fakeFetch, () => 5)).toBe(3)
    expect(calls.map((c) => c.url)).toEqual([
      `/api/rooms/${ROOM_A}/operations`,
      `/api/rooms/${ROOM_A}/messages`,
      `/api/rooms/${ROOM_A}/operations`,
    ])
    expect(calls[0]!.body).toEqual({
      type: 'react',
      clientId: calls[0]!.body.clientId,
      targetSeq: 1,
      emoji: '👍',
      action: 'add',
    })
    // One at a time: each earlier one is stored before the next goes, so none names a predecessor.
    expect(calls[1]!.body).toEqual({ clientId: calls[1]!.body.clientId, body: 'reply', replyTo: 1 })
    expect(calls[2]!.body).toEqual({ type: 'delete', clientId: calls[2]!.body.clientId, targetSeq: 5 })
    expect(await listOutbox(db)).toHaveLength(0)
    expect((await newestEntries(db, ROOM_A, 20)).map((e) => e.kind).slice(5)).toEqual([
      'reaction.added',
      'message.created',
      'message.deleted',
    ])
  })

  it('a refused operation is marked failed with its reason and the next one is still posted', async () => {
    const db = await freshDb()
    const gone = await queueEdit(db, ROOM_A, { seq: 9 }, 'nope')
    await queueReaction(db, ROOM_A, { seq: 1 }, '👍', 'add')
    const types: string[] = []
    const fakeFetch = (async (_url: string, init: RequestInit) => {
      const body = JSON.parse(String(init.body))
      types.push(body.type)
      if (body.type === 'edit') {
        return new Response(JSON.stringify({ error: { code: 'target_not_found', message: 'No such message' } }), {
          status: 404,
        })
      }
      const frame = { ...body, roomId: ROOM_A } as OutgoingFrame
      return new Response(JSON.stringify({ event: entryFor(frame, 7) }), { status: 201 })
    }) as typeof fetch
    await flushOutboxOverHttp(db, fakeFetch, () => 5)
    expect(types).toEqual(['edit', 'react'])
    const items = await listOutbox(db)
    expect(items).toHaveLength(1)
    expect(items[0]).toMatchObject({
      clientId: gone.done === 'queued' ? gone.item.clientId : '',
      state: 'failed',
      error: { code: 'target_not_found', message: 'No such message' },
    })
  })
})
