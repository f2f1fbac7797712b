/**
 * Issue 12 item 2, jump to context: a room opened at a message far back in its history (a search
 * result, a link with `?at=`) lands on it even when the device holds only the live end. The page
 * around it comes from the server (`GET …/messages?around=`), is stored as an island (a separate
 * range: the resume cursor does not jump the hole), and the window then pages both ways: older
 * from the server where the device has a hole, newer toward the live end (the server until the
 * island reaches the live range, the device from there) until it joins it.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { getCursor, storeEvents } from '../../client/db/messages.ts'
import { getDb } from '../../client/db/page.ts'
import { clearUserData, replaceRooms } from '../../client/db/rooms.ts'
import { searchDevice } from '../../client/search/device.ts'
import { applyTabMessage } from '../../client/state/feed.ts'
import { loadNewer, loadOlder, revealMessage } from '../../client/state/room-view.ts'
import { jumpTarget, notice, rooms, route, status, timeline, user } from '../../client/state/store.ts'
import type { Message } from '../../shared/schemas.ts'
import { ALICE, event, FIXTURE_TIME, ROOM_A, roomFixture } from './support.ts'

const LAST = 1000
const seqs = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)
const shownSeqs = () => timeline.value?.entries.map((e) => e.seq) ?? []

/** The server's room: messages 1..LAST, every seq a message. */
function asMessage(seq: number): Message {
  const { roomId, clientId, authorId, authorName, body, createdAt } = event(ROOM_A, seq)
  return { roomId, seq, clientId: clientId!, authorId: authorId!, authorName: authorName!, body: body!, createdAt }
}

/** A fake server for history pages, by the contract of docs/API.md; every request is recorded. */
let requests: string[] = []
function historyServer(url: string): Response {
  requests.push(url)
  const [path, query = ''] = url.split('?')
  if (path !== `/api/rooms/${ROOM_A}/messages`) throw new Error(`unexpected request ${url}`)
  const params = new URLSearchParams(query)
  const limit = Number(params.get('limit') ?? 50)
  let page: number[]
  let body: { messages: Message[]; hasMore: boolean; hasNewer?: boolean }
  if (params.has('around')) {
    const around = Math.min(Number(params.get('around')), LAST)
    const atOrBelow = seqs(1, around).reverse()
    const above = seqs(around + 1, LAST)
    const newer = Math.min(above.length, limit - Math.min(atOrBelow.length, Math.ceil(limit / 2)))
    const older = Math.min(atOrBelow.length, limit - newer)
    page = [...above.slice(0, newer).reverse(), ...atOrBelow.slice(0, older)]
    body = { messages: page.map(asMessage), hasMore: atOrBelow.length > older, hasNewer: above.length > newer }
  } else {
    const before = Number(params.get('before') ?? LAST + 1)
    const below = seqs(1, before - 1).reverse()
    page = below.slice(0, limit)
    body = { messages: page.map(asMessage), hasMore: below.length > limit }
  }
  return new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } })
}

const online = (offline = false) => {
  status.value = { socket: offline ? 'idle' : 'open', retryAt: null, catchingUp: 0, offline }
}

/** The device holds the live end, [from, LAST], with its resume cursor at LAST, and shows its newest page. */
async function deviceHoldsLiveEnd(from: number) {
  const db = await getDb()
  await storeEvents(
    db,
    ROOM_A,
    seqs(from, LAST).map((seq) => event(ROOM_A, seq)),
  )
  // The socket's engine keeps the resume cursor at the live end.
  await db.put('cursors', { ...(await getCursor(db, ROOM_A)), lastSeq: LAST })
  timeline.value = {
    roomId: ROOM_A,
    entries: seqs(LAST - 49, LAST).map((seq) => event(ROOM_A, seq)),
    hasOlder: true,
    loadingOlder: false,
    hasNewer: false,
    following: true,
  }
}

beforeEach(async () => {
  const db = await getDb()
  await clearUserData(db)
  const room = roomFixture(ROOM_A, { lastSeq: LAST, lastReadSeq: LAST })
  await replaceRooms(db, [room])
  rooms.value = [room]
  user.value = { id: ALICE, username: 'alice', createdAt: new Date(FIXTURE_TIME).toISOString() }
  route.value = { name: 'room', roomId: ROOM_A, at: 300 }
  jumpTarget.value = null
  notice.value = null
  requests = []
  online()
  vi.stubGlobal('fetch', async (url: string) => historyServer(url))
})
afterEach(() => vi.unstubAllGlobals())

describe('opening a room at a message far back in history', () => {
  it('lands on it: the page around it from the server, highlighted, more on both sides', async () => {
    await deviceHoldsLiveEnd(951)
    await revealMessage(ROOM_A, 300)
    expect(jumpTarget.value).toMatchObject({ roomId: ROOM_A, seq: 300 })
    expect(shownSeqs()).toEqual(seqs(251, 350))
    expect(timeline.value).toMatchObject({ hasOlder: true, hasNewer: true, following: false })
    expect(requests).toEqual([`/api/rooms/${ROOM_A}/messages?around=300&limit=100`])
    expect(notice.value).toBeNull()
  })

  it('lands on it when nothing of the room is on the device yet', async () => {
    timeline.value = {
      roomId: ROOM_A,
      entries: [],
      hasOlder: true,
      loadingOlder: false,
      hasNewer: false,
      following: true,
    }
    await revealMessage(ROOM_A, 300)
    expect(jumpTarget.value).toMatchObject({ seq: 300 })
    expect(shownSeqs()).toEqual(seqs(251, 350))
    const cursor = await getCursor(await getDb(), ROOM_A)
    expect(cursor.ranges).toEqual([[251, 350]])
    expect(cursor.lastSeq).toBe(0)
  })

  it('lands on it when the room row is not known yet either (a cold start at a link)', async () => {
    rooms.value = []
    timeline.value = {
      roomId: ROOM_A,
      entries: [],
      hasOlder: true,
      loadingOlder: false,
      hasNewer: false,
      following: true,
    }
    await revealMessage(ROOM_A, 300)
    expect(jumpTarget.value).toMatchObject({ seq: 300 })
    expect(shownSeqs()).toEqual(seqs(251, 350))
  })

  it('newer than anything the server has: not landed on an unrelated page, awaited instead', async () => {
    rooms.value = []
    timeline.value = {
      roomId: ROOM_A,
      entries: [],
      hasOlder: true,
      loadingOlder: false,
      hasNewer: false,
      following: true,
    }
    route.value = { name: 'room', roomId: ROOM_A, at: LAST + 5 }
    await revealMessage(ROOM_A, LAST + 5)
    expect(jumpTarget.value).toBeNull()
    expect(shownSeqs()).toEqual([])
    expect(notice.value).toBeNull()
  })

  it('stores the page as an island: a separate range, the resume cursor untouched, hasOlder kept', async () => {
    await deviceHoldsLiveEnd(951)
    await revealMessage(ROOM_A, 300)
    const cursor = await getCursor(await getDb(), ROOM_A)
    expect(cursor.ranges).toEqual([
      [251, 350],
      [951, LAST],
    ])
    expect(cursor.lastSeq).toBe(LAST)
    expect(cursor.hasOlder).toBe(true)
    // Stored through storeEvents: the device's search index has the island's messages too.
    expect((await searchDevice('"message 300"')).map((hit) => hit.seq)).toEqual([300])
  })

  it('near the room’s first message: the page says nothing older, and the device’s cursor still does', async () => {
    await deviceHoldsLiveEnd(951)
    await revealMessage(ROOM_A, 10)
    expect(shownSeqs()).toEqual(seqs(1, 100))
    expect(timeline.value).toMatchObject({ hasOlder: false, hasNewer: true })
    expect((await getCursor(await getDb(), ROOM_A)).hasOlder).toBe(true)
  })

  it('scrolling down fills the hole from the server, then the device serves the live range, until the window joins the live end', async () => {
    await deviceHoldsLiveEnd(951)
    await revealMessage(ROOM_A, 300)
    requests = []
    for (let i = 0; i < 40 && timeline.value?.hasNewer; i++) await loadNewer()
    expect(timeline.value?.hasNewer).toBe(false)
    const shown = shownSeqs()
    expect(shown.at(-1)).toBe(LAST)
    // No hole anywhere in the window.
    expect(shown).toEqual(seqs(shown[0]!, LAST))
    // The server only for what the device did not hold: nothing at or past the live range's start.
    const asked = requests.map((url) => Number(new URL(url, 'http://x').searchParams.get('around')))
    expect(asked.length).toBeGreaterThan(0)
    expect(asked.every((around) => around > 350 && around <= 951)).toBe(true)
    const cursor = await getCursor(await getDb(), ROOM_A)
    expect(cursor.ranges).toEqual([[251, LAST]])
    expect(cursor.lastSeq).toBe(LAST)
  })

  it('scrolling up loads older from the server where the device has a hole', async () => {
    await deviceHoldsLiveEnd(951)
    await revealMessage(ROOM_A, 300)
    requests = []
    await loadOlder()
    expect(requests).toEqual([`/api/rooms/${ROOM_A}/messages?before=251&limit=50`])
    expect(shownSeqs()).toEqual(seqs(201, 350))
    expect((await getCursor(await getDb(), ROOM_A)).ranges).toEqual([
      [201, 350],
      [951, LAST],
    ])
  })

  it('a live message that arrives meanwhile is not appended across the hole', async () => {
    await deviceHoldsLiveEnd(951)
    await revealMessage(ROOM_A, 300)
    applyTabMessage(await getDb(), { type: 'events', roomId: ROOM_A, events: [event(ROOM_A, LAST + 1)] })
    expect(shownSeqs()).toEqual(seqs(251, 350))
  })

  it('a message the device holds far back is shown from the device, without asking the server', async () => {
    const db = await getDb()
    await storeEvents(
      db,
      ROOM_A,
      seqs(201, 400).map((seq) => event(ROOM_A, seq)),
    )
    await deviceHoldsLiveEnd(951)
    await revealMessage(ROOM_A, 300)
    expect(jumpTarget.value).toMatchObject({ seq: 300 })
    expect(shownSeqs()).toContain(300)
    expect(shownSeqs().every((seq) => seq >= 201 && seq <= 400)).toBe(true)
    expect(timeline.value?.hasNewer).toBe(true)
    expect(requests).toEqual([])
    // Down to the island's end from the device, then the server for the hole above it.
    for (let i = 0; i < 10 && (timeline.value?.entries.at(-1)?.seq ?? 0) < 400; i++) await loadNewer()
    expect(requests).toEqual([])
    await loadNewer()
    expect(requests).toEqual([`/api/rooms/${ROOM_A}/messages?around=401&limit=100`])
    // The page around 401: its newer half, 402..451, after the island.
    expect(shownSeqs()).toEqual(seqs(shownSeqs()[0]!, 451))
  })

  it('a held message from before a reset (maybe missing what it skipped) takes the server’s page when online', async () => {
    const db = await getDb()
    await storeEvents(
      db,
      ROOM_A,
      seqs(201, 400).map((seq) => event(ROOM_A, seq)),
    )
    await deviceHoldsLiveEnd(951)
    await db.put('cursors', { ...(await getCursor(db, ROOM_A)), resetTo: 950 })
    await revealMessage(ROOM_A, 300)
    expect(requests).toEqual([`/api/rooms/${ROOM_A}/messages?around=300&limit=100`])
    expect(jumpTarget.value).toMatchObject({ seq: 300 })
    expect(shownSeqs()).toEqual(seqs(251, 350))

    // The link drops on the way: the device's copy stands in, no notice.
    jumpTarget.value = null
    await deviceHoldsLiveEnd(951)
    vi.stubGlobal('fetch', async () => {
      throw new TypeError('Failed to fetch')
    })
    await db.put('cursors', { ...(await getCursor(db, ROOM_A)), resetTo: 950 })
    await revealMessage(ROOM_A, 380)
    expect(jumpTarget.value).toMatchObject({ seq: 380 })
    expect(shownSeqs()).toContain(380)
    expect(notice.value).toBeNull()
  })

  it('offline with the message not on the device: the honest notice, nothing asked, the window kept', async () => {
    online(true)
    vi.stubGlobal('fetch', async () => {
      throw new TypeError('Failed to fetch')
    })
    await deviceHoldsLiveEnd(951)
    await revealMessage(ROOM_A, 300)
    expect(notice.value).toBe('That message is not on this device yet: it shows here once Ferry is back online.')
    expect(jumpTarget.value).toBeNull()
    expect(shownSeqs()).toEqual(seqs(951, LAST))
  })
})
