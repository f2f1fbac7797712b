/**
 * Issue 8 item 6, the pure rules: where the "N new messages" divider goes and what it says, how
 * much history the landing reads, how far the person has read, and the "↓ N new" count.
 */
import { describe, expect, it } from 'vitest'
import { foldTimeline } from '../../client/log/timeline.ts'
import { TIMELINE_MAX } from '../../client/state/reducers.ts'
import {
  arrivalsText,
  countArrivals,
  type Divider,
  dividerAtOpen,
  dividerIndex,
  dividerText,
  LANDING_CONTEXT,
  landingSize,
  reachesFirstUnread,
  readThrough,
} from '../../client/state/unread.ts'
import { ALICE, BOB, event, ROOM_A, roomFixture } from './support.ts'

const divider = (afterSeq: number, count: number): Divider => ({ id: 1, afterSeq, count, ready: true, short: false })

describe('the divider fixed when a room opens', () => {
  it('is there only when something is unread in a room the person is in', () => {
    expect(dividerAtOpen(undefined)).toBeNull()
    expect(dividerAtOpen(roomFixture(ROOM_A))).toBeNull()
    expect(dividerAtOpen(roomFixture(ROOM_A, { role: null, lastSeq: 9, unreadCount: 3 }))).toBeNull()
    // Own messages after the marker are never unread: a count of 0 means no divider.
    expect(dividerAtOpen(roomFixture(ROOM_A, { lastSeq: 9, lastReadSeq: 2, unreadCount: 0 }))).toBeNull()
    const first = dividerAtOpen(roomFixture(ROOM_A, { lastSeq: 32, lastReadSeq: 2, unreadCount: 30 }))
    expect(first).toMatchObject({ afterSeq: 2, count: 30, ready: false, short: false })
    // Each opening is its own: the screen lands again on the next one.
    const second = dividerAtOpen(roomFixture(ROOM_A, { lastSeq: 32, lastReadSeq: 2, unreadCount: 30 }))
    expect(second?.id).not.toBe(first?.id)
  })

  it('says "N new messages", singular for one, capped like a badge', () => {
    expect(dividerText(1)).toBe('1 new message')
    expect(dividerText(30)).toBe('30 new messages')
    expect(dividerText(999)).toBe('999 new messages')
    expect(dividerText(1000)).toBe('999+ new messages')
    expect(arrivalsText(2)).toBe('2 new')
    expect(arrivalsText(5000)).toBe('999+ new')
  })

  it('goes above the first message after the marker that someone else wrote', () => {
    const shown = foldTimeline([
      event(ROOM_A, 1),
      event(ROOM_A, 2),
      event(ROOM_A, 3, { authorId: ALICE }),
      event(ROOM_A, 4, { kind: 'member.joined', body: null, clientId: null }),
      event(ROOM_A, 5, { kind: 'reaction.added', targetSeq: 1, reaction: '👍', body: null }),
      event(ROOM_A, 6),
    ])
    // 1, 2, 3 (own), 4 (a notice), 6: the reaction is folded into message 1.
    expect(shown.map((e) => e.seq)).toEqual([1, 2, 3, 4, 6])
    expect(dividerIndex(shown, divider(2, 1), ALICE)).toBe(4)
    expect(dividerIndex(shown, divider(0, 3), ALICE)).toBe(0)
    expect(dividerIndex(shown, divider(6, 1), ALICE)).toBe(-1)
  })
})

describe('landing at the first unread message', () => {
  it('reads the unread span plus some context from the cache, within a page and the window', () => {
    expect(landingSize(40, null, 50)).toBe(50)
    expect(landingSize(32, divider(2, 30), 50)).toBe(50)
    expect(landingSize(302, divider(2, 300), 50)).toBe(300 + LANDING_CONTEXT)
    expect(landingSize(5002, divider(2, 5000), 50)).toBe(TIMELINE_MAX)
  })

  it('knows when the window reaches the first unread message', () => {
    const d = divider(10, 5)
    const from = (seq: number) => [event(ROOM_A, seq), event(ROOM_A, seq + 1)]
    expect(reachesFirstUnread(from(11), true, d)).toBe(true)
    expect(reachesFirstUnread(from(5), true, d)).toBe(true)
    expect(reachesFirstUnread(from(12), true, d)).toBe(false)
    // Nothing older exists at all: this is as far as it goes.
    expect(reachesFirstUnread(from(12), false, d)).toBe(true)
    expect(reachesFirstUnread([], true, d)).toBe(false)
  })
})

describe('how far the person has read', () => {
  const rows = [
    { seq: 3, bottom: 100 },
    { seq: 4, bottom: 180 },
    { seq: 6, bottom: 400 },
    { seq: 7, bottom: 900 },
  ]

  it('is the last message whose end is in view', () => {
    expect(readThrough(rows, 50)).toBeNull()
    expect(readThrough(rows, 100)).toBe(3)
    expect(readThrough(rows, 398)).toBe(4)
    // Half a pixel short (rounding) still counts as in view.
    expect(readThrough(rows, 399.5)).toBe(6)
    expect(readThrough(rows, 844)).toBe(6)
    expect(readThrough(rows, 2000)).toBe(7)
    expect(readThrough([], 844)).toBeNull()
  })
})

describe('"↓ N new" while reading further up', () => {
  const away = { following: false, newSince: 10, arrivals: null }

  it('counts messages from others after the person left the live end, not their own, not twice', () => {
    let t = countArrivals(away, [event(ROOM_A, 11), event(ROOM_A, 12, { authorId: ALICE })], ALICE)
    expect(t.arrivals).toEqual({ firstSeq: 11, count: 1, upTo: 11 })
    t = countArrivals(t, [event(ROOM_A, 14, { authorId: BOB }), event(ROOM_A, 13)], ALICE)
    expect(t.arrivals).toEqual({ firstSeq: 11, count: 3, upTo: 14 })
    // A replay (a catch-up after a reconnect) brings nothing new.
    expect(countArrivals(t, [event(ROOM_A, 13), event(ROOM_A, 14)], ALICE)).toBe(t)
    // Edits and reactions are not new messages; nor is anything from before the person left.
    const edit = event(ROOM_A, 15, { kind: 'message.edited', targetSeq: 11 })
    expect(countArrivals(t, [edit, event(ROOM_A, 9)], ALICE)).toBe(t)
  })

  it('counts nothing at the live end', () => {
    const here = { following: true, newSince: null, arrivals: null }
    expect(countArrivals(here, [event(ROOM_A, 11)], ALICE)).toBe(here)
  })
})
