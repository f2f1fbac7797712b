/**
 * Keeps the precomputed first-screen record (db/first-screen.ts) in step with what this tab shows:
 * the room list, the outbox and the newest entries of the room last open at its live end. Written
 * a moment after the screen stops changing, and at once when the page is hidden (the last chance
 * before the app is closed), never while the first screen is being painted.
 */
import { effect } from '@preact/signals'
import type { User } from '../../shared/schemas.ts'
import { writeFirstScreen } from '../db/first-screen.ts'
import type { CachedRoom, FerryDatabase, FirstScreenRecord, OutboxItem } from '../db/schema.ts'
import { TIMELINE_PAGE } from './feed.ts'
import { outbox, rooms, type Timeline, timeline, user } from './store.ts'

/** Quiet time before a change is saved: a burst of arrivals or acks makes one write. */
export const FIRST_SCREEN_SAVE_DELAY_MS = 500

type SavedRoom = NonNullable<FirstScreenRecord['room']>

/** The open room's newest page, when the window reaches the live end and holds something. */
export function roomPart(current: Timeline | null, page = TIMELINE_PAGE): SavedRoom | null {
  if (!current || current.hasNewer || current.entries.length === 0) return null
  const entries = current.entries.slice(-page)
  return { roomId: current.roomId, entries, hasOlder: current.hasOlder || entries.length < current.entries.length }
}

/**
 * The record for what is shown now; null when nobody is signed in. `lastRoom` is the room last
 * seen open at its live end: it is kept while the person is on the room list, unless the list
 * shows that it has newer entries than those saved (then the normal path reads that room).
 */
export function firstScreenRecord(
  me: User | null | undefined,
  list: readonly CachedRoom[],
  queued: readonly OutboxItem[],
  lastRoom: SavedRoom | null,
): FirstScreenRecord | null {
  if (!me) return null
  let room = lastRoom
  if (room) {
    const row = list.find((r) => r.id === room?.roomId)
    const newest = room.entries.at(-1)?.seq ?? 0
    if (row && row.lastSeq > newest) room = null
  }
  return { v: 1, userId: me.id, rooms: [...list], outbox: [...queued], room }
}

/** Starts saving; returns the function that stops it. */
export function keepFirstScreen(db: FerryDatabase, delayMs = FIRST_SCREEN_SAVE_DELAY_MS): () => void {
  let lastRoom: SavedRoom | null = null
  let lastUser: string | null = null
  let timer: ReturnType<typeof setTimeout> | null = null
  let writing: Promise<void> = Promise.resolve()

  const save = () => {
    if (timer !== null) clearTimeout(timer)
    timer = null
    const record = firstScreenRecord(user.peek(), rooms.peek(), outbox.peek(), lastRoom)
    if (!record) return
    // One write at a time, in order; a refused or failed one is only a missed shortcut (the stores hold the truth).
    writing = writing
      .then(() => writeFirstScreen(db, record))
      .then(
        () => undefined,
        (error: unknown) => console.warn('[ferry] saving the first screen failed', error),
      )
  }

  const stopEffect = effect(() => {
    const me = user.value
    const list = rooms.value
    const queued = outbox.value
    const open = roomPart(timeline.value)
    // Another person (or nobody): nothing of the previous one's room is carried over.
    if ((me?.id ?? null) !== lastUser) lastRoom = null
    lastUser = me?.id ?? null
    if (open) lastRoom = open
    if (!me || (list.length === 0 && queued.length === 0 && !open)) return
    if (timer !== null) clearTimeout(timer)
    timer = setTimeout(save, delayMs)
  })
  // Leaving (another app, a closed tab): a change still waiting is saved now.
  const onPageHide = () => {
    if (timer !== null) save()
  }
  const onHidden = () => {
    if (document.visibilityState === 'hidden') onPageHide()
  }
  document.addEventListener('visibilitychange', onHidden)
  window.addEventListener('pagehide', onPageHide)
  return () => {
    stopEffect()
    if (timer !== null) clearTimeout(timer)
    timer = null
    document.removeEventListener('visibilitychange', onHidden)
    window.removeEventListener('pagehide', onPageHide)
  }
}
