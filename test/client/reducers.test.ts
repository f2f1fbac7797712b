import { describe, expect, it } from 'vitest'
import type { OutboxItem } from '../../client/db/schema.ts'
import {
  activeTypists,
  addTypist,
  applyEventsToRoom,
  boundWindow,
  discardQuestion,
  mergeEntries,
  pendingFor,
  statusLine,
  TIMELINE_MAX,
  type TimelineWindow,
  typingText,
  withEvents,
} from '../../client/state/reducers.ts'
import type { ConnStatus } from '../../client/tabs/messages.ts'
import type { Room } from '../../shared/schemas.ts'
import { ALICE, BOB, event, ROOM_A, ROOM_B } from './support.ts'

const status = (over: Partial<ConnStatus> = {}): ConnStatus => ({
  socket: 'open',
  retryAt: null,
  catchingUp: 0,
  offline: false,
  ...over,
})

const item = (over: Partial<OutboxItem>): OutboxItem => ({
  clientId: crypto.randomUUID(),
  roomId: ROOM_A,
  body: 'x',
  order: 1,
  createdAt: new Date().toISOString(),
  state: 'waiting',
  error: null,
  attempts: 0,
  ...over,
})

describe('timeline', () => {
  it('merges by seq, in order, without duplicates', () => {
    const merged = mergeEntries([event(ROOM_A, 1), event(ROOM_A, 3)], [event(ROOM_A, 2), event(ROOM_A, 3)])
    expect(merged.map((e) => e.seq)).toEqual([1, 2, 3])
  })

  it('ignores a seq it holds (same array back when nothing is new) and inserts a late one in place', () => {
    const held = [event(ROOM_A, 1), event(ROOM_A, 2), event(ROOM_A, 4)]
    expect(mergeEntries(held, [event(ROOM_A, 2, { body: 'replayed copy' })])).toBe(held)
    const late = mergeEntries(held, [event(ROOM_A, 3)])
    expect(late.map((e) => e.seq)).toEqual([1, 2, 3, 4])
    expect(held.map((e) => e.seq)).toEqual([1, 2, 4])
    expect(mergeEntries([], [event(ROOM_A, 9), event(ROOM_A, 7), event(ROOM_A, 8)]).map((e) => e.seq)).toEqual([
      7, 8, 9,
    ])
  })

  const open = (over: Partial<TimelineWindow> = {}): TimelineWindow => ({
    entries: [],
    hasOlder: false,
    hasNewer: false,
    following: true,
    ...over,
  })

  it('stays bounded while 10,000 events arrive one by one at the live end, newest kept, in order', () => {
    let t = open()
    let longest = 0
    for (let seq = 1; seq <= 10_000; seq += 1) {
      t = withEvents(t, [event(ROOM_A, seq)])
      longest = Math.max(longest, t.entries.length)
    }
    expect(longest).toBeLessThanOrEqual(TIMELINE_MAX)
    expect(t.entries).toHaveLength(TIMELINE_MAX)
    expect(t.entries.at(-1)?.seq).toBe(10_000)
    expect(t.entries.every((e, i) => i === 0 || e.seq === t.entries[i - 1]!.seq + 1)).toBe(true)
    // Older history is still there to page in.
    expect(t.hasOlder).toBe(true)
    expect(t.hasNewer).toBe(false)
    // A late arrival inside the window lands in place; a duplicate changes nothing.
    const withoutOne = { ...t, entries: t.entries.filter((e) => e.seq !== 9_990) }
    const filled = withEvents(withoutOne, [event(ROOM_A, 9_990)])
    expect(filled.entries.map((e) => e.seq)).toEqual(t.entries.map((e) => e.seq))
    expect(withEvents(filled, [event(ROOM_A, 9_995)])).toBe(filled)
  })

  it('while the person reads older history, trims the newest end instead and stops appending until they come back', () => {
    const reading = open({ entries: [event(ROOM_A, 1)], following: false })
    let t = reading
    for (let seq = 2; seq <= TIMELINE_MAX + 50; seq += 1) t = withEvents(t, [event(ROOM_A, seq)])
    expect(t.entries).toHaveLength(TIMELINE_MAX)
    // What the person is reading (the oldest end) is kept.
    expect(t.entries[0]?.seq).toBe(1)
    expect(t.entries.at(-1)?.seq).toBe(TIMELINE_MAX)
    expect(t.hasNewer).toBe(true)
    // Newer than the window: left in IndexedDB (loaded when scrolling down), not appended across the hole.
    expect(withEvents(t, [event(ROOM_A, TIMELINE_MAX + 60)])).toBe(t)
    // An amendment inside the window still applies.
    const edit = event(ROOM_A, 5, { body: 'kept in place' })
    expect(withEvents({ ...t, entries: t.entries.filter((e) => e.seq !== 5) }, [edit]).entries[4]).toBe(edit)
  })

  it('loading older at the top trims the far (newest) end; loading newer trims the top', () => {
    const full = open({
      entries: Array.from({ length: TIMELINE_MAX }, (_, i) => event(ROOM_A, 1_000 + i)),
      hasOlder: true,
      following: false,
    })
    const older = Array.from({ length: 50 }, (_, i) => event(ROOM_A, 950 + i))
    const up = boundWindow({ ...full, entries: mergeEntries(full.entries, older) }, 'oldest')
    expect(up.entries[0]?.seq).toBe(950)
    expect(up.entries).toHaveLength(TIMELINE_MAX)
    expect(up.hasNewer).toBe(true)
    const next = up.entries.at(-1)!.seq + 1
    const down = boundWindow({ ...up, entries: mergeEntries(up.entries, [event(ROOM_A, next)]) }, 'newest')
    expect(down.entries.at(-1)?.seq).toBe(next)
    expect(down.entries[0]?.seq).toBe(951)
    expect(down.entries).toHaveLength(TIMELINE_MAX)
    expect(down.hasOlder).toBe(true)
  })

  it('hides outbox items the log already holds (acked in another tab)', () => {
    const acked = item({ clientId: event(ROOM_A, 1).clientId! })
    const waiting = item({ order: 2 })
    const other = item({ roomId: ROOM_B, order: 3 })
    expect(pendingFor(ROOM_A, [acked, waiting, other], [event(ROOM_A, 1)])).toEqual([waiting])
  })
})

describe('room list', () => {
  const room: Room = {
    id: ROOM_A,
    name: 'general',
    visibility: 'public',
    ownerId: ALICE,
    createdAt: new Date(0).toISOString(),
    lastSeq: 2,
    role: 'member',
    memberCount: 2,
    lastMessage: null,
    unreadCount: 1,
    lastReadSeq: 1,
  }

  it('counts new messages by others as unread and updates the preview', () => {
    const next = applyEventsToRoom(
      room,
      [event(ROOM_A, 3, { authorId: BOB }), event(ROOM_A, 4, { authorId: ALICE })],
      ALICE,
      false,
    )
    expect(next.unreadCount).toBe(2)
    expect(next.lastSeq).toBe(4)
    expect(next.lastMessage?.seq).toBe(4)
  })

  it('ignores events the room row already reflects, and clears unread while viewing', () => {
    expect(applyEventsToRoom(room, [event(ROOM_A, 2)], ALICE, false)).toEqual(room)
    expect(applyEventsToRoom(room, [event(ROOM_A, 3)], ALICE, true).unreadCount).toBe(0)
  })
})

describe('status line', () => {
  it('tells the truth about the link and the queue', () => {
    expect(statusLine(status(), [])).toEqual({ text: 'Up to date', tone: 'ok' })
    expect(statusLine(status({ catchingUp: 2 }), []).text).toBe('Catching up…')
    expect(statusLine(status({ socket: 'waiting' }), []).text).toBe('Connecting…')
    expect(statusLine(status({ socket: 'waiting', offline: true }), [item({}), item({})]).text).toBe(
      'Offline · 2 waiting to send',
    )
    expect(statusLine(status(), [item({ state: 'failed' })])).toEqual({ text: 'Up to date · 1 failed', tone: 'error' })
  })
})

describe('logging out with messages in the outbox', () => {
  it('counts waiting and failed messages apart, with the same words as the status line', () => {
    const waiting = [item({}), item({ order: 2 })]
    const failed = [item({ order: 3, state: 'failed' })]
    expect(discardQuestion([...waiting, ...failed])).toBe(
      '2 messages waiting to send and 1 failed message will be discarded. Log out anyway?',
    )
    expect(discardQuestion(waiting.slice(0, 1))).toBe('1 message waiting to send will be discarded. Log out anyway?')
    expect(discardQuestion([...failed, item({ order: 4, state: 'failed' })])).toBe(
      '2 failed messages will be discarded. Log out anyway?',
    )
    expect(discardQuestion([])).toBeNull()
    // The status line shows the same two numbers.
    expect(statusLine(status({ offline: true }), [...waiting, ...failed]).text).toBe(
      'Offline · 2 waiting to send · 1 failed',
    )
  })
})

describe('typing', () => {
  it('shows others who typed recently', () => {
    let list = addTypist([], { userId: BOB, username: 'bob', until: 2000 })
    list = addTypist(list, { userId: ALICE, username: 'alice', until: 2000 })
    list = addTypist(list, { userId: BOB, username: 'bob', until: 5000 })
    expect(typingText(activeTypists(list, 1000, ALICE))).toBe('bob is typing…')
    expect(typingText(activeTypists(list, 3000, undefined))).toBe('bob is typing…')
    expect(typingText(activeTypists(list, 6000, undefined))).toBe('')
  })
})
