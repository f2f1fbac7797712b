import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  applyInOrder,
  emptyFold,
  foldEvent,
  foldEvents,
  foldSnapshot,
  type MessageState,
  messageFromCreated,
} from '../../shared/conversation/fold.ts'
import type { RoomEvent } from '../../shared/schemas.ts'
import { ANA, BEN, CAI, created, deleted, edited, OTHER_ROOM, ROOM, reacted } from '../support/conversation-events.ts'

/**
 * Issue 9: folding a message's entries in any arrival order, with duplicates,
 * must give what folding them in seq order gives. Random logs come from a
 * fixed seed (no flakes, the same cases every run); the expected state comes
 * from `oracle`, the rules written a second, plainer way, so a wrong rule in
 * the fold cannot agree with itself.
 */
const RUNS = { seed: 20261207, numRuns: 400 }
const USERS = [ANA, BEN, CAI]
const EMOJI = ['👍', '🎉', '❤️']

type Step = { gap: number; kind: string; user: string; emoji: string; text: string }
const step: fc.Arbitrary<Step> = fc.record({
  gap: fc.integer({ min: 1, max: 3 }),
  // Deletions rarer than the rest so most logs get far enough to say something.
  kind: fc.constantFrom('edit', 'edit', 'delete', 'add', 'add', 'add', 'remove', 'remove', 'elsewhere'),
  user: fc.constantFrom(...USERS),
  emoji: fc.constantFrom(...EMOJI),
  text: fc.constantFrom('a', 'b', 'c'),
})

/** A message at seq `at`, then amendments at increasing seqs (with holes: other messages' entries). */
function logOf(at: number, steps: readonly Step[]): RoomEvent[] {
  const log = [created(at, 'first', { mentions: [BEN] })]
  let seq = at
  for (const s of steps) {
    seq += s.gap
    if (s.kind === 'edit') log.push(edited(seq, at, s.text, { authorId: ANA, mentions: s.text === 'a' ? [CAI] : [] }))
    else if (s.kind === 'delete') log.push(deleted(seq, at, s.user))
    else if (s.kind === 'add' || s.kind === 'remove') log.push(reacted(seq, at, s.emoji, s.user, s.kind === 'add'))
    else log.push(s.user === ANA ? { ...edited(seq, at, 'x'), roomId: OTHER_ROOM } : reacted(seq, at + 1, '👍', s.user))
  }
  return log
}

const scenario = fc
  .record({ at: fc.integer({ min: 1, max: 4 }), steps: fc.array(step, { maxLength: 30 }) })
  .map(({ at, steps }) => ({ at, log: logOf(at, steps) }))
  .chain(({ at, log }) =>
    fc.record({
      at: fc.constant(at),
      log: fc.constant(log),
      shuffled: fc.shuffledSubarray(log, { minLength: log.length, maxLength: log.length }),
      copies: fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 8 }),
      batch: fc.integer({ min: 1, max: 6 }),
      snapshotAt: fc.nat(),
    }),
  )
  .map((s) => {
    // Duplicates at random places: a replay, a resend, the same page read twice.
    const arrival = s.shuffled.slice()
    for (const [which, where] of s.copies) arrival.splice(where % (arrival.length + 1), 0, s.log[which % s.log.length]!)
    return { ...s, arrival }
  })

function oracle(log: readonly RoomEvent[], at: number): MessageState {
  const mine = log
    .filter((e) => e.roomId === ROOM && (e.seq === at || (e.kind !== 'message.created' && e.targetSeq === at)))
    .sort((a, b) => a.seq - b.seq)
  const first = mine[0]!
  let body: string | null = first.body
  let mentions = first.mentions ?? []
  let editedMark: MessageState['edited'] = null
  let deletedMark: MessageState['deleted'] = null
  // emoji → person → seq of the add that made them a holder
  const reactions = new Map<string, Map<string, number>>()
  for (const e of mine.slice(1)) {
    if (deletedMark) continue
    if (e.kind === 'message.deleted') {
      deletedMark = { seq: e.seq, at: e.createdAt, by: e.authorId }
      body = null
      mentions = []
      editedMark = null
      reactions.clear()
    } else if (e.kind === 'message.edited') {
      body = e.body
      mentions = e.mentions ?? []
      editedMark = { seq: e.seq, at: e.createdAt }
    } else {
      const holders = reactions.get(e.reaction!) ?? new Map<string, number>()
      if (e.kind === 'reaction.added' && !holders.has(e.authorId!)) holders.set(e.authorId!, e.seq)
      if (e.kind === 'reaction.removed') holders.delete(e.authorId!)
      if (holders.size === 0) reactions.delete(e.reaction!)
      else reactions.set(e.reaction!, holders)
    }
  }
  return {
    roomId: ROOM,
    seq: at,
    clientId: first.clientId,
    authorId: first.authorId,
    authorName: first.authorName,
    createdAt: first.createdAt,
    body,
    replyTo: null,
    mentions,
    edited: editedMark,
    deleted: deletedMark,
    // What a server reads from a holders table: holders by seq, emoji by their oldest holder.
    reactions: [...reactions]
      .map(([emoji, holders]) => ({
        emoji,
        holders: [...holders].map(([userId, seq]) => ({ userId, seq })).sort((a, b) => a.seq - b.seq),
      }))
      .sort((a, b) => a.holders[0]!.seq - b.holders[0]!.seq),
    through: mine[mine.length - 1]!.seq,
  }
}

describe('the message fold, on random logs (seeded)', () => {
  it('gives the in-order state for any arrival order with duplicates', () => {
    fc.assert(
      fc.property(scenario, ({ at, log, arrival }) => {
        const expected = oracle(log, at)
        const inOrder = log.filter((e) => e.seq > at).reduce(applyInOrder, messageFromCreated(log[0]!)!)
        expect(inOrder).toEqual(expected)
        expect(arrival.reduce(foldEvent, emptyFold(ROOM, at)).state).toEqual(expected)
      }),
      RUNS,
    )
  })

  it('gives the same state folded in batches of a room (foldEvents) as one entry at a time', () => {
    fc.assert(
      fc.property(scenario, ({ at, log, arrival, batch }) => {
        let folds = foldEvents(new Map(), ROOM, [])
        for (let i = 0; i < arrival.length; i += batch) folds = foldEvents(folds, ROOM, arrival.slice(i, i + batch))
        expect(folds.get(at)?.state).toEqual(oracle(log, at))
      }),
      RUNS,
    )
  })

  it('changes nothing when every entry arrives again', () => {
    fc.assert(
      fc.property(scenario, ({ at, arrival }) => {
        const fold = arrival.reduce(foldEvent, emptyFold(ROOM, at))
        for (const e of arrival) expect(foldEvent(fold, e)).toBe(fold)
      }),
      RUNS,
    )
  })

  it('agrees when it starts from a server snapshot taken at any seq, arriving at any point', () => {
    fc.assert(
      fc.property(scenario, ({ at, log, arrival, snapshotAt }) => {
        const last = log[log.length - 1]!.seq
        const through = at + (snapshotAt % (last - at + 1))
        const snapshot = {
          ...oracle(
            log.filter((e) => e.seq <= through),
            at,
          ),
          through,
        }
        const where = snapshotAt % (arrival.length + 1)
        let fold = emptyFold(ROOM, at)
        arrival.forEach((e, i) => {
          if (i === where) fold = foldSnapshot(fold, snapshot)
          fold = foldEvent(fold, e)
        })
        if (where === arrival.length) fold = foldSnapshot(fold, snapshot)
        const expected = oracle(log, at)
        expect(fold.state).toEqual({ ...expected, through: Math.max(expected.through, through) })
      }),
      RUNS,
    )
  })
})
