/**
 * Issue 7 item 12 and issue 9 item 3: the read marker follows what the person
 * reads while a room stays open, not only the moment it opens. The tab marks
 * the room read at once (the open room's unread count stays 0, whatever the
 * leader tab's engine counted), keeps the highest seq read on the room's row
 * (`readPending`, so a room-list refresh does not bring read messages back as
 * unread, and a reload offline loses nothing) and asks the leader to send it
 * (a `read` tab message; hidden or left: `now`). How the leader sends it is
 * test/client/read-sending.test.ts. Nothing is posted from here any more.
 */
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { getCursor, setHasOlder, storeEvents } from '../../client/db/messages.ts'
import { getDb } from '../../client/db/page.ts'
import { clearUserData, getCachedRoom, replaceRooms, updateRoom } from '../../client/db/rooms.ts'
import { startFeed } from '../../client/state/feed.ts'
import { navigate } from '../../client/state/navigation.ts'
import { markReadThrough, startReadMarkers } from '../../client/state/reading.ts'
import { applyEventsToRoom } from '../../client/state/reducers.ts'
import { openRoom, setFollowing } from '../../client/state/room-view.ts'
import { rooms, route, timeline, user } from '../../client/state/store.ts'
import { onTabMessage, publish } from '../../client/tabs/bus.ts'
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
/** The leader was asked to send a room's marker (`read` tab messages). */
let asked: Array<{ roomId: string; now: boolean }> = []
/** The leader's wait before sending; no tab waits for it any more (kept to show nothing happens later). */
const A_WHILE_MS = 5_000
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
  asked = []
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
  const stopAsked = onTabMessage((m) => {
    if (m.type === 'read') asked.push({ roomId: m.roomId, now: m.now === true })
  })
  stop = () => {
    stopAsked()
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
  it('marks a burst of arrivals read at once, keeps the highest on the row and asks the leader to send it', async () => {
    for (let seq = 3; seq <= 22; seq += 1) await arrive([event(ROOM_A, seq, { authorId: BOB })])
    const db = await getDb()
    expect(await getCachedRoom(db, ROOM_A)).toMatchObject({ lastReadSeq: 22, unreadCount: 0, readPending: 22 })
    expect(asked.length).toBeGreaterThan(0)
    expect(asked.every((a) => a.roomId === ROOM_A && !a.now)).toBe(true)
    // No tab posts: the leader's engine sends (a read frame, or POST without a socket).
    await vi.advanceTimersByTimeAsync(A_WHILE_MS)
    await settle()
    expect(posted).toEqual([])
  })

  it('asks too when this tab leads and its engine already counted the room as viewed (lastReadSeq moved locally)', async () => {
    await arrive([event(ROOM_A, 3, { authorId: BOB })], true)
    await until(async () => (await pendingOf()) === 3)
    expect(asked).toContainEqual({ roomId: ROOM_A, now: false })
  })

  it('does not count arrivals as read while the page is hidden, and marks them once it is visible again', async () => {
    visibility = 'hidden'
    await arrive([event(ROOM_A, 3, { authorId: BOB }), event(ROOM_A, 4, { authorId: BOB })])
    await settle()
    const db = await getDb()
    expect(asked).toEqual([])
    expect(await getCachedRoom(db, ROOM_A)).toMatchObject({ unreadCount: 2 })
    expect(await pendingOf()).toBeUndefined()

    visibility = 'visible'
    document.dispatchEvent(new Event('visibilitychange'))
    await until(async () => (await pendingOf()) === 4)
    expect((await getCachedRoom(db, ROOM_A))?.unreadCount).toBe(0)
    expect(asked).toContainEqual({ roomId: ROOM_A, now: false })
  })

  it('hiding the page or leaving the room asks the leader to send at once', async () => {
    await arrive([event(ROOM_A, 3, { authorId: BOB })])
    await until(async () => (await pendingOf()) === 3)
    asked = []
    visibility = 'hidden'
    document.dispatchEvent(new Event('visibilitychange'))
    expect(asked).toEqual([{ roomId: ROOM_A, now: true }])

    visibility = 'visible'
    asked = []
    navigate({ name: 'rooms' })
    expect(asked).toContainEqual({ roomId: ROOM_A, now: true })
  })

  it('needs no marker for the person’s own messages: they count as read already', async () => {
    await arrive([event(ROOM_A, 3, { authorId: ALICE, authorName: 'alice' })])
    await settle()
    expect(asked).toEqual([])
    expect(await pendingOf()).toBeUndefined()
    expect((await getCachedRoom(await getDb(), ROOM_A))?.unreadCount).toBe(0)
  })

  it('offline: keeps the highest seq read on the room row, and a room-list refresh does not undo it', async () => {
    online = false
    await arrive([event(ROOM_A, 3, { authorId: BOB })])
    await arrive([event(ROOM_A, 4, { authorId: BOB })])
    const db = await getDb()
    expect(await pendingOf()).toBe(4)

    // The server's list still has the old marker (it never heard): the read messages stay read here.
    await replaceRooms(db, [{ ...room, lastSeq: 4, unreadCount: 2, lastReadSeq: 2 }])
    expect(await getCachedRoom(db, ROOM_A)).toMatchObject({ lastReadSeq: 4, unreadCount: 0, readPending: 4 })
    // Once the server has it, a refresh that carries it changes nothing.
    await replaceRooms(db, [{ ...room, lastSeq: 4, unreadCount: 0, lastReadSeq: 4 }])
    expect(await getCachedRoom(db, ROOM_A)).toMatchObject({ lastReadSeq: 4, unreadCount: 0 })
    expect(posted).toEqual([])
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
    await vi.advanceTimersByTimeAsync(A_WHILE_MS)
    await settle()
    expect(asked).toEqual([])
    expect(await getCachedRoom(await getDb(), ROOM_A)).toMatchObject({ unreadCount: 38, lastReadSeq: 2 })

    // Arrivals while above the live end are not read, and count for "↓ N new".
    await arrive([event(ROOM_A, 41)])
    expect(timeline.value?.arrivals).toEqual({ firstSeq: 41, count: 1, upTo: 41 })

    // Scrolling down: each report moves the marker (the leader sends the furthest, at most once a second).
    markReadThrough(ROOM_A, 9)
    await settle()
    markReadThrough(ROOM_A, 15)
    await settle()
    expect(await getCachedRoom(await getDb(), ROOM_A)).toMatchObject({ lastReadSeq: 15, readPending: 15 })
    expect(asked.length).toBe(2)
    // Not at the end yet: the count is not zeroed (the server's answer gives the exact one).
    expect((await getCachedRoom(await getDb(), ROOM_A))?.unreadCount).toBeGreaterThan(0)

    // At the live end everything is read, and the "↓ N new" count ends; the divider stays where it was.
    setFollowing(true)
    await settle()
    expect(timeline.value?.arrivals).toBeNull()
    expect(timeline.value?.divider?.afterSeq).toBe(2)
    await until(async () => (await pendingOf()) === 41)
    expect((await getCachedRoom(await getDb(), ROOM_A))?.unreadCount).toBe(0)
  })

  it('the first unread older than the device holds: pages it in from the server, the held ranges stay true', async () => {
    await away(seqs(31, 40), true)
    const pages: string[] = []
    history = (url) => {
      const match = /^\/api\/rooms\/[^/]+\/messages\?before=(\d+)&limit=(\d+)$/.exec(url)
      if (!match) return null
      pages.push(url)
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
    expect(pages).toEqual([`/api/rooms/${ROOM_A}/messages?before=31&limit=50`])
    expect(timeline.value?.divider).toMatchObject({ afterSeq: 2, short: false })
    expect(timeline.value?.entries.map((e) => e.seq)).toEqual(seqs(1, 40).map((e) => e.seq))
    expect(timeline.value).toMatchObject({ hasOlder: false, hasNewer: false, following: false })
    // One gap-free range: the landing stored the page as any paging does.
    expect(await getCursor(await getDb(), ROOM_A)).toMatchObject({ ranges: [[1, 40]], lastSeq: 40, hasOlder: false })
    await vi.advanceTimersByTimeAsync(A_WHILE_MS)
    await settle()
    expect(asked).toEqual([])
  })

  it('offline with the first unread not on the device: lands at the oldest unread one held, and says so', async () => {
    await away(seqs(30, 40), true)
    await openRoom(ROOM_A)
    await until(() => timeline.value?.divider?.ready === true)
    expect(timeline.value?.divider).toMatchObject({ afterSeq: 2, count: 38, short: true })
    expect(timeline.value?.entries.map((e) => e.seq)).toEqual(seqs(30, 40).map((e) => e.seq))
    expect(timeline.value?.hasOlder).toBe(true)
    expect(timeline.value?.loadingOlder).toBe(false)
    await vi.advanceTimersByTimeAsync(A_WHILE_MS)
    await settle()
    expect(asked).toEqual([])
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
