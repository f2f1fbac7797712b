/** The open room: shown from the cache at once, filled in from the server, paged both ways. */
import { effect, untracked } from '@preact/signals'
import type { HistoryResponse, RoomResponse } from '../../shared/api.ts'
import type { RoomEvent } from '../../shared/schemas.ts'
import { SEARCH_LIMITS } from '../../shared/search/contract.ts'
import { ApiError, api, isTransient } from '../api/http.ts'
import { entriesAfter, getCursor, isStale, newestEntries, setHasOlder, storeEvents } from '../db/messages.ts'
import { getDb } from '../db/page.ts'
import { putRoom } from '../db/rooms.ts'
import type { RoomCursor } from '../db/schema.ts'
import { entryFromMessage } from '../log/entry.ts'
import { holds, rangeOf } from '../sync/ranges.ts'
import { publish } from '../tabs/bus.ts'
import { setRoomLoading, TIMELINE_PAGE } from './feed.ts'
import { loadMembers } from './members.ts'
import { currentRoomId } from './navigation.ts'
import { say, warn, warnAndSay } from './notify.ts'
import { markSeen, seenInOpenRoom } from './reading.ts'
import { boundWindow, mergeEntries } from './reducers.ts'
import { jumpTarget, markMissing, roomLoading, rooms, route, showVisiting, status, timeline } from './store.ts'
import { type Divider, dividerAtOpen, landingSize, reachesFirstUnread } from './unread.ts'

/**
 * Shows the cached history at once, then fills in from the server. `at`: open at that message (a
 * notification's) rather than at the first unread one.
 */
export async function openRoom(roomId: string, at?: number): Promise<void> {
  const db = await getDb()
  // Unread messages: the divider is fixed now, and the cache is read down to the first unread one.
  const room = rooms.value.find((r) => r.id === roomId)
  const divider = at === undefined ? dividerAtOpen(room) : null
  const size = landingSize(room?.lastSeq ?? 0, divider, TIMELINE_PAGE)
  const [entries, cursor] = await Promise.all([newestEntries(db, roomId, size), getCursor(db, roomId)])
  if (currentRoomId() !== roomId) return
  showTimeline(roomId, entries, cursor, divider)
  await Promise.all([afterRoomShown(roomId, entries.length), at === undefined ? null : revealMessage(roomId, at)])
}

let jumps = 0

/** The wait for a message the room was opened at that is not here yet (awaitArrival); one at a time. */
let stopAwaiting: () => void = () => undefined

/**
 * Opened at a message (a notification's): it is brought into the window (older pages from the
 * cache, else the server, as for a reply's original) and MessageList lands on it. Newer than what
 * is here (the tap beat the socket's delivery of it, or the room's first page is on its way): it
 * is landed on when it arrives. Not on the device and no server: the room shows what it has and
 * says so. Never rejects.
 */
export async function revealMessage(roomId: string, seq: number): Promise<void> {
  // A later open (or another message) supersedes what an earlier one waited for.
  stopAwaiting()
  const far = await jumpFarBack(roomId, seq)
  if (currentRoomId() !== roomId || far === 'failed') return
  if (far === 'landed') return landOn(roomId, seq)
  if (far === 'absent') {
    say(null, 'That message is not on this device yet: it shows here once Ferry is back online.')
    return
  }
  const found = await loadThrough(roomId, seq)
  if (currentRoomId() !== roomId) return
  if (found) return landOn(roomId, seq)
  const shown = timeline.value
  const oldest = shown?.roomId === roomId ? shown.entries[0]?.seq : undefined
  if (oldest === undefined || oldest < seq) {
    awaitArrival(roomId, seq)
    // Online it is on its way: nothing to say. Offline it comes when the link does, and then lands.
    if (!status.peek().offline) return
  }
  say(null, 'That message is not on this device yet: it shows here once Ferry is back online.')
}

/** Messages asked for around a message far back (`GET …/messages?around=`): the message, half older, half newer. */
const AROUND_LIMIT = 2 * SEARCH_LIMITS.aroundMax

/**
 * A message further back than a page above the window (or the window is empty and the message is
 * one the room has): the window is replaced by an island around it, from the device when it holds
 * the message, else the server's page around it, stored through storeEvents like any history page
 * (a separate range: the resume cursor does not move over the hole; the cursor's `hasOlder` is the
 * live range's and is left alone). Newer pages then come by loadNewer (`island`), older by
 * loadOlder. `near`: not far back, the usual paging (loadThrough) reaches it; `absent`: not on the
 * device and no server; `failed`: the server refused, said. Never rejects.
 */
async function jumpFarBack(roomId: string, seq: number): Promise<'landed' | 'near' | 'absent' | 'failed'> {
  const current = timeline.value
  if (current?.roomId !== roomId || current.entries.some((e) => e.seq === seq)) return 'near'
  const oldest = current.entries[0]?.seq
  const row = rooms.value.find((r) => r.id === roomId)
  const roomLast = row?.lastSeq ?? 0
  // Nothing shown and newer than the room's last as known: on its way (awaited), not far back.
  if (oldest === undefined ? row !== undefined && seq > roomLast : oldest - seq <= TIMELINE_PAGE) return 'near'
  try {
    const db = await getDb()
    const cursor = await getCursor(db, roomId)
    const held = rangeOf(cursor.ranges, seq)
    let entries: RoomEvent[] = []
    let hasOlder = true
    let hasNewer = true
    if (held) {
      // The device's neighbours within the range that holds it: past the range's ends may be a hole.
      const half = AROUND_LIMIT / 2
      const older = await newestEntries(db, roomId, half, seq + 1)
      const newer = await entriesAfter(db, roomId, seq, half - 1)
      entries = [...older.filter((e) => e.seq >= held[0]), ...newer.filter((e) => e.seq <= held[1])]
    }
    // Held from before a reset, they may lack what it skipped: online, the server's page brings their state.
    const stale = entries.some((e) => isStale(e, cursor))
    if (!held || (stale && !status.peek().offline)) {
      if (status.peek().offline) return 'absent'
      const res = await api<HistoryResponse>(
        'GET',
        `/api/rooms/${roomId}/messages?around=${seq}&limit=${AROUND_LIMIT}`,
      ).catch((error: unknown) => {
        // A link that drops while the device holds it (stale maybe): what the device has stands in.
        if (held && isTransient(error)) return null
        throw error
      })
      if (res) {
        if (res.messages.length === 0) return 'near'
        await storeEvents(db, roomId, res.messages.map(entryFromMessage))
        const top = Math.max(...res.messages.map((m) => m.seq))
        // Newer than anything the server has (the room row was unknown or stale): awaited as it comes.
        if (res.hasNewer === false && top < seq) return 'near'
        const bottom = Math.min(...res.messages.map((m) => m.seq))
        // Read back as stored: with the amendments the device holds, deletions applied.
        entries = (await entriesAfter(db, roomId, bottom - 1, top - bottom + 1)).filter((e) => e.seq <= top)
        hasOlder = res.hasMore
        // The server's newest message: anything newer on the device came live since, and follows on.
        hasNewer = res.hasNewer !== false || (await entriesAfter(db, roomId, top, 1)).length > 0
      }
    }
    const joined = reachesLive(await getCursor(db, roomId), entries.at(-1)?.seq ?? 0)
    if (currentRoomId() !== roomId || timeline.value?.roomId !== roomId) return 'failed'
    timeline.value = {
      roomId,
      entries,
      hasOlder: hasOlder && (entries[0]?.seq ?? 2) > 1,
      loadingOlder: false,
      hasNewer,
      island: hasNewer && !joined,
      following: !hasNewer,
      divider: null,
      newSince: hasNewer ? Math.max(roomLast, entries.at(-1)?.seq ?? 0) : null,
      arrivals: null,
    }
    return 'landed'
  } catch (error) {
    // Offline after all (a flaky link): the honest notice, as with nothing on the device.
    if (isTransient(error)) return 'absent'
    warnAndSay('loading the message', 'Could not load that message.')(error)
    return 'failed'
  }
}

/** The device holds everything from `seq` to the resume cursor (the live range): its newer entries need no server. */
function reachesLive(cursor: RoomCursor, seq: number): boolean {
  const live = rangeOf(cursor.ranges, cursor.lastSeq)
  return live !== null && cursor.lastSeq > 0 && seq + 1 >= live[0]
}

function landOn(roomId: string, seq: number): void {
  jumps += 1
  jumpTarget.value = { roomId, seq, id: jumps }
}

/**
 * Lands on `seq` once the open room's window holds it (the tab bus's `events`, a gap fill, the
 * first page); given up when the person opens another room, or this one other than at that
 * message, or another reveal starts. Event-driven, no deadline: a slow link still lands.
 */
function awaitArrival(roomId: string, seq: number): void {
  // Two reveals of one open may both get here (the start's and the sign-in's): one wait.
  stopAwaiting()
  let done = false
  const stop = effect(() => {
    if (done) return
    const open = route.value
    const current = timeline.value
    // Another room, or this one opened again without that message (from the list): not awaited any more.
    if (open.name !== 'room' || open.roomId !== roomId || open.at !== seq) done = true
    else if (current?.roomId === roomId && current.entries.some((e) => e.seq === seq)) {
      done = true
      untracked(() => landOn(roomId, seq))
    }
    // The effect cannot dispose itself while it runs.
    if (done) queueMicrotask(() => stop())
  })
  stopAwaiting = () => {
    done = true
    stop()
  }
}

export function showTimeline(roomId: string, entries: RoomEvent[], cursor: RoomCursor, divider: Divider | null): void {
  const hasOlder = cursor.hasOlder && (entries[0]?.seq ?? 2) > 1
  const lastSeq = Math.max(entries.at(-1)?.seq ?? 0, rooms.value.find((r) => r.id === roomId)?.lastSeq ?? 0)
  timeline.value = {
    roomId,
    entries,
    hasOlder,
    loadingOlder: false,
    hasNewer: false,
    // Landing above the live end: nothing counts as read until the person scrolls to it (MessageList reports).
    following: divider === null,
    divider: divider && { ...divider, ready: entries.length > 0 && reachesFirstUnread(entries, hasOlder, divider) },
    newSince: divider ? lastSeq : null,
    arrivals: null,
  }
}

/** Pages of older history the landing may load to reach the first unread message (the window's bound caps it too). */
const LANDING_PAGES = 12

/**
 * Brings the first unread message into the window (older pages from the cache or the server),
 * then lets the screen land at the divider. Offline with the first unread not on the device, the
 * oldest unread one held stands in and the divider says so. Never rejects.
 */
async function reachFirstUnread(roomId: string): Promise<void> {
  for (let i = 0; i < LANDING_PAGES; i += 1) {
    const current = timeline.value
    const divider = current?.roomId === roomId ? current.divider : null
    if (!current || !divider || divider.ready) return
    if (reachesFirstUnread(current.entries, current.hasOlder, divider)) break
    const before = current.entries[0]?.seq
    await loadOlder()
    const after = timeline.value
    // No progress (offline, refused) or the window is full: land at what is here.
    if (after?.roomId !== roomId || after.entries[0]?.seq === before || after.hasNewer) break
  }
  const now = timeline.value
  const divider = now?.roomId === roomId ? now.divider : null
  if (!now || !divider || divider.ready) return
  const short = now.entries.length > 0 && !reachesFirstUnread(now.entries, now.hasOlder, divider)
  timeline.value = { ...now, divider: { ...divider, ready: true, short } }
}

/**
 * After the cached history is on screen: learn about an unknown room, fill an empty one from the
 * server's latest page, mark read. With nothing on screen the room counts as loading (the status
 * is not "Up to date") until that page is stored, or known not to come (offline, refused, empty).
 */
export async function afterRoomShown(roomId: string, shown: number): Promise<void> {
  if (shown > 0) {
    if (roomLoading.peek() !== null) setRoomLoading(null)
    return roomShown(roomId, shown)
  }
  setRoomLoading(roomId)
  try {
    await roomShown(roomId, shown)
  } finally {
    if (roomLoading.peek() === roomId) setRoomLoading(null)
  }
}

async function roomShown(roomId: string, shown: number): Promise<void> {
  const db = await getDb()
  let room = rooms.value.find((r) => r.id === roomId)
  if (!room) {
    // A link to a room we have not seen (e.g. shared by someone): ask the server about it.
    try {
      room = (await api<RoomResponse>('GET', `/api/rooms/${roomId}`)).room
      showVisiting(room)
      await putRoom(db, room)
      publish({ type: 'rooms-changed' })
    } catch (error) {
      // No such room (or private to others): the screen says "Room not found"; there is no page,
      // no member list and nothing to mark read, so nothing more is asked of the server.
      if (error instanceof ApiError && error.status === 404) return markMissing(roomId)
      say(error, 'Could not open that room.')
    }
  }
  // Nothing cached: the latest page from the server. A room we follow and know to be empty needs
  // none (its subscription brings what comes); any other row's lastSeq may be stale, e.g. a public
  // room listed when it was new and not followed since.
  const knownEmpty = room !== undefined && room.role !== null && room.lastSeq === 0
  const firstPage = shown === 0 && !knownEmpty ? loadLatest(roomId) : Promise.resolve()
  // With nothing unread, opening the room reads it: marked at once, posted without waiting for more.
  // With unread messages the person lands at the first of them, and reads as they scroll (markReadThrough).
  const divider = timeline.value?.roomId === roomId ? timeline.value.divider : null
  if (room && room.role !== null && !divider) await markSeen(roomId, room.lastSeq, true)
  const paged = firstPage.then(async () => {
    if (roomLoading.peek() === roomId) setRoomLoading(null)
    await reachFirstUnread(roomId)
  })
  await Promise.all([paged, loadMembers(roomId)])
}

/** The newest page into a window that holds nothing of the room yet. Never rejects. */
function loadLatest(roomId: string): Promise<void> {
  const current = timeline.value
  if (current?.roomId !== roomId || current.entries.length > 0) return Promise.resolve()
  // The cursor's "nothing older" says nothing about what came after it: ask anyway.
  if (!current.hasOlder) timeline.value = { ...current, hasOlder: true }
  return loadOlder()
}

/** The load of older history under way, so a second caller can wait for it instead of starting one. */
let olderLoad: Promise<void> = Promise.resolve()

/** Older history: from the cache when it holds the seqs just before, else from the server. Never rejects. */
export function loadOlder(): Promise<void> {
  const current = timeline.value
  if (!current?.hasOlder) return Promise.resolve()
  if (current.loadingOlder) return olderLoad
  const { roomId } = current
  timeline.value = { ...current, loadingOlder: true }
  olderLoad = loadOlderInto(roomId, current.entries[0]?.seq ?? Number.MAX_SAFE_INTEGER).catch((error: unknown) => {
    warnAndSay('loading older messages', 'Could not load older messages.')(error)
    const now = timeline.value
    if (now?.roomId === roomId && now.loadingOlder) timeline.value = { ...now, loadingOlder: false }
  })
  return olderLoad
}

async function loadOlderInto(roomId: string, oldest: number): Promise<void> {
  const db = await getDb()
  const page = 50
  let older = await newestEntries(db, roomId, page, oldest)
  const cursor = await getCursor(db, roomId)
  const contiguous = older.length === page || (older.length > 0 && older[0]!.seq === 1)
  let hasOlder = (older[0]?.seq ?? oldest) > 1 && cursor.hasOlder
  // Messages held from before a reset may lack what the reset skipped: the server's page brings their state.
  const stale = older.some((e) => isStale(e, cursor))
  if (!contiguous || stale || (oldest !== Number.MAX_SAFE_INTEGER && !holds(cursor.ranges, oldest - 1))) {
    try {
      const before = oldest === Number.MAX_SAFE_INTEGER ? '' : `before=${oldest}&`
      const res = await api<HistoryResponse>('GET', `/api/rooms/${roomId}/messages?${before}limit=${page}`)
      await storeEvents(db, roomId, res.messages.map(entryFromMessage))
      if (!res.hasMore) await setHasOlder(db, roomId, false)
      hasOlder = res.hasMore
      older = await newestEntries(db, roomId, page, oldest)
    } catch (error) {
      // Offline (the expected path on a flaky link): show what the cache has; scrolling again retries.
      if (!isTransient(error))
        warnAndSay('loading older messages from the server', 'Could not load older messages.')(error)
    }
  }
  const now = timeline.value
  if (now?.roomId !== roomId) return
  // The window was replaced meanwhile (a jump far back): this page belongs to the one before.
  if ((now.entries[0]?.seq ?? Number.MAX_SAFE_INTEGER) !== oldest) {
    if (now.loadingOlder) timeline.value = { ...now, loadingOlder: false }
    return
  }
  // The person is at the top: a window grown past its bound loses its newest end (paged in again on scroll).
  timeline.value = boundWindow(
    { ...now, entries: mergeEntries(now.entries, older), hasOlder, loadingOlder: false },
    'oldest',
  )
}

/** Pages of older history loadThrough may load to reach a reply's original (as for the first unread). */
const REVEAL_PAGES = 12

/**
 * Brings `seq` into the open room's window for a reply's quote (issue 9: "tapping it scrolls to
 * the original, loading it from cache or server if needed"): older pages, as scrolling up loads
 * them, until the original is in, at most REVEAL_PAGES. False when it cannot be reached (not in the
 * cache and no server, or further back than the bound); the screen says so. Never rejects.
 */
export async function loadThrough(roomId: string, seq: number): Promise<boolean> {
  for (let page = 0; ; page++) {
    const current = timeline.value
    if (current?.roomId !== roomId) return false
    if (current.entries.some((e) => e.seq === seq)) return true
    const oldest = current.entries[0]?.seq
    if (oldest === undefined || oldest < seq || !current.hasOlder || page >= REVEAL_PAGES) return false
    await loadOlder()
    // No progress (offline with nothing cached, or a refusal): stop rather than ask again.
    if (timeline.value?.roomId === roomId && timeline.value.entries[0]?.seq === oldest) return false
  }
}

let loadingNewer = false

/**
 * Newer history into a window that stopped short of the live end (the person scrolls back down).
 * An island (a jump far back) pages from the device where it holds the next seq, else from the
 * server (`around=` the next seq: its newer half), until it reaches the live range. Never rejects.
 */
export async function loadNewer(): Promise<void> {
  const current = timeline.value
  if (!current?.hasNewer || loadingNewer) return
  loadingNewer = true
  try {
    const { roomId } = current
    const last = current.entries.at(-1)?.seq ?? 0
    const next = current.island ? await islandNewer(roomId, last) : await deviceNewer(roomId, last)
    if (!next) return
    const now = timeline.value
    if (now?.roomId !== roomId || !now.hasNewer || (now.entries.at(-1)?.seq ?? 0) !== last) return
    timeline.value = boundWindow(
      { ...now, entries: mergeEntries(now.entries, next.entries), hasNewer: next.hasNewer, island: next.island },
      'newest',
    )
  } catch (error) {
    if (!isTransient(error)) warnAndSay('loading newer messages', 'Could not load newer messages.')(error)
  } finally {
    loadingNewer = false
  }
}

interface NewerPage {
  entries: RoomEvent[]
  hasNewer: boolean
  island: boolean
}

/** The next page from the device (it holds everything up to the live end after the window). */
async function deviceNewer(roomId: string, last: number): Promise<NewerPage> {
  const entries = await entriesAfter(await getDb(), roomId, last, TIMELINE_PAGE)
  return { entries, hasNewer: entries.length === TIMELINE_PAGE, island: false }
}

/** The next page after an island's end: the device's while it holds the next seq, else the server's. */
async function islandNewer(roomId: string, last: number): Promise<NewerPage | null> {
  const db = await getDb()
  const cursor = await getCursor(db, roomId)
  const held = rangeOf(cursor.ranges, last + 1)
  if (held) {
    if (reachesLive(cursor, last)) return deviceNewer(roomId, last)
    // Held up to the range's end; past it a hole (the server's part next time).
    const entries = (await entriesAfter(db, roomId, last, TIMELINE_PAGE)).filter((e) => e.seq <= held[1])
    return { entries, hasNewer: true, island: true }
  }
  if (status.peek().offline) return null
  const res = await api<HistoryResponse>(
    'GET',
    `/api/rooms/${roomId}/messages?around=${last + 1}&limit=${AROUND_LIMIT}`,
  )
  await storeEvents(db, roomId, res.messages.map(entryFromMessage))
  const top = Math.max(last, ...res.messages.map((m) => m.seq))
  const entries = (await entriesAfter(db, roomId, last, top - last)).filter((e) => e.seq <= top)
  if (res.hasNewer !== false) return { entries, hasNewer: true, island: !reachesLive(await getCursor(db, roomId), top) }
  // The server's newest message: what the device holds beyond it came live since.
  const beyond = await entriesAfter(db, roomId, top, TIMELINE_PAGE)
  return { entries: [...entries, ...beyond], hasNewer: beyond.length === TIMELINE_PAGE, island: false }
}

/**
 * MessageList tells whether the person is at the live end; only a change is written. Reaching it
 * reads everything there (and ends the "↓ N new" count); leaving it starts that count.
 */
export function setFollowing(following: boolean): void {
  const current = timeline.value
  if (!current) return
  const value = following && !current.hasNewer
  if (current.following === value) return
  const newSince = value ? null : (current.newSince ?? current.entries.at(-1)?.seq ?? 0)
  timeline.value = { ...current, following: value, newSince, arrivals: value ? null : (current.arrivals ?? null) }
  const seen = value ? seenInOpenRoom(current.roomId) : null
  if (seen !== null) void markSeen(current.roomId, seen).catch(warn('marking read'))
}

/**
 * "↓ N new" or one's own message sent from further up: the window goes back to the live end
 * (the newest page from the cache when it stops short of it); MessageList scrolls. Never rejects.
 */
export async function jumpToNewest(): Promise<void> {
  const current = timeline.value
  if (!current?.hasNewer) return
  try {
    const entries = await newestEntries(await getDb(), current.roomId, TIMELINE_PAGE)
    const now = timeline.value
    if (now?.roomId !== current.roomId || !now.hasNewer) return
    timeline.value = { ...now, entries, hasOlder: (entries[0]?.seq ?? 2) > 1, hasNewer: false, island: false }
  } catch (error) {
    warnAndSay('loading the newest messages', 'Could not load the newest messages.')(error)
  }
}
