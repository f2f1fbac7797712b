/**
 * Issue 7 item 12: the read marker follows what the person reads while a room
 * stays open, not only the moment it opens. Arrivals in the open, visible room
 * are posted once per burst; the open room's unread count stays 0 (whatever the
 * leader tab's engine counted); offline, the highest seq read is kept on the
 * room's row and posted at the next chance, and a room-list refresh in between
 * does not bring the read messages back as unread.
 */
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { getCursor, setHasOlder, storeEvents } from '../../client/db/messages.ts'
import { getDb } from '../../client/db/page.ts'
import { clearUserData, getCachedRoom, replaceRooms, updateRoom } from '../../client/db/rooms.ts'
import {
  markReadThrough,
  openRoom,
  READ_POST_DELAY_MS,
  setFollowing,
  startReadMarkers,
} from '../../client/state/actions.ts'
import { startFeed } from '../../client/state/feed.ts'
import { applyEventsToRoom } from '../../client/state/reducers.ts'
import { rooms, route, timeline, user } from '../../client/state/store.ts'
import { publish } from '../../client/tabs/bus.ts'
import type { HistoryResponse } from '../../shared/api.ts'
import type { Room, RoomEvent } from '../../shared/schemas.ts'
import { ALICE, BOB, event, FIXTURE_TIME, ROOM_A } from './support.ts'

const room: Room = {
  id: ROOM_A,
  name: 'general',
  visibility: 'public',
  ownerId: BOB,
  createdAt: new Date(FIXTURE_TIME).toISOString(),
  lastSeq: 2,
  role: 'member',
  memberCount: 2,
  lastMessage: null,
  unreadCount: 0,
  lastReadSeq: 2,
}

let posted: number[] = []
let online = true
let visibility: DocumentVisibilityState = 'visible'
let stop: () => void = () => undefined
/** The server's history pages, when a test serves them (GET …/messages?before=…). */
let history: ((url: string) => HistoryResponse | null) | null = null

const tick = () => new Promise((resolve) => setImmediate(resolve))

/** Lets IndexedDB (fake-indexeddb runs on setImmediate, which is not faked) and promise chains run. */
async function settle(rounds = 30): Promise<void> {
  for (let i = 0; i < rounds; i += 1) await tick()
}

/** Runs tasks until `check` holds (no clock involved: a bounded number of task turns). */
async function until(check: () => Promise<boolean> | boolean): Promise<void> {
  for (let i = 0; i < 2_000; i += 1) {
    if (await check()) return
    await tick()
  }
  throw new Error('condition never held')
}

const pendingOf = async () => (await getCachedRoom(await getDb(), ROOM_A))?.readPending

/**
 * What the leader's engine does with an arrival: tell the tabs, then update the room row, counting
 * the room as viewed when the leader is the tab showing it (`leaderViews`), else as not viewed.
 */
async function arrive(events: RoomEvent[], leaderViews = false): Promise<void> {
  const db = await getDb()
  publish({ type: 'events', roomId: ROOM_A, events })
  await updateRoom(db, ROOM_A, (r) => applyEventsToRoom(r, events, ALICE, leaderViews))
  await settle()
}

beforeAll(async () => {
  // The response checks load on first use; load them now so a test's first request answers in a few turns.
  await import('../../client/api/validate.ts')
})

beforeEach(async () => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
  posted = []
  history = null
  online = true
  visibility = 'visible'
  Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => visibility })
  vi.stubGlobal('fetch', async (url: string, init: RequestInit) => {
    if (!online) throw new TypeError('Failed to fetch')
    // Reads (history, members) fail as on a link that drops them, unless a test serves history.
    if (init.method === 'GET') {
      const page = history?.(url)
      if (page) return Response.json(page)
      throw new TypeError('Failed to fetch')
    }
    const match = /^\/api\/rooms\/[^/]+\/read$/.exec(url)
    if (!match || init.method !== 'POST') throw new Error(`unexpected request ${init.method} ${url}`)
    const { seq } = JSON.parse(String(init.body)) as { seq: number }
    posted.push(seq)
    return new Response(JSON.stringify({ lastReadSeq: seq, unreadCount: 0 }), {
      status: 200,
      headers: { 'content-type': 'application/json' },
    })
  })
  const db = await getDb()
  await clearUserData(db)
  await replaceRooms(db, [room])
  rooms.value = [room]
  user.value = { id: ALICE, username: 'alice', createdAt: new Date(FIXTURE_TIME).toISOString() }
  route.value = { name: 'room', roomId: ROOM_A }
  timeline.value = {
    roomId: ROOM_A,
    entries: [event(ROOM_A, 1), event(ROOM_A, 2)],
    hasOlder: false,
    loadingOlder: false,
    hasNewer: false,
    following: true,
  }
  // As boot does: the feed first (it moves the timeline and the room list), then the read markers.
  const stopFeed = startFeed(db)
  const stopMarkers = startReadMarkers()
  stop = () => {
    stopMarkers()
    stopFeed()
  }
})

afterEach(() => {
  stop()
  vi.useRealTimers()
  vi.unstubAllGlobals()
})

describe('the read marker while a room stays open', () => {
  it('posts once for a burst of arrivals, with the highest seq, and keeps the open room at 0 unread', async () => {
    for (let seq = 3; seq <= 22; seq += 1) await arrive([event(ROOM_A, seq, { authorId: BOB })])
    const db = await getDb()
    expect(posted).toEqual([])
    expect((await getCachedRoom(db, ROOM_A))?.unreadCount).toBe(0)

    await vi.advanceTimersByTimeAsync(READ_POST_DELAY_MS)
    await until(async () => (await pendingOf()) === undefined)
    expect(posted).toEqual([22])
    const row = await getCachedRoom(db, ROOM_A)
    expect(row).toMatchObject({ lastReadSeq: 22, unreadCount: 0, lastSeq: 22 })
    expect(row?.readPending).toBeUndefined()
  })

  it('posts too when this tab leads and its engine already counted the room as viewed (lastReadSeq moved locally)', async () => {
    await arrive([event(ROOM_A, 3, { authorId: BOB })], true)
    await vi.advanceTimersByTimeAsync(READ_POST_DELAY_MS)
    await until(() => posted.length > 0)
    expect(posted).toEqual([3])
  })

  it('does not count arrivals as read while the page is hidden, and marks them once it is visible again', async () => {
    visibility = 'hidden'
    await arrive([event(ROOM_A, 3, { authorId: BOB }), event(ROOM_A, 4, { authorId: BOB })])
    await vi.advanceTimersByTimeAsync(READ_POST_DELAY_MS)
    await settle()
    const db = await getDb()
    expect(posted).toEqual([])
    expect((await getCachedRoom(db, ROOM_A))?.unreadCount).toBe(2)

    visibility = 'visible'
    document.dispatchEvent(new Event('visibilitychange'))
    await settle()
    await vi.advanceTimersByTimeAsync(READ_POST_DELAY_MS)
    await until(async () => posted.length > 0 && (await pendingOf()) === undefined)
    expect(posted).toEqual([4])
    expect((await getCachedRoom(db, ROOM_A))?.unreadCount).toBe(0)
  })

  it('needs no post for the person’s own messages: they count as read already', async () => {
    await arrive([event(ROOM_A, 3, { authorId: ALICE, authorName: 'alice' })])
    await vi.advanceTimersByTimeAsync(READ_POST_DELAY_MS)
    await settle()
    expect(posted).toEqual([])
    expect((await getCachedRoom(await getDb(), ROOM_A))?.unreadCount).toBe(0)
  })

  it('offline: keeps the highest seq read on the room row, survives a room-list refresh, posts it once back online', async () => {
    online = false
    await arrive([event(ROOM_A, 3, { authorId: BOB })])
    await arrive([event(ROOM_A, 4, { authorId: BOB })])
    await vi.advanceTimersByTimeAsync(READ_POST_DELAY_MS)
    await settle()
    const db = await getDb()
    expect(posted).toEqual([])
    expect(await pendingOf()).toBe(4)

    // The server's list still has the old marker (it never heard): the read messages stay read here.
    await replaceRooms(db, [{ ...room, lastSeq: 4, unreadCount: 2, lastReadSeq: 2 }])
    expect(await getCachedRoom(db, ROOM_A)).toMatchObject({ lastReadSeq: 4, unreadCount: 0, readPending: 4 })

    online = true
    window.dispatchEvent(new Event('online'))
    await until(async () => (await pendingOf()) === undefined)
    expect(posted).toEqual([4])
    // Once the server has it, a refresh that carries it changes nothing.
    await replaceRooms(db, [{ ...room, lastSeq: 4, unreadCount: 0, lastReadSeq: 4 }])
    expect(await getCachedRoom(db, ROOM_A)).toMatchObject({ lastReadSeq: 4, unreadCount: 0 })
  })
})

describe('reading a room with unread messages (issue 8 item 6)', () => {
  /** Bob wrote 3..40 while Alice was away: her row says 38 unread, read up to 2. */
  async function away(cached: RoomEvent[], hasOlder: boolean): Promise<void> {
    const db = await getDb()
    const row = { ...room, lastSeq: 40, unreadCount: 38, lastReadSeq: 2 }
    await replaceRooms(db, [row])
    rooms.value = [row]
    await storeEvents(db, ROOM_A, cached)
    if (!hasOlder) await setHasOlder(db, ROOM_A, false)
    timeline.value = null
  }
  const seqs = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => event(ROOM_A, from + i))

  it('opening lands at the first unread without marking anything read; the marker follows what is read, then the live end', async () => {
    await away(seqs(1, 40), false)
    await openRoom(ROOM_A)
    await settle()
    expect(timeline.value).toMatchObject({ following: false, newSince: 40 })
    expect(timeline.value?.divider).toMatchObject({ afterSeq: 2, count: 38, ready: true, short: false })
    // The whole unread span is in the window, with the first unread one.
    expect(timeline.value?.entries[0]?.seq).toBe(1)
    await vi.advanceTimersByTimeAsync(READ_POST_DELAY_MS)
    await settle()
    expect(posted).toEqual([])
    expect(await getCachedRoom(await getDb(), ROOM_A)).toMatchObject({ unreadCount: 38, lastReadSeq: 2 })

    // Arrivals while above the live end are not read, and count for "↓ N new".
    await arrive([event(ROOM_A, 41)])
    expect(timeline.value?.arrivals).toEqual({ firstSeq: 41, count: 1, upTo: 41 })

    // Scrolling down: each report moves the marker; one post per burst, with the furthest.
    markReadThrough(ROOM_A, 9)
    await settle()
    markReadThrough(ROOM_A, 15)
    await settle()
    expect(await getCachedRoom(await getDb(), ROOM_A)).toMatchObject({ lastReadSeq: 15, readPending: 15 })
    // Not at the end yet: the count is not zeroed (the server's answer gives the exact one).
    expect((await getCachedRoom(await getDb(), ROOM_A))?.unreadCount).toBeGreaterThan(0)
    await vi.advanceTimersByTimeAsync(READ_POST_DELAY_MS)
    await until(async () => (await pendingOf()) === undefined)
    expect(posted).toEqual([15])

    // At the live end everything is read, and the "↓ N new" count ends; the divider stays where it was.
    setFollowing(true)
    await settle()
    expect(timeline.value?.arrivals).toBeNull()
    expect(timeline.value?.divider?.afterSeq).toBe(2)
    await vi.advanceTimersByTimeAsync(READ_POST_DELAY_MS)
    await until(async () => (await pendingOf()) === undefined && posted.length === 2)
    expect(posted).toEqual([15, 41])
    expect((await getCachedRoom(await getDb(), ROOM_A))?.unreadCount).toBe(0)
  })

  it('the first unread older than the device holds: pages it in from the server, the held ranges stay true', async () => {
    await away(seqs(31, 40), true)
    const asked: string[] = []
    history = (url) => {
      const match = /^\/api\/rooms\/[^/]+\/messages\?before=(\d+)&limit=(\d+)$/.exec(url)
      if (!match) return null
      asked.push(url)
      const before = Number(match[1])
      const from = Math.max(1, before - Number(match[2]))
      const messages = seqs(from, before - 1).map((e) => ({
        roomId: e.roomId,
        seq: e.seq,
        clientId: e.clientId!,
        authorId: e.authorId!,
        authorName: e.authorName!,
        body: e.body!,
        createdAt: e.createdAt,
      }))
      return { messages, hasMore: from > 1 }
    }
    await openRoom(ROOM_A)
    await until(() => timeline.value?.divider?.ready === true)
    expect(asked).toEqual([`/api/rooms/${ROOM_A}/messages?before=31&limit=50`])
    expect(timeline.value?.divider).toMatchObject({ afterSeq: 2, short: false })
    expect(timeline.value?.entries.map((e) => e.seq)).toEqual(seqs(1, 40).map((e) => e.seq))
    expect(timeline.value).toMatchObject({ hasOlder: false, hasNewer: false, following: false })
    // One gap-free range: the landing stored the page as any paging does.
    expect(await getCursor(await getDb(), ROOM_A)).toMatchObject({ ranges: [[1, 40]], lastSeq: 40, hasOlder: false })
    await vi.advanceTimersByTimeAsync(READ_POST_DELAY_MS)
    await settle()
    expect(posted).toEqual([])
  })

  it('offline with the first unread not on the device: lands at the oldest unread one held, and says so', async () => {
    await away(seqs(30, 40), true)
    await openRoom(ROOM_A)
    await until(() => timeline.value?.divider?.ready === true)
    expect(timeline.value?.divider).toMatchObject({ afterSeq: 2, count: 38, short: true })
    expect(timeline.value?.entries.map((e) => e.seq)).toEqual(seqs(30, 40).map((e) => e.seq))
    expect(timeline.value?.hasOlder).toBe(true)
    expect(timeline.value?.loadingOlder).toBe(false)
    await vi.advanceTimersByTimeAsync(READ_POST_DELAY_MS)
    await settle()
    expect(posted).toEqual([])
  })

  it('with nothing unread the room opens at the live end and is read at once', async () => {
    const db = await getDb()
    await storeEvents(db, ROOM_A, seqs(1, 2))
    timeline.value = null
    await openRoom(ROOM_A)
    await settle()
    expect(timeline.value).toMatchObject({ following: true, divider: null })
  })
})
