import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { newestEntries, storeEvents } from '../../client/db/messages.ts'
import { foldTimeline, type ShownMessage, shownMessage } from '../../client/log/timeline.ts'
import { mergeEntries } from '../../client/state/reducers.ts'
import { applyInOrder, messageFromCreated } from '../../shared/conversation/fold.ts'
import type { RoomEvent } from '../../shared/schemas.ts'
import { ANA, BEN, CAI, created, deleted, edited, joined, ROOM, reacted } from '../support/conversation-events.ts'
import { freshDb } from './support.ts'

/**
 * Issue 9 item 8: the client shows a message exactly as the shared fold (the
 * server's view) says it is, whether its entries came live, in any order, with
 * duplicates and holes, or were read back from IndexedDB (where a deletion
 * also scrubs the stored text).
 */
const RUNS = { seed: 20261207, numRuns: 120 }
const USERS = [ANA, BEN, CAI]

type Step = { kind: 'message' | 'edit' | 'delete' | 'add' | 'remove'; pick: number; user: number; emoji: number }
const step = fc.record({
  kind: fc.constantFrom<Step['kind']>('message', 'message', 'edit', 'delete', 'add', 'add', 'remove'),
  pick: fc.nat(),
  user: fc.nat({ max: 2 }),
  emoji: fc.nat({ max: 2 }),
})

/** A room log from seq 1: messages, and amendments of earlier messages. */
function logOf(steps: readonly Step[]): RoomEvent[] {
  const log: RoomEvent[] = [created(1, 'first')]
  const messages = [1]
  for (const s of steps) {
    const seq = log.length + 1
    const target = messages[s.pick % messages.length]!
    const user = USERS[s.user]!
    const emoji = ['👍', '🎉', '❤️'][s.emoji]!
    if (s.kind === 'message') {
      log.push(created(seq, `text ${seq}`, { authorId: user }))
      messages.push(seq)
    } else if (s.kind === 'edit') log.push(edited(seq, target, `edit ${seq}`))
    else if (s.kind === 'delete') log.push(deleted(seq, target, user))
    else log.push(reacted(seq, target, emoji, user, s.kind === 'add'))
  }
  return log
}

/** The server's view of the entries held: each message folded in seq order by the shared rules. */
function expected(held: readonly RoomEvent[], meId: string): ShownMessage[] {
  const inOrder = [...new Map(held.map((e) => [e.seq, e])).values()].sort((a, b) => a.seq - b.seq)
  return inOrder
    .filter((e) => e.kind === 'message.created')
    .map((e) => shownMessage(inOrder.reduce(applyInOrder, messageFromCreated(e)!), meId))
}

const messagesOf = (shown: ReturnType<typeof foldTimeline>) => shown.filter((s) => s.kind === 'message')

const scenario = fc
  .array(step, { maxLength: 40 })
  .map(logOf)
  .chain((log) =>
    fc.record({
      log: fc.constant(log),
      // Holes: some entries never arrive.
      held: fc.subarray(log, { minLength: 1 }),
      copies: fc.array(fc.nat(), { maxLength: 6 }),
      batch: fc.integer({ min: 1, max: 7 }),
      seed: fc.nat(),
    }),
  )
  .chain(({ held, copies, batch }) => {
    const withCopies = [...held, ...copies.map((i) => held[i % held.length]!)]
    return fc.record({
      held: fc.constant(held),
      arrival: fc.shuffledSubarray(withCopies, { minLength: withCopies.length, maxLength: withCopies.length }),
      batch: fc.constant(batch),
    })
  })

function batches<T>(list: readonly T[], size: number): T[][] {
  const out: T[][] = []
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size))
  return out
}

describe('the timeline fold is the shared fold (issue 9)', () => {
  it('live path: any arrival order, duplicates and holes give the in-order state', () => {
    fc.assert(
      fc.property(scenario, ({ held, arrival, batch }) => {
        let entries: RoomEvent[] = []
        for (const part of batches(arrival, batch)) entries = mergeEntries(entries, part)
        expect(messagesOf(foldTimeline(entries, BEN))).toEqual(expected(held, BEN))
      }),
      RUNS,
    )
  })

  it('IndexedDB path: entries stored in any order and read back give the same state', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ held, arrival, batch }) => {
        const db = await freshDb()
        for (const part of batches(arrival, batch)) await storeEvents(db, ROOM, part)
        const read = await newestEntries(db, ROOM, 600)
        db.close()
        expect(messagesOf(foldTimeline(read, CAI))).toEqual(expected(held, CAI))
      }),
      { ...RUNS, numRuns: 40 },
    )
  })

  it('shows edits, a tombstone, reaction counts with the person’s own, replies and notices', () => {
    const shown = foldTimeline(
      [
        created(1, 'helo\nsecond line'),
        created(2, 'to be removed'),
        created(3, 'agreed', { authorId: BEN, authorName: 'ben', replyTo: 1 }),
        edited(4, 1, 'hello\nsecond line'),
        reacted(5, 1, '👍', BEN),
        reacted(6, 1, '👍', CAI),
        reacted(7, 1, '👍', BEN, false),
        reacted(8, 1, '🎉', BEN),
        deleted(9, 2),
        joined(10, BEN),
        edited(11, 99, 'target not held'),
      ],
      BEN,
    )
    expect(shown.map((s) => s.seq)).toEqual([1, 2, 3, 10])
    expect(shown[0]).toMatchObject({
      body: 'hello\nsecond line',
      edited: true,
      reactions: [
        { emoji: '👍', count: 1, mine: false },
        { emoji: '🎉', count: 1, mine: true },
      ],
    })
    expect(shown[1]).toMatchObject({ body: '', deleted: true, reactions: [] })
    expect(shown[2]).toMatchObject({ replyTo: { seq: 1, authorName: 'ana', firstLine: 'hello', deleted: false } })
    expect(shown[3]).toMatchObject({ kind: 'notice', text: 'ana added ben' })
  })

  it('a reply to a message not held quotes nothing yet, and one to a deleted message says so', () => {
    const shown = foldTimeline([
      created(5, 'gone'),
      deleted(6, 5),
      created(7, 're', { replyTo: 5 }),
      created(8, 'x', { replyTo: 2 }),
    ])
    expect(shown[1]).toMatchObject({ replyTo: { seq: 5, deleted: true, firstLine: null } })
    expect(shown[2]).toMatchObject({ replyTo: { seq: 2, authorName: null, firstLine: null } })
  })
})

describe('a deletion removes the text from IndexedDB too (issue 9)', () => {
  it('scrubs the stored message and its edits when the deletion arrives', async () => {
    const db = await freshDb()
    await storeEvents(db, ROOM, [created(1, 'secret'), edited(2, 1, 'secret too'), created(3, 'kept')])
    await storeEvents(db, ROOM, [deleted(4, 1)])
    const stored = await newestEntries(db, ROOM, 10)
    expect(stored.map((e) => e.body)).toEqual([null, null, 'kept', null])
    expect(messagesOf(foldTimeline(stored))[0]).toMatchObject({ deleted: true, body: '' })
  })

  it('stores a copy with text scrubbed when its deletion is already held (a stale page)', async () => {
    const db = await freshDb()
    await storeEvents(db, ROOM, [deleted(4, 1), created(3, 'kept')])
    const later = await storeEvents(db, ROOM, [created(1, 'secret'), edited(2, 1, 'secret too')])
    expect(later.fresh.map((e) => e.body)).toEqual([null, null])
    expect((await newestEntries(db, ROOM, 10)).map((e) => e.body)).toEqual([null, null, 'kept', null])
  })

  it('reads entries stored before issue 9 (no reply or mention fields) as they are', async () => {
    const db = await freshDb()
    const old = { ...created(1, 'from version 2') }
    delete old.replyTo
    delete old.mentions
    await db.put('messages', old)
    await db.put('messages', { roomId: ROOM, seq: 2, junk: true } as unknown as RoomEvent)
    const read = await newestEntries(db, ROOM, 10)
    expect(read).toHaveLength(1)
    expect(foldTimeline(read)[0]).toMatchObject({ body: 'from version 2', replyTo: null, mentions: [] })
  })
})
