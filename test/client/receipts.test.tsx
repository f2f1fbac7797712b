/**
 * "Seen by ana, ben" (issue 9 item 3): each other member's receipt under the newest shown message
 * they have read (state/receipts.ts), names in small rooms and a count past 20 members, drawn
 * live as `receipts` reach the tab (feed → `receipts` signal → RoomView).
 */
import { cleanup, render, waitFor } from '@testing-library/preact'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { foldTimeline } from '../../client/log/timeline.ts'
import { startFeed } from '../../client/state/feed.ts'
import { RECEIPT_NAMES_MAX_MEMBERS, readerNames, seenLines, seenText } from '../../client/state/receipts.ts'
import { members, outbox, receipts, rooms, route, status, timeline, user } from '../../client/state/store.ts'
import { publish } from '../../client/tabs/bus.ts'
import { RoomView } from '../../client/ui/RoomView.tsx'
import { ALICE, BOB, event, FIXTURE_TIME, freshDb, ROOM_A, roomFixture } from './support.ts'

const CY = '00000000-0000-4000-8000-0000000000c3'
const DAN = '00000000-0000-4000-8000-0000000000d4'
const names = new Map([
  [ALICE, 'alice'],
  [BOB, 'bob'],
  [CY, 'cy'],
  [DAN, 'dan'],
])
/** Alice wrote 1 and 3; Bob wrote 2 and 4; 5 is a notice (Cy joined). */
const entries = foldTimeline(
  [
    event(ROOM_A, 1, { authorId: ALICE, authorName: 'alice' }),
    event(ROOM_A, 2),
    event(ROOM_A, 3, { authorId: ALICE, authorName: 'alice' }),
    event(ROOM_A, 4),
    { ...event(ROOM_A, 5), kind: 'member.joined', clientId: null, body: null, authorId: CY, authorName: 'cy' },
  ],
  ALICE,
)

describe('where receipts go', () => {
  it('under the newest message at or below each reader’s marker; never the person’s own, nor under the reader’s own message', () => {
    const lines = seenLines(entries, { [ALICE]: 4, [CY]: 3, [DAN]: 5 }, ALICE, names, 4)
    // Cy read to 3 (Alice's), Dan to 5: the newest message at or below it is 4 (Bob's).
    expect([...lines.entries()]).toEqual([
      [3, { text: 'Seen by cy', readers: [CY] }],
      [4, { text: 'Seen by dan', readers: [DAN] }],
    ])
  })

  it('a person has seen what they wrote: Bob, who answered with 4, has seen Alice’s 3 before it, whatever his marker says', () => {
    // Bob's own newest is 4, so he has read through 4; under his own message nothing is said,
    // so his receipt goes under the newest message before it that is not his: Alice's 3.
    expect([...seenLines(entries, { [BOB]: 1 }, ALICE, names, 4).entries()]).toEqual([
      [3, { text: 'Seen by bob', readers: [BOB] }],
    ])
    expect([...seenLines(entries, { [BOB]: 3 }, ALICE, names, 4).entries()]).toEqual([
      [3, { text: 'Seen by bob', readers: [BOB] }],
    ])
  })

  it('a reader who has read only their own messages shown is left out', () => {
    const bobsOnly = entries.filter((e) => e.seq === 2 || e.seq === 4)
    expect(seenLines(bobsOnly, { [BOB]: 4 }, ALICE, names, 4).size).toBe(0)
  })

  it('a reader whose marker is older than every message shown is left out', () => {
    const window = entries.filter((e) => e.seq >= 3)
    expect(seenLines(window, { [CY]: 2 }, ALICE, names, 4).size).toBe(0)
  })

  it('names in a room of up to 20, a count beyond', () => {
    expect(seenText([BOB, CY], names, 3)).toBe('Seen by bob, cy')
    expect(seenText([DAN, BOB, CY, ALICE, 'x'], names, 6)).toBe('Seen by alice, bob, cy and 2 others')
    expect(seenText(['x'], names, 6)).toBe('Seen by 1 person')
    expect(seenText([BOB, CY], names, RECEIPT_NAMES_MAX_MEMBERS)).toBe('Seen by bob, cy')
    const many = Array.from({ length: 23 }, (_, i) => `reader-${i}`)
    expect(seenText(many, names, RECEIPT_NAMES_MAX_MEMBERS + 1)).toBe('Seen by 23')
  })

  it('names come from the member list first, then presence, then the authors shown', () => {
    const known = readerNames(
      [{ userId: BOB, username: 'bob-member' }],
      [{ userId: CY, username: 'cy-present' }],
      entries,
    )
    expect(known.get(BOB)).toBe('bob-member')
    expect(known.get(CY)).toBe('cy-present')
    expect(known.get(ALICE)).toBe('alice')
  })
})

describe('Seen by in the open room', () => {
  let stopFeed: () => void = () => undefined
  beforeEach(async () => {
    user.value = { id: ALICE, username: 'alice', createdAt: new Date(FIXTURE_TIME).toISOString() }
    rooms.value = [roomFixture(ROOM_A, { memberCount: 3, lastSeq: 4, role: 'owner' })]
    route.value = { name: 'room', roomId: ROOM_A }
    outbox.value = []
    receipts.value = {}
    members.value = {
      [ROOM_A]: [
        { userId: ALICE, username: 'alice', role: 'owner', joinedAt: new Date(FIXTURE_TIME).toISOString() },
        { userId: BOB, username: 'bob', role: 'member', joinedAt: new Date(FIXTURE_TIME).toISOString() },
        { userId: CY, username: 'cy', role: 'member', joinedAt: new Date(FIXTURE_TIME).toISOString() },
      ],
    }
    timeline.value = {
      roomId: ROOM_A,
      entries: [1, 2, 3].map((seq) => event(ROOM_A, seq, { authorId: ALICE, authorName: 'alice' })),
      hasOlder: false,
      loadingOlder: false,
      hasNewer: false,
      following: true,
    }
    status.value = { socket: 'open', retryAt: null, catchingUp: 0, offline: false }
    stopFeed = startFeed(await freshDb())
  })
  afterEach(() => {
    stopFeed()
    cleanup()
    receipts.value = {}
    members.value = {}
  })

  const seenUnder = () =>
    [...document.querySelectorAll('li[data-seq]')].flatMap((li) => {
      const line = li.querySelector('.msg__seen')
      return line ? [[Number((li as HTMLElement).dataset.seq), line.textContent]] : []
    })

  it('follows receipts as they reach the tab, and moves a reader down as they read on', async () => {
    render(<RoomView roomId={ROOM_A} />)
    expect(seenUnder()).toEqual([])
    publish({ type: 'receipts', roomId: ROOM_A, readers: { [BOB]: 2 } })
    await waitFor(() => expect(seenUnder()).toEqual([[2, 'Seen by bob']]))
    publish({ type: 'receipts', roomId: ROOM_A, readers: { [BOB]: 3, [CY]: 3, [ALICE]: 3 } })
    await waitFor(() => expect(seenUnder()).toEqual([[3, 'Seen by bob, cy']]))
    // Plain text in the message's row: read out with it, nothing to tap.
    const line = document.querySelector('.msg__seen')!
    expect(line.closest('button, a, [role="button"]')).toBeNull()
    expect(line.closest('li')?.getAttribute('data-seq')).toBe('3')
  })

  it('a room of more than 20 members counts readers', async () => {
    rooms.value = [roomFixture(ROOM_A, { memberCount: 21, lastSeq: 4, role: 'owner' })]
    receipts.value = { [ROOM_A]: { [BOB]: 3, [CY]: 3 } }
    render(<RoomView roomId={ROOM_A} />)
    await waitFor(() => expect(seenUnder()).toEqual([[3, 'Seen by 2']]))
  })

  it('forgets receipts when the person signs out in another tab', async () => {
    receipts.value = { [ROOM_A]: { [BOB]: 3 } }
    publish({ type: 'signed-out' })
    await waitFor(() => expect(receipts.value).toEqual({}))
  })
})
