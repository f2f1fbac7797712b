import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { getCursor, isStale, newestEntries, resetCursor, storeEvents } from '../../client/db/messages.ts'
import { amendmentsOf, entryFromMessage, snapshotOf } from '../../client/log/entry.ts'
import { foldTimeline, type ShownMessage, shownMessage } from '../../client/log/timeline.ts'
import { boundWindow, mergeEntries, type TimelineWindow, withEvents } from '../../client/state/reducers.ts'
import { applyInOrder, type MessageState, messageFromCreated } from '../../shared/conversation/fold.ts'
import type { Message, RoomEvent } from '../../shared/schemas.ts'
import { ANA, BEN, CAI, created, deleted, edited, ROOM, reacted } from '../support/conversation-events.ts'
import { freshDb } from './support.ts'

/**
 * Issue 9, "a client that was away past the reset bound still ends with
 * correct current state for the messages it shows", and changes to messages
 * outside the loaded window: the messages read back from IndexedDB, or paged
 * from the server after a reset, show the state the whole log gives.
 */
const RUNS = { seed: 20261207, numRuns: 40 }
const USERS = [ANA, BEN, CAI]

type Step = { kind: 'message' | 'edit' | 'delete' | 'add' | 'remove'; pick: number; user: number; emoji: number }
const step = fc.record({
  kind: fc.constantFrom<Step['kind']>('message', 'message', 'edit', 'delete', 'add', 'add', 'remove'),
  pick: fc.nat(),
  user: fc.nat({ max: 2 }),
  emoji: fc.nat({ max: 2 }),
})

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

/** Each message of `log` folded in seq order up to `through` (the server's state at that point). */
function statesAt(log: readonly RoomEvent[], through: number): Map<number, MessageState> {
  const upTo = log.filter((e) => e.seq <= through)
  const out = new Map<number, MessageState>()
  for (const e of upTo) {
    if (e.kind !== 'message.created') continue
    out.set(e.seq, { ...upTo.reduce(applyInOrder, messageFromCreated(e)!), through })
  }
  return out
}

/** A history page's message, as server/messages/history.ts writes it. */
function pageMessage(state: MessageState, original: RoomEvent): Message {
  return {
    roomId: state.roomId,
    seq: state.seq,
    clientId: state.clientId!,
    authorId: state.authorId!,
    authorName: state.authorName!,
    body: state.body ?? '',
    createdAt: original.createdAt,
    state: state as Message['state'],
  }
}

const shownOf = (log: readonly RoomEvent[], meId: string): ShownMessage[] =>
  [...statesAt(log, log.length).values()].map((s) => shownMessage(s, meId))

const messagesOf = (entries: readonly RoomEvent[], meId: string) =>
  foldTimeline(entries, meId).filter((s): s is ShownMessage => s.kind === 'message')

const logs = fc.array(step, { minLength: 1, maxLength: 50 }).map(logOf)

describe('messages read back show every change the device holds (issue 9, changes outside the window)', () => {
  it('any page of the stored log shows its messages in their current state', async () => {
    await fc.assert(
      fc.asyncProperty(logs, fc.nat(), fc.integer({ min: 1, max: 12 }), async (log, cut, limit) => {
        const db = await freshDb()
        await storeEvents(db, ROOM, log)
        const before = 2 + (cut % log.length)
        const page = await newestEntries(db, ROOM, limit, before)
        db.close()
        const shown = messagesOf(page, BEN)
        const all = new Map(shownOf(log, BEN).map((m) => [m.seq, m]))
        expect(shown).toEqual(shown.map((m) => all.get(m.seq)))
      }),
      RUNS,
    )
    // IndexedDB (fake) work per run: a hang guard for a loaded machine, not a speed limit.
  }, 120_000)

  it('a change heard while the window stops short of the live end still applies to the message shown', () => {
    const window: TimelineWindow = {
      entries: [created(1, 'hello'), created(2, 'second')],
      hasOlder: false,
      hasNewer: true,
      following: false,
    }
    const next = withEvents(window, [created(3, 'newer'), edited(4, 1, 'hello, edited'), reacted(5, 2, '🎉', BEN)])
    expect(next.entries.map((e) => e.seq)).toEqual([1, 2])
    expect(messagesOf(next.entries, BEN).map((m) => [m.body, m.edited, m.reactions.length])).toEqual([
      ['hello, edited', true, 0],
      ['second', false, 1],
    ])
  })

  it('trimming the newest end of a window keeps its changes to the messages kept', () => {
    const entries = [created(1, 'a'), created(2, 'b'), edited(3, 1, 'a, edited'), deleted(4, 2)]
    const trimmed = boundWindow({ entries, hasOlder: false, hasNewer: false, following: false }, 'oldest', 2)
    expect(trimmed.entries.map((e) => e.seq)).toEqual([1, 2])
    expect(messagesOf(trimmed.entries, ANA).map((m) => [m.body, m.deleted])).toEqual([
      ['a, edited', false],
      ['', true],
    ])
  })
})

describe('after a reset the history pages’ folded state is shown (issue 9, away past the reset bound)', () => {
  it('pages after a reset plus the live entries give the state of the whole log, whatever was held before', async () => {
    await fc.assert(
      fc.asyncProperty(logs, fc.nat(), fc.nat(), async (log, heldCut, resetCut) => {
        const db = await freshDb()
        // What the device held before it went away (maybe nothing), then the reset at `reset`.
        const heldUpTo = heldCut % (log.length + 1)
        const reset = Math.max(heldUpTo, 1 + (resetCut % log.length))
        await storeEvents(db, ROOM, log.slice(0, heldUpTo))
        await resetCursor(db, ROOM, reset)
        // Live entries after the reset point arrive first; the history page is read at `reset`.
        await storeEvents(db, ROOM, log.slice(reset))
        const page = [...statesAt(log, reset).values()].map((s) => pageMessage(s, log[s.seq - 1]!))
        await storeEvents(db, ROOM, page.map(entryFromMessage))
        const read = await newestEntries(db, ROOM, 1000)
        const cursor = await getCursor(db, ROOM)
        db.close()
        expect(messagesOf(read, CAI)).toEqual(shownOf(log, CAI))
        expect(read.filter((e) => isStale(e, cursor))).toEqual([])
      }),
      RUNS,
    )
  }, 120_000)

  it('a message held from before a reset takes the page’s state, and a deletion scrubs its text on the device', async () => {
    const db = await freshDb()
    const log = [created(1, 'secret'), edited(2, 1, 'secret, edited'), created(3, 'kept'), deleted(4, 1)]
    await storeEvents(db, ROOM, log.slice(0, 3))
    await resetCursor(db, ROOM, 500)
    const held = await newestEntries(db, ROOM, 10)
    const afterReset = await getCursor(db, ROOM)
    expect(held.filter((e) => isStale(e, afterReset)).map((e) => e.seq)).toEqual([1, 3])
    const states = [...statesAt(log, 500).values()]
    const stored = await storeEvents(
      db,
      ROOM,
      states.map((s) => entryFromMessage(pageMessage(s, log[s.seq - 1]!))),
    )
    expect(stored.fresh).toEqual([])
    expect(stored.refreshed.map((e) => e.seq)).toEqual([1, 3])
    const read = await newestEntries(db, ROOM, 10)
    expect(messagesOf(read, ANA).map((m) => [m.seq, m.body, m.deleted])).toEqual([
      [1, '', true],
      [3, 'kept', false],
    ])
    // The text leaves IndexedDB: the message, its snapshot and its edit.
    expect(JSON.stringify(read)).not.toContain('secret')
    const afterPage = await getCursor(db, ROOM)
    expect(read.filter((e) => isStale(e, afterPage))).toEqual([])
    db.close()
  })

  it('the window takes a message back with a newer snapshot, and keeps the same array for an older one', () => {
    const log = [created(1, 'hi'), reacted(2, 1, '👍', BEN), edited(3, 1, 'hi!')]
    const old = entryFromMessage(pageMessage(statesAt(log, 2).get(1)!, log[0]!))
    const newer = entryFromMessage(pageMessage(statesAt(log, 3).get(1)!, log[0]!))
    const window = mergeEntries([], [old])
    const updated = mergeEntries(window, [newer])
    expect(snapshotOf(updated[0]!)?.through).toBe(3)
    expect(messagesOf(updated, BEN)[0]).toMatchObject({ body: 'hi!', edited: true, reactions: [{ count: 1 }] })
    expect(mergeEntries(updated, [old])).toBe(updated)
    expect(amendmentsOf(updated[0]!)).toEqual([])
  })
})
