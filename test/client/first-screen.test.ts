/**
 * Issue 8 item 11: a cold start paints from one precomputed first-screen record (one `get`), and
 * the normal read of the stores replaces it right after. The record is a copy that must never show
 * one person's data to another, never survive a logout or an ended session, and be ignored when it
 * has another shape (an older or newer app, damage): then the normal path paints alone.
 */
import { effect } from '@preact/signals'
import { beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { readFirstScreen, validFirstScreen, writeFirstScreen } from '../../client/db/first-screen.ts'
import { getDb } from '../../client/db/page.ts'
import { clearUserData, expireSession, setSessionUser } from '../../client/db/rooms.ts'
import type { FerryDatabase, FirstScreenRecord } from '../../client/db/schema.ts'
import { enqueue } from '../../client/outbox/store.ts'
import { firstScreenRecord, keepFirstScreen, roomPart } from '../../client/state/first-screen.ts'
import { boot } from '../../client/state/session.ts'
import { heldFor, outbox, rooms, route, type Timeline, timeline, user } from '../../client/state/store.ts'
import type { Room, User } from '../../shared/schemas.ts'
import { ALICE, BOB, event, FIXTURE_TIME, freshDb, message, ROOM_A, ROOM_B, roomFixture } from './support.ts'

const alice: User = { id: ALICE, username: 'alice', createdAt: new Date(FIXTURE_TIME).toISOString() }
const bob: User = { id: BOB, username: 'bob', createdAt: new Date(FIXTURE_TIME).toISOString() }

function recordFor(userId: string, over: Partial<FirstScreenRecord> = {}): FirstScreenRecord {
  return {
    v: 1,
    userId,
    rooms: [roomFixture(ROOM_A, { name: 'Cabin', lastSeq: 3, lastReadSeq: 3 })],
    outbox: [],
    room: { roomId: ROOM_A, entries: [event(ROOM_A, 2), event(ROOM_A, 3)], hasOlder: true },
    ...over,
  }
}

describe('the first-screen record in IndexedDB', () => {
  let db: FerryDatabase
  beforeEach(async () => {
    db = await freshDb()
    await setSessionUser(db, alice)
  })

  it('is written for the signed-in person and read back with one room open, or for the room list', async () => {
    expect(await writeFirstScreen(db, recordFor(ALICE))).toBe(true)
    const inRoom = await readFirstScreen(db, ROOM_A)
    expect(inRoom?.user?.id).toBe(ALICE)
    expect(inRoom?.rooms.map((r) => r.name)).toEqual(['Cabin'])
    expect(inRoom?.room?.entries.map((e) => e.seq)).toEqual([2, 3])
    expect(inRoom?.room?.cursor.hasOlder).toBe(true)
    const list = await readFirstScreen(db, null)
    expect(list?.rooms).toHaveLength(1)
    expect(list?.room).toBeNull()
    // Saved with another room open: that room's cold start takes the normal path.
    expect(await readFirstScreen(db, ROOM_B)).toBeNull()
  })

  it('is not written for anyone but the signed-in person, nor after logging out or an ended session', async () => {
    expect(await writeFirstScreen(db, recordFor(BOB))).toBe(false)
    expect(await db.count('firstScreen')).toBe(0)
    await clearUserData(db)
    expect(await writeFirstScreen(db, recordFor(ALICE))).toBe(false)
    await setSessionUser(db, alice)
    await enqueue(db, ROOM_A, 'kept for alice')
    await expireSession(db)
    // The session ended (kept for alice's unsent message), so nothing is saved to paint.
    expect(await writeFirstScreen(db, recordFor(ALICE))).toBe(false)
    expect(await db.count('firstScreen')).toBe(0)
  })

  it('is never read for another person, even when one is stored', async () => {
    await db.put('firstScreen', recordFor(ALICE), 'me')
    await db.put('session', { ...bob }, 'me')
    expect(await readFirstScreen(db, ROOM_A)).toBeNull()
    expect(await readFirstScreen(db, null)).toBeNull()
  })

  it('is wiped by logging out, by another person signing in and by an ended session', async () => {
    await writeFirstScreen(db, recordFor(ALICE))
    await clearUserData(db)
    expect(await db.count('firstScreen')).toBe(0)

    await setSessionUser(db, alice)
    await writeFirstScreen(db, recordFor(ALICE))
    await setSessionUser(db, bob)
    expect(await db.count('firstScreen')).toBe(0)
    expect(await readFirstScreen(db, null)).toBeNull()

    await writeFirstScreen(db, recordFor(BOB))
    await enqueue(db, ROOM_A, 'kept for bob')
    await expireSession(db)
    expect(await db.count('firstScreen')).toBe(0)
    expect(await readFirstScreen(db, null)).toBeNull()
  })

  it('is ignored when its shape is not this version’s (older, newer, damaged)', async () => {
    const good = recordFor(ALICE)
    const bad: unknown[] = [
      undefined,
      null,
      'a string',
      { ...good, v: 2 },
      { ...good, v: undefined },
      { ...good, userId: 7 },
      { ...good, rooms: 'none' },
      { ...good, rooms: [{ id: ROOM_A, name: 'no counts' }] },
      { ...good, rooms: [{ ...good.rooms[0], unreadCount: -1 }] },
      { ...good, rooms: [{ ...good.rooms[0], lastMessage: { seq: 1 } }] },
      { ...good, outbox: [{ clientId: 'x', roomId: ROOM_A, body: 'hi', order: 1, state: 'sending' }] },
      { ...good, room: { roomId: ROOM_A, entries: [event(ROOM_A, 3), event(ROOM_A, 2)], hasOlder: false } },
      { ...good, room: { roomId: ROOM_A, entries: [event(ROOM_B, 1)], hasOlder: false } },
      { ...good, room: { roomId: ROOM_A, entries: [{ ...event(ROOM_A, 1), seq: '1' }], hasOlder: false } },
      { ...good, room: { roomId: ROOM_A, entries: [event(ROOM_A, 1)] } },
    ]
    expect(validFirstScreen(good)).not.toBeNull()
    const withLast = { ...good.rooms[0]!, lastMessage: message(ROOM_A, 3, crypto.randomUUID(), 'last words') }
    expect(validFirstScreen({ ...good, rooms: [withLast] })).not.toBeNull()
    for (const value of bad) {
      expect(validFirstScreen(value)).toBeNull()
      await db.put('firstScreen', value as FirstScreenRecord, 'me')
      expect(await readFirstScreen(db, ROOM_A)).toBeNull()
    }
  })
})

describe('what the record holds', () => {
  const shown = (over: Partial<Timeline>): Timeline => ({
    roomId: ROOM_A,
    entries: [1, 2, 3].map((seq) => event(ROOM_A, seq)),
    hasOlder: false,
    loadingOlder: false,
    hasNewer: false,
    following: true,
    ...over,
  })

  it('the open room’s newest page, only when the window reaches the live end', () => {
    expect(roomPart(shown({}), 2)).toEqual({
      roomId: ROOM_A,
      entries: [event(ROOM_A, 2), event(ROOM_A, 3)],
      hasOlder: true,
    })
    expect(roomPart(shown({}), 5)?.hasOlder).toBe(false)
    expect(roomPart(shown({ hasNewer: true }))).toBeNull()
    expect(roomPart(shown({ entries: [] }))).toBeNull()
    expect(roomPart(null)).toBeNull()
  })

  it('nothing without a signed-in person; the last room is dropped once the list shows it has newer entries', () => {
    const part = roomPart(shown({}))
    expect(firstScreenRecord(null, [], [], part)).toBeNull()
    expect(firstScreenRecord(undefined, [], [], part)).toBeNull()
    const current = [roomFixture(ROOM_A, { lastSeq: 3 })]
    expect(firstScreenRecord(alice, current, [], part)?.room?.roomId).toBe(ROOM_A)
    const moved = [roomFixture(ROOM_A, { lastSeq: 4 })]
    expect(firstScreenRecord(alice, moved, [], part)?.room).toBeNull()
  })
})

describe('saving and painting at start', () => {
  beforeAll(async () => {
    await import('../../client/api/validate.ts')
  })

  beforeEach(async () => {
    // Offline: boot paints from IndexedDB and stays there.
    vi.stubGlobal('fetch', async () => {
      throw new TypeError('Failed to fetch')
    })
    user.value = undefined
    rooms.value = []
    outbox.value = []
    timeline.value = null
    heldFor.value = null
    const db = await getDb()
    await clearUserData(db)
  })

  // fetch stays stubbed (offline) for the whole file: boot's background work (members, read markers) may
  // still ask after a test ends, and must not reach happy-dom's real fetch.

  async function seedStores(db: FerryDatabase, me: User, room: Room): Promise<void> {
    await setSessionUser(db, me)
    await db.put('rooms', room)
    for (const seq of [1, 2, 3]) await db.put('messages', event(room.id, seq))
    await db.put('cursors', { roomId: room.id, lastSeq: 3, ranges: [[1, 3]], hasOlder: false })
  }

  it('saves what the screen shows, for the person it belongs to', async () => {
    const db = await getDb()
    await seedStores(db, alice, roomFixture(ROOM_A, { name: 'Cabin', lastSeq: 3, lastReadSeq: 3 }))
    const stop = keepFirstScreen(db, 0)
    try {
      route.value = { name: 'room', roomId: ROOM_A }
      await boot()
      await vi.waitFor(async () => expect((await readFirstScreen(db, ROOM_A))?.room?.entries).toHaveLength(3))
      expect((await readFirstScreen(db, ROOM_A))?.rooms.map((r) => r.name)).toEqual(['Cabin'])
    } finally {
      stop()
    }
  })

  it('paints the record first, then what the stores hold', async () => {
    const db = await getDb()
    await seedStores(db, alice, roomFixture(ROOM_A, { name: 'From the stores', lastSeq: 3, lastReadSeq: 3 }))
    // An older record: the room's old name and only two of its messages.
    await writeFirstScreen(
      db,
      recordFor(ALICE, {
        rooms: [roomFixture(ROOM_A, { name: 'From the record', lastSeq: 2, lastReadSeq: 2 })],
        room: { roomId: ROOM_A, entries: [event(ROOM_A, 1), event(ROOM_A, 2)], hasOlder: false },
      }),
    )
    const names: string[][] = []
    const stop = effect(() => {
      if (rooms.value.length > 0) names.push(rooms.value.map((r) => r.name))
    })
    try {
      route.value = { name: 'room', roomId: ROOM_A }
      await boot()
    } finally {
      stop()
    }
    expect(names[0]).toEqual(['From the record'])
    expect(names.at(-1)).toEqual(['From the stores'])
    expect(timeline.value?.entries.map((e) => e.seq)).toEqual([1, 2, 3])
  })

  it('never paints another person’s record, and paints an ended session not at all', async () => {
    const db = await getDb()
    await seedStores(db, bob, roomFixture(ROOM_B, { name: 'Bob’s room' }))
    // Left by alice's session, written straight into the store (as a bug or an old app could have).
    await db.put('firstScreen', recordFor(ALICE, { rooms: [roomFixture(ROOM_A, { name: 'Alice’s secret' })] }), 'me')
    const seen: string[] = []
    const stop = effect(() => {
      for (const r of rooms.value) seen.push(r.name)
    })
    try {
      await boot()
      expect(seen).not.toContain('Alice’s secret')
      expect(rooms.value.map((r) => r.name)).toEqual(['Bob’s room'])

      await writeFirstScreen(db, recordFor(BOB, { rooms: [roomFixture(ROOM_B, { name: 'Bob’s room' })] }))
      await enqueue(db, ROOM_B, 'kept for bob')
      await expireSession(db)
      // Someone writes the record back after the session ended (a late write): it is refused.
      expect(await writeFirstScreen(db, recordFor(BOB))).toBe(false)
      user.value = undefined
      rooms.value = []
      seen.length = 0
      await boot()
      expect(seen).toEqual([])
      expect(user.value).toBeNull()
    } finally {
      stop()
    }
  })
})

describe('a record that matches the stores', () => {
  beforeEach(async () => {
    vi.stubGlobal('fetch', async () => {
      throw new TypeError('Failed to fetch')
    })
    user.value = undefined
    rooms.value = []
    outbox.value = []
    timeline.value = null
    const db = await getDb()
    await clearUserData(db)
  })

  // fetch stays stubbed (offline) for the whole file: boot's background work (members, read markers) may
  // still ask after a test ends, and must not reach happy-dom's real fetch.

  it('is painted once: the stores’ read changes nothing on screen', async () => {
    const db = await getDb()
    const room = roomFixture(ROOM_A, { name: 'Cabin', lastSeq: 3, lastReadSeq: 3 })
    await setSessionUser(db, alice)
    await db.put('rooms', room)
    for (const seq of [1, 2, 3]) await db.put('messages', event(ROOM_A, seq))
    await db.put('cursors', { roomId: ROOM_A, lastSeq: 3, ranges: [[1, 3]], hasOlder: false })
    await writeFirstScreen(
      db,
      recordFor(ALICE, {
        rooms: [room],
        room: { roomId: ROOM_A, entries: [1, 2, 3].map((seq) => event(ROOM_A, seq)), hasOlder: false },
      }),
    )
    const lists: unknown[] = []
    const windows: unknown[] = []
    const stop = effect(() => {
      if (rooms.value.length > 0) lists.push(rooms.value)
      if (timeline.value) windows.push(timeline.value)
    })
    try {
      route.value = { name: 'room', roomId: ROOM_A }
      await boot()
    } finally {
      stop()
    }
    expect(lists).toHaveLength(1)
    // The window is the record's (no second landing); later changes (read markers) may follow.
    expect(windows[0]).toBeDefined()
    expect((windows[0] as Timeline).entries.map((e) => e.seq)).toEqual([1, 2, 3])
    expect(timeline.value?.entries).toBe((windows[0] as Timeline).entries)
  })
})
