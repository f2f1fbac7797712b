/** What the person can do. Each action writes IndexedDB first, then tells every tab. */
import { batch } from '@preact/signals'
import type { HistoryResponse, MembersResponse, RoomResponse, RoomsResponse, UserResponse } from '../../shared/api.ts'
import type { RoomEvent, Visibility } from '../../shared/schemas.ts'
import { ApiError, api, isTransient } from '../api/http.ts'
import { readFirstScreen } from '../db/first-screen.ts'
import { entriesAfter, getCursor, isStale, newestEntries, setHasOlder, storeEvents } from '../db/messages.ts'
import { getDb } from '../db/page.ts'
import {
  clearUserData,
  expireSession,
  type HeldWork,
  markSeenLocally,
  putRoom,
  replaceRooms,
  setSessionUser,
} from '../db/rooms.ts'
import type { RoomCursor } from '../db/schema.ts'
import { readSnapshot, type Snapshot } from '../db/snapshot.ts'
import { entryFromMessage } from '../log/entry.ts'
import { requestPersistence } from '../pwa/persist.ts'
import type { SyncEngine } from '../sync/engine.ts'
import { holds } from '../sync/ranges.ts'
import { onTabMessage, publish, tellOthers } from '../tabs/bus.ts'
import { electLeader } from '../tabs/leader.ts'
import { afterNextPaint } from './after-paint.ts'
import { reloadOutbox, reloadRooms, setRoomLoading, startFeed, TIMELINE_PAGE } from './feed.ts'
import { boundWindow, discardQuestion, mergeEntries, sortRooms } from './reducers.ts'
import {
  heldFor,
  markMissing,
  members,
  notice,
  outbox,
  type Route,
  roomLoading,
  rooms,
  route,
  timeline,
  user,
  visiting,
} from './store.ts'
import { type Divider, dividerAtOpen, landingSize, reachesFirstUnread } from './unread.ts'

let stopLeading: (() => void) | null = null

/**
 * Error rules here (issue 7 item 18): exported actions do not reject, so screens may fire and
 * forget them. A failure the person should know about goes to `notice` (or the form it came
 * from); one they need not act on goes to the console with what was being done; no answer from
 * the server (offline, timed out, busy) stays quiet where working from the cache is the expected path.
 */
function warn(what: string): (error: unknown) => void {
  return (error) => console.warn(`[ferry] ${what} failed`, error)
}

/** For a failure the person should know about: the console with context, and a notice. */
function warnAndSay(what: string, text: string): (error: unknown) => void {
  return (error) => {
    console.warn(`[ferry] ${what} failed`, error)
    notice.value = text
  }
}

function say(error: unknown, fallback: string): void {
  notice.value = error instanceof ApiError ? error.message : fallback
}

/** Paints from IndexedDB, then asks the server who we are. */
export async function boot(): Promise<void> {
  // Marks for the cold-start breakdown (bench/client.ts); free otherwise.
  performance.mark('ferry:boot')
  const db = await getDb()
  performance.mark('ferry:db-open')
  startFeed(db)
  startReadMarkers()
  onTabMessage((message) => {
    // Another tab signed out, or found the session over: this tab's socket (if it leads) stops too.
    if (message.type === 'signed-out' || message.type === 'session-ended') endSession()
  })
  const roomId = currentRoomId()
  // The precomputed record first (one get, db/first-screen.ts): painted at once, then replaced by the stores' own read.
  const early = await readFirstScreen(db, roomId).catch((error: unknown) => {
    console.warn('[ferry] reading the saved first screen failed; reading the stores', error)
    return null
  })
  if (early) {
    paintCached(early, roomId, null)
    performance.mark('ferry:first-screen')
  }
  const snapshot = await readSnapshot(db, roomId, TIMELINE_PAGE)
  performance.mark('ferry:snapshot')
  // Only a session not known to be over paints (an ended one left nothing to paint, see expireSession).
  const cached = snapshot.user
  if (cached) {
    paintCached(snapshot, roomId, early)
    // What follows (marking read, asking the server, loading its answer checks) cannot change this paint: it waits for it.
    await afterNextPaint()
    if (roomId) void afterRoomShown(roomId, snapshot.room?.entries.length ?? 0).catch(warn('showing the room'))
  } else {
    // Signed out by another tab between the two reads: nothing of what the record showed stays.
    if (early) {
      batch(() => {
        user.value = undefined
        rooms.value = []
        outbox.value = []
        timeline.value = null
      })
    }
    heldFor.value = snapshot.held
  }
  try {
    const me = await api<UserResponse>('GET', '/api/auth/me')
    await signedIn(me.user)
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      await sessionExpired()
      return
    }
    // Offline (or server down) is the expected path here: keep showing what we hold, keep trying in the background.
    if (!isTransient(error)) console.warn('could not learn who is signed in; showing the cached screen', error)
    if (cached) startSession()
    else user.value = null
  }
}

/**
 * Shows a first screen read from IndexedDB, all at once (one batch of signal writes). `painted` is
 * what the saved record already showed: an open room showing the same entries and divider is left
 * as it is (no second landing); anything else replaces it.
 */
function paintCached(snapshot: Snapshot, roomId: string | null, painted: Snapshot | null): void {
  batch(() => {
    // What the record showed already is left alone: no second render of an unchanged screen.
    if (!painted || !sameData(painted.user, snapshot.user)) user.value = snapshot.user
    const sorted = sortRooms(snapshot.rooms)
    if (!painted || !sameData(rooms.peek(), sorted)) rooms.value = sorted
    if (!painted || !sameData(painted.outbox, snapshot.outbox)) outbox.value = snapshot.outbox
    if (roomId && snapshot.room) {
      const room = snapshot.rooms.find((r) => r.id === roomId)
      const divider = dividerAtOpen(room)
      const shown = timeline.peek()
      const same =
        painted?.room &&
        shown?.roomId === roomId &&
        sameSeqs(shown.entries, snapshot.room.entries) &&
        shown.hasOlder === (snapshot.room.cursor.hasOlder && (snapshot.room.entries[0]?.seq ?? 2) > 1) &&
        shown.divider?.afterSeq === divider?.afterSeq &&
        shown.divider?.count === divider?.count
      if (!same) showTimeline(roomId, snapshot.room.entries, snapshot.room.cursor, divider)
    }
  })
}

/** Two copies of IndexedDB rows hold the same data (both are structured clones: plain data, same key order). */
function sameData(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b)
}

/** The same log entries (a seq names one entry for good: the log is append-only). */
function sameSeqs(a: readonly RoomEvent[], b: readonly RoomEvent[]): boolean {
  return a.length === b.length && a.every((entry, i) => entry.seq === b[i]?.seq)
}

/**
 * The server says the session is over (401 at start, or the socket's "session ended"): nothing of
 * the server's data paints again (wiped at once), what the person wrote stays for them alone.
 */
async function sessionExpired(): Promise<void> {
  endSession()
  const db = await getDb()
  let held: HeldWork | null = null
  try {
    held = await expireSession(db)
  } catch (error) {
    // The screen below still shows nothing of the session; the wipe is tried again at the next start's 401.
    console.warn('[ferry] wiping the ended session’s data failed', error)
  }
  batch(() => {
    user.value = null
    rooms.value = []
    timeline.value = null
    members.value = {}
    heldFor.value = held
  })
  await reloadOutbox(db)
  publish({ type: 'session-ended' })
}

/** The sign-in screen's "Discard": forget what an ended session left on this device. */
export async function discardHeld(): Promise<void> {
  try {
    await clearUserData(await getDb())
  } catch (error) {
    console.warn('[ferry] discarding what the ended session left failed', error)
    notice.value = 'Could not discard the kept messages on this device. Try again.'
    return
  }
  heldFor.value = null
  outbox.value = []
  publish({ type: 'signed-out' })
}

async function signedIn(me: UserResponse['user']): Promise<void> {
  const db = await getDb()
  await setSessionUser(db, me)
  heldFor.value = null
  user.value = me
  await Promise.all([reloadRooms(db), reloadOutbox(db)])
  startSession()
  // A room link opened before signing in (or on a device that had nothing): open it now, from the server.
  const roomId = currentRoomId()
  if (roomId && timeline.value?.roomId !== roomId) {
    void openRoom(roomId).catch(warnAndSay('opening a room', 'Could not open that room.'))
  }
}

function startSession(): void {
  if (stopLeading) return
  tellOthers({ type: 'who-leads' })
  stopLeading = electLeader(() => {
    let engine: SyncEngine | null = null
    let stopped = false
    // Loaded after the first paint: the cached screen needs no socket code.
    const starting = Promise.all([getDb(), import('../sync/engine.ts')]).then(([db, { SyncEngine }]) => {
      const me = user.value
      if (stopped || !me) return
      engine = new SyncEngine(db, me, {
        // Arrivals count as read only where the person sees them: the open room, at its live end.
        viewingRoom: () => {
          const roomId = currentRoomId()
          const open = timeline.peek()
          const atEnd = open?.roomId === roomId && open.following
          return document.visibilityState === 'visible' && atEnd ? roomId : null
        },
        onSessionEnded: () => void sessionExpired().catch(warn('ending the session')),
        // What the engine cannot fix alone (the device is out of storage): the person must know.
        onProblem: (text) => {
          notice.value = text
        },
      })
      engine.start()
    })
    starting.catch((error: unknown) => {
      // Without the engine nothing syncs: the person must know (a reload usually fixes a failed chunk load).
      console.warn('could not start syncing', error)
      notice.value = 'Ferry could not start syncing. Reload the page to try again.'
    })
    return () => {
      stopped = true
      engine?.stop()
    }
  })
}

function endSession(): void {
  stopLeading?.()
  stopLeading = null
}

function currentRoomId(): string | null {
  const current = route.value
  return current.name === 'room' ? current.roomId : null
}

export async function authenticate(
  mode: 'login' | 'signup',
  username: string,
  password: string,
): Promise<string | null> {
  try {
    const { user: me } = await api<UserResponse>('POST', `/api/auth/${mode}`, { username, password })
    await signedIn(me)
    return null
  } catch (error) {
    if (error instanceof ApiError) {
      if (error.code === 'network') return 'You are offline. Connect to sign in.'
      if (error.code === 'invalid_credentials' || error.status === 401) return 'Wrong username or password.'
      return error.message
    }
    console.warn(`[ferry] ${mode} failed`, error)
    return 'Something went wrong.'
  }
}

/**
 * Signs out and wipes this device's copy. `confirmDiscard` gets the question to ask (what would be
 * discarded, counted as the status line counts it) and is only called when the outbox is not empty.
 * Returns false when the person chose to keep their queued messages.
 */
export async function logout(confirmDiscard: (question: string) => boolean): Promise<boolean> {
  const question = discardQuestion(outbox.value)
  if (question !== null && !confirmDiscard(question)) return false
  try {
    await api('POST', '/api/auth/logout', {})
  } catch (error) {
    if (error instanceof ApiError && error.code === 'network') {
      notice.value = 'You are offline: signing out needs the server. Try again when connected.'
      return false
    }
    // Any other answer (e.g. 401: already signed out there) still ends the session here, as asked.
    if (!(error instanceof ApiError && error.status === 401)) console.warn('[ferry] the server refused logout', error)
  }
  endSession()
  try {
    await clearUserData(await getDb())
    if (typeof caches !== 'undefined') {
      // The worker's precache is the app itself; anything else may hold user data.
      for (const name of await caches.keys()) if (!name.startsWith('workbox-precache')) await caches.delete(name)
    }
  } catch (error) {
    // Signed out on the server, but this device may still hold the data: the person must know.
    warnAndSay(
      'wiping this device after logout',
      'Signed out, but this device could not be wiped. Log out again.',
    )(error)
  }
  rooms.value = []
  outbox.value = []
  timeline.value = null
  members.value = {}
  publish({ type: 'signed-out' })
  navigate({ name: 'rooms' })
  return true
}

export function navigate(next: Route, replace = false): void {
  const path = next.name === 'room' ? `/rooms/${next.roomId}` : next.name === 'discover' ? '/discover' : '/'
  // Where a room was opened from rides in the history entry, so Back after a reload or popstate still knows.
  const state = next.name === 'room' && next.from ? { from: next.from } : null
  if (location.pathname !== path) history[replace ? 'replaceState' : 'pushState'](state, '', path)
  route.value = next
  if (next.name === 'room') void openRoom(next.roomId).catch(warnAndSay('opening a room', 'Could not open that room.'))
  else {
    timeline.value = null
    setRoomLoading(null)
    void refreshRooms()
  }
}

/**
 * A room link in any letter case names the room; ids are held in lower case, as the server stores
 * them. `state` is the history entry's (navigate): a room opened from Discover says so.
 */
export function routeFromPath(pathname: string, state?: unknown): Route {
  const match = /^\/rooms\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i.exec(pathname)
  if (match?.[1]) {
    const fromDiscover = (state as { from?: unknown } | null)?.from === 'discover'
    return { name: 'room', roomId: match[1].toLowerCase(), ...(fromDiscover ? { from: 'discover' as const } : {}) }
  }
  return pathname === '/discover' ? { name: 'discover' } : { name: 'rooms' }
}

/** Shows the cached history at once, then fills in from the server. */
export async function openRoom(roomId: string): Promise<void> {
  const db = await getDb()
  // Unread messages: the divider is fixed now, and the cache is read down to the first unread one.
  const room = rooms.value.find((r) => r.id === roomId)
  const divider = dividerAtOpen(room)
  const size = landingSize(room?.lastSeq ?? 0, divider, TIMELINE_PAGE)
  const [entries, cursor] = await Promise.all([newestEntries(db, roomId, size), getCursor(db, roomId)])
  if (currentRoomId() !== roomId) return
  showTimeline(roomId, entries, cursor, divider)
  await afterRoomShown(roomId, entries.length)
}

function showTimeline(roomId: string, entries: RoomEvent[], cursor: RoomCursor, divider: Divider | null): void {
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
async function afterRoomShown(roomId: string, shown: number): Promise<void> {
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
      visiting.value = room
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
  // The person is at the top: a window grown past its bound loses its newest end (paged in again on scroll).
  timeline.value = boundWindow(
    { ...now, entries: mergeEntries(now.entries, older), hasOlder, loadingOlder: false },
    'oldest',
  )
}

let loadingNewer = false

/** Newer history into a window that stopped short of the live end (the person scrolls back down). Never rejects. */
export async function loadNewer(): Promise<void> {
  const current = timeline.value
  if (!current?.hasNewer || loadingNewer) return
  loadingNewer = true
  try {
    const { roomId } = current
    const last = current.entries.at(-1)?.seq ?? 0
    const newer = await entriesAfter(await getDb(), roomId, last, TIMELINE_PAGE)
    const now = timeline.value
    if (now?.roomId !== roomId || !now.hasNewer) return
    const hasNewer = newer.length === TIMELINE_PAGE
    timeline.value = boundWindow({ ...now, entries: mergeEntries(now.entries, newer), hasNewer }, 'newest')
  } catch (error) {
    warnAndSay('loading newer messages', 'Could not load newer messages.')(error)
  } finally {
    loadingNewer = false
  }
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
 * MessageList tells how far down the person has read (the last message whose end is in view):
 * the read marker follows, posted once per burst like arrivals. Only for the open, visible room.
 */
export function markReadThrough(roomId: string, seq: number): void {
  if (typeof document !== 'undefined' && document.visibilityState !== 'visible') return
  if (currentRoomId() !== roomId) return
  const room = rooms.value.find((r) => r.id === roomId)
  // Already read that far (as the room list knows): no IndexedDB write for every scroll event.
  if (!room || room.role === null || seq <= room.lastReadSeq) return
  void markSeen(roomId, seq).catch(warn('marking read'))
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
    timeline.value = { ...now, entries, hasOlder: (entries[0]?.seq ?? 2) > 1, hasNewer: false }
  } catch (error) {
    warnAndSay('loading the newest messages', 'Could not load the newest messages.')(error)
  }
}

/**
 * The person has seen `roomId` up to `seq`: marked here at once (the row's `readPending`, kept in
 * IndexedDB until the server confirms it, so it survives a reload offline and only the highest
 * per room is kept), and the leader tab is asked to send it (sync/reads.ts: a `read` frame at most
 * once per room per second, POST without a socket). `now`: the room is being hidden or left.
 */
async function markSeen(roomId: string, seq: number, now = false): Promise<void> {
  const db = await getDb()
  if (!(await markSeenLocally(db, roomId, seq))) return
  publish({ type: 'rooms-changed' })
  publish({ type: 'read', roomId, now })
}

/** The room is hidden or left: a marker still waiting goes out without waiting for its second. */
function sendReadNow(roomId: string): void {
  // The leader reads the row: with nothing waiting on it, nothing is sent.
  publish({ type: 'read', roomId, now: true })
}

/** The newest seq the open room shows, when the person can see it (visible page, at the live end). */
function seenInOpenRoom(roomId: string): number | null {
  if (typeof document !== 'undefined' && document.visibilityState !== 'visible') return null
  if (currentRoomId() !== roomId || !user.value) return null
  const current = timeline.value
  if (current && current.roomId === roomId && !current.following) return null
  const shown = current?.roomId === roomId ? (current.entries.at(-1)?.seq ?? 0) : 0
  const room = rooms.value.find((r) => r.id === roomId)
  return Math.max(shown, room && room.role !== null ? room.lastSeq : 0)
}

/**
 * Keeps the read marker in step while a room stays open: arrivals in the open,
 * visible room are read (the person's own messages need no post: the server
 * never counts them unread); coming back to the page marks what arrived while
 * it was hidden; back online or on a fresh socket the waiting markers go out.
 */
export function startReadMarkers(): () => void {
  const stopListening = onTabMessage((message) => {
    if (message.type !== 'events') return
    const others = message.events.some((e) => e.authorId !== user.value?.id)
    const seen = others ? seenInOpenRoom(message.roomId) : null
    const newest = Math.max(...message.events.map((e) => e.seq))
    if (seen !== null) void markSeen(message.roomId, Math.max(seen, newest)).catch(warn('marking read'))
  })
  const onVisibility = () => {
    const roomId = currentRoomId()
    if (!roomId) return
    if (document.visibilityState !== 'visible') return sendReadNow(roomId)
    const seen = seenInOpenRoom(roomId)
    if (seen !== null) void markSeen(roomId, seen).catch(warn('marking read'))
  }
  // Leaving a room sends what was read in it at once.
  let openRoomId = currentRoomId()
  const stopRoute = route.subscribe((next) => {
    const roomId = next.name === 'room' ? next.roomId : null
    if (openRoomId !== null && openRoomId !== roomId) sendReadNow(openRoomId)
    openRoomId = roomId
  })
  document.addEventListener('visibilitychange', onVisibility)
  return () => {
    stopListening()
    stopRoute()
    document.removeEventListener('visibilitychange', onVisibility)
  }
}

/** The room list as the server has it now (new public rooms, rooms we were added to). */
export async function refreshRooms(): Promise<void> {
  try {
    const res = await api<RoomsResponse>('GET', '/api/rooms')
    await replaceRooms(await getDb(), res.rooms)
    publish({ type: 'rooms-changed' })
    publish({ type: 'resubscribe' })
  } catch (error) {
    // Offline (expected): the cached list stays. Anything else is worth a line in the console.
    if (!isTransient(error)) console.warn('[ferry] refreshing the room list failed', error)
  }
}

export async function loadMembers(roomId: string): Promise<void> {
  try {
    const res = await api<MembersResponse>('GET', `/api/rooms/${roomId}/members`)
    members.value = { ...members.value, [roomId]: res.members }
  } catch (error) {
    // Offline (expected): the list stays as last seen in this session ("Connect to see who is here").
    if (!isTransient(error)) console.warn(`[ferry] loading the members of room ${roomId} failed`, error)
  }
}

/** A refusal as the server gave it (or `network` when it could not be asked), for the form to word. */
export interface Refusal {
  code: string
  message: string
}

export async function createRoom(name: string, visibility: Visibility): Promise<Refusal | null> {
  try {
    const { room } = await api<RoomResponse>('POST', '/api/rooms', { name, visibility })
    await putRoom(await getDb(), room)
    publish({ type: 'rooms-changed' })
    publish({ type: 'resubscribe' })
    void requestPersistence() // never rejects (pwa/persist.ts logs its own failure)
    navigate({ name: 'room', roomId: room.id })
    return null
  } catch (error) {
    if (error instanceof ApiError) return { code: error.code, message: error.message }
    console.warn('[ferry] creating a room failed', error)
    return { code: 'unknown', message: 'Could not create the room. Try again.' }
  }
}

/** Joins a public room; true when the person is now a member (a failure is said in the notice). */
export async function joinRoom(roomId: string): Promise<boolean> {
  try {
    const { room } = await api<RoomResponse>('POST', `/api/rooms/${roomId}/join`, {})
    await putRoom(await getDb(), room)
    publish({ type: 'rooms-changed' })
    publish({ type: 'resubscribe' })
    void requestPersistence() // never rejects (pwa/persist.ts logs its own failure)
    return true
  } catch (error) {
    if (error instanceof ApiError && error.code === 'network')
      notice.value = 'You are offline: joining a room needs the server. Try again when connected.'
    else say(error, 'Could not join the room.')
    return false
  }
}

export { reloadRooms }
