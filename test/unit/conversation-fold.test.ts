import { describe, expect, it } from 'vitest'
import {
  applyInOrder,
  emptyFold,
  foldEvent,
  foldEvents,
  foldSnapshot,
  type MessageFold,
  type MessageState,
  messageFromCreated,
} from '../../shared/conversation/fold.ts'
import type { RoomEvent } from '../../shared/schemas.ts'
import {
  ANA,
  BEN,
  CAI,
  created,
  deleted,
  edited,
  joined,
  OTHER_ROOM,
  ROOM,
  reacted,
  timeOfSeq,
} from '../support/conversation-events.ts'

const foldAll = (events: readonly RoomEvent[], seq = 1): MessageFold => events.reduce(foldEvent, emptyFold(ROOM, seq))
const stateOf = (events: readonly RoomEvent[], seq = 1): MessageState | null => foldAll(events, seq).state
/** Reactions as the screen lists them: emoji and who, in order. */
const who = (events: readonly RoomEvent[]) =>
  stateOf(events)?.reactions.map((r) => ({ emoji: r.emoji, userIds: r.holders.map((h) => h.userId) }))

describe('the message fold', () => {
  it('starts from the message as written, with its reply target and mentions', () => {
    const state = stateOf([created(1, 'hi @ben', { replyTo: 0, mentions: [BEN] })])
    expect(state).toMatchObject({ seq: 1, body: 'hi @ben', replyTo: 0, mentions: [BEN], edited: null, deleted: null })
    expect(state?.reactions).toEqual([])
  })

  it('takes the latest edit by seq, whatever order edits arrive in', () => {
    const log = [created(1), edited(3, 1, 'second'), edited(2, 1, 'first')]
    expect(stateOf(log)).toMatchObject({ body: 'second', edited: { seq: 3, at: timeOfSeq(3) } })
  })

  it('replaces mentions with the edit’s own', () => {
    const log = [created(1, '@ben', { mentions: [BEN] }), edited(2, 1, '@cai', { mentions: [CAI] })]
    expect(stateOf(log)?.mentions).toEqual([CAI])
  })

  it('lets a deletion win over edits and reactions before and after it, arriving in any order', () => {
    const log = [created(1), edited(2, 1, 'new'), reacted(3, 1, '👍', BEN), deleted(4, 1, BEN), edited(5, 1, 'late')]
    for (const order of [log, [...log].reverse(), [log[4]!, log[3]!, log[0]!, log[2]!, log[1]!]]) {
      expect(stateOf(order)).toMatchObject({
        body: null,
        mentions: [],
        edited: null,
        reactions: [],
        deleted: { seq: 4, at: timeOfSeq(4), by: BEN },
      })
    }
  })

  it('keeps the first deletion', () => {
    expect(stateOf([created(1), deleted(5, 1, BEN), deleted(3, 1, ANA)])?.deleted?.seq).toBe(3)
  })

  it('treats a scrubbed copy (body removed by the server) as deleted, and fills in the deletion when it comes', () => {
    expect(stateOf([created(1, null)])?.deleted).toEqual({ seq: null, at: null, by: null })
    expect(stateOf([created(1, null), deleted(4, 1)])?.deleted?.seq).toBe(4)
    expect(stateOf([created(1), edited(2, 1, null)])).toMatchObject({ body: null, deleted: { seq: null } })
  })

  it('prefers the scrubbed copy of an entry held twice, whichever came first', () => {
    const plain = created(1, 'secret')
    const scrubbed = created(1, null)
    expect(stateOf([plain, scrubbed])?.body).toBeNull()
    expect(stateOf([scrubbed, plain])?.body).toBeNull()
    const edit = edited(2, 1, 'secret too')
    const scrubbedEdit = edited(2, 1, null)
    expect(stateOf([plain, edit, scrubbedEdit])?.body).toBeNull()
    expect(stateOf([plain, scrubbedEdit, edit])?.body).toBeNull()
  })

  it('holds reactions as a set per emoji, people in the order they added them', () => {
    const log = [
      created(1),
      reacted(2, 1, '👍', BEN),
      reacted(3, 1, '🎉', ANA),
      reacted(4, 1, '👍', CAI),
      reacted(5, 1, '👍', BEN), // added twice: no-op, BEN stays first
      reacted(6, 1, '🎉', CAI, false), // removing what CAI does not hold: no-op
    ]
    expect(who(log)).toEqual([
      { emoji: '👍', userIds: [BEN, CAI] },
      { emoji: '🎉', userIds: [ANA] },
    ])
    expect(stateOf(log)?.reactions[0]?.holders).toEqual([
      { userId: BEN, seq: 2 },
      { userId: CAI, seq: 4 },
    ])
  })

  it('orders emoji by their oldest current holder, as a server reading a holders table does', () => {
    const log = [created(1), reacted(2, 1, '👍', BEN), reacted(3, 1, '🎉', ANA), reacted(4, 1, '👍', CAI)]
    expect(who(log)?.map((r) => r.emoji)).toEqual(['👍', '🎉'])
    // BEN lets go: 👍's oldest holder is now CAI (seq 4), after ANA's 🎉 (seq 3).
    expect(who([...log, reacted(5, 1, '👍', BEN, false)])).toEqual([
      { emoji: '🎉', userIds: [ANA] },
      { emoji: '👍', userIds: [CAI] },
    ])
  })

  it('drops an emoji nobody holds any more, and puts it last when it comes back', () => {
    const log = [
      created(1),
      reacted(2, 1, '👍', BEN),
      reacted(3, 1, '🎉', ANA),
      reacted(4, 1, '👍', BEN, false),
      reacted(5, 1, '👍', CAI),
    ]
    expect(who(log)).toEqual([
      { emoji: '🎉', userIds: [ANA] },
      { emoji: '👍', userIds: [CAI] },
    ])
  })

  it('decides add/remove of one person’s emoji by seq, not by arrival', () => {
    const add = reacted(2, 1, '👍', BEN)
    const remove = reacted(3, 1, '👍', BEN, false)
    expect(stateOf([created(1), remove, add])?.reactions).toEqual([])
    expect(who([created(1), reacted(3, 1, '👍', BEN), reacted(2, 1, '👍', BEN, false)])).toEqual([
      { emoji: '👍', userIds: [BEN] },
    ])
  })

  it('ignores a reaction whose person is gone (author set null)', () => {
    expect(stateOf([created(1), reacted(2, 1, '👍', null)])?.reactions).toEqual([])
  })

  it('holds amendments that arrive before their message (a gap) and applies them once it comes', () => {
    const early = foldAll([edited(3, 1, 'edited'), reacted(4, 1, '👍', BEN)])
    expect(early.state).toBeNull()
    expect(early.amendments.map((e) => e.seq)).toEqual([3, 4])
    expect(foldEvent(early, created(1))?.state).toMatchObject({ body: 'edited', reactions: [{ emoji: '👍' }] })
  })

  it('ignores entries about other messages, other rooms and other kinds', () => {
    const fold = foldAll([created(1)])
    for (const e of [edited(2, 7, 'x'), { ...edited(2, 1, 'x'), roomId: OTHER_ROOM }, joined(3, BEN), created(4)]) {
      expect(foldEvent(fold, e)).toBe(fold)
    }
  })

  it('is idempotent: an entry already folded in returns the same fold', () => {
    const log = [created(1), edited(2, 1, 'x'), reacted(3, 1, '👍', BEN), deleted(4, 1)]
    const fold = foldAll(log)
    for (const e of log) expect(foldEvent(fold, e)).toBe(fold)
  })

  it('starts from a server snapshot and applies only what is newer than it', () => {
    const log = [created(1), edited(2, 1, 'snap'), reacted(3, 1, '👍', BEN), edited(6, 1, 'after')]
    const snapshot = { ...log.slice(0, 3).reduce(applyInOrder, messageFromCreated(log[0]!)!), through: 5 }
    const fold = foldSnapshot(foldAll([log[2]!, log[3]!]), snapshot)
    expect(fold.state).toMatchObject({
      body: 'after',
      reactions: [{ emoji: '👍', holders: [{ userId: BEN }] }],
      through: 6,
    })
    expect(fold.amendments.map((e) => e.seq)).toEqual([6])
    // The message as written folds in less than the snapshot: it does not replace it.
    expect(foldEvent(fold, log[0]!)).toBe(fold)
  })
})

describe('applyInOrder', () => {
  it('ignores a replay at or below what it folded in', () => {
    const state = [edited(2, 1, 'x'), edited(3, 1, 'y')].reduce(applyInOrder, messageFromCreated(created(1))!)
    expect(applyInOrder(state, edited(2, 1, 'x'))).toBe(state)
    expect(state.body).toBe('y')
  })
})

describe('foldEvents', () => {
  it('folds a room batch into one fold per message and returns the same map when nothing is new', () => {
    const batch = [created(1), created(2), edited(3, 1, 'one'), reacted(4, 2, '👍', BEN), joined(5, BEN)]
    const folds = foldEvents(new Map(), ROOM, batch)
    expect([...folds.keys()]).toEqual([1, 2])
    expect(folds.get(1)?.state?.body).toBe('one')
    expect(folds.get(2)?.state?.reactions).toEqual([{ emoji: '👍', holders: [{ userId: BEN, seq: 4 }] }])
    expect(foldEvents(folds, ROOM, batch)).toBe(folds)
    expect(foldEvents(folds, ROOM, [{ ...created(9), roomId: OTHER_ROOM }])).toBe(folds)
  })
})
