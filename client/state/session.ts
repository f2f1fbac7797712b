/** Signing in and out, the start of the app and the session's sync engine. Each action writes IndexedDB first, then tells every tab. */
import { batch } from '@preact/signals'
import type { UserResponse } from '../../shared/api.ts'
import type { RoomEvent } from '../../shared/schemas.ts'
import { ApiError, api, isTransient } from '../api/http.ts'
import { readFirstScreen } from '../db/first-screen.ts'
import { getDb } from '../db/page.ts'
import { clearUserData, expireSession, type HeldWork, setSessionUser } from '../db/rooms.ts'
import { readSnapshot, type Snapshot } from '../db/snapshot.ts'
import { startSearchFill } from '../search/fill.ts'
import type { SyncEngine } from '../sync/engine.ts'
import { onTabMessage, publish, tellOthers } from '../tabs/bus.ts'
import { electLeader } from '../tabs/leader.ts'
import { afterNextPaint } from './after-paint.ts'
import { reloadOutbox, reloadRooms, startFeed, TIMELINE_PAGE } from './feed.ts'
import { currentAt, currentRoomId, navigate } from './navigation.ts'
import { forgetNotifications, startNotifications, unsubscribeHere } from './notifications.ts'
import { warn, warnAndSay } from './notify.ts'
import { startReadMarkers } from './reading.ts'
import { discardQuestion, sortRooms } from './reducers.ts'
import { syncRoomLevels } from './room-levels.ts'
import { afterRoomShown, openRoom, revealMessage, showTimeline } from './room-view.ts'
import { heldFor, members, notice, outbox, rooms, timeline, user } from './store.ts'
import { dividerAtOpen } from './unread.ts'

let stopLeading: (() => void) | null = null

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
    // Opened from a notification: at its message, offline too (the service worker stored it).
    const at = currentAt()
    if (roomId && at !== undefined) void revealMessage(roomId, at)
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
      // Opened at a message (a notification's): there, not at the first unread one.
      const divider = currentAt() === undefined ? dividerAtOpen(room) : null
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
  // The server removed the session's subscriptions with it, and the device record goes with the wipe.
  forgetNotifications()
  void unsubscribeHere()
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
  // Notifications: the device's choice, and its subscription registered again (never rejects).
  void startNotifications(me.id)
  // Per-room levels: choices made offline go out, the server's come in (never rejects).
  void syncRoomLevels()
  // A room link opened before signing in (or on a device that had nothing): open it now, from the server.
  const roomId = currentRoomId()
  if (roomId && timeline.value?.roomId !== roomId) {
    void openRoom(roomId, currentAt()).catch(warnAndSay('opening a room', 'Could not open that room.'))
  }
}

function startSession(): void {
  if (stopLeading) return
  tellOthers({ type: 'who-leads' })
  stopLeading = electLeader(() => {
    let engine: SyncEngine | null = null
    let stopFill: (() => void) | null = null
    let stopped = false
    // Loaded after the first paint: the cached screen needs no socket code.
    const starting = Promise.all([getDb(), import('../sync/engine.ts')]).then(([db, { SyncEngine }]) => {
      const me = user.value
      if (stopped || !me) return
      // Messages cached before the search index existed are indexed in the background (issue 12).
      stopFill = startSearchFill(db)
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
      stopFill?.()
    }
  })
}

function endSession(): void {
  stopLeading?.()
  stopLeading = null
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
  // The server dropped this session's subscriptions; the browser's own ends too.
  await unsubscribeHere()
  forgetNotifications()
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
