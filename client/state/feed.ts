/** Keeps this tab's signals in step with the bus (changes made by the engine or other tabs). */
import { batch } from '@preact/signals'
import { newestEntries } from '../db/messages.ts'
import { heldWork, listCachedRooms } from '../db/rooms.ts'
import type { FerryDatabase } from '../db/schema.ts'
import { listOutbox } from '../outbox/store.ts'
import { onTabMessage, tellOthers } from '../tabs/bus.ts'
import type { ConnStatus, TabMessage } from '../tabs/messages.ts'
import { coalesced } from './coalesce.ts'
import { rememberCreated } from './discover.ts'
import {
  addTypist,
  boundWindow,
  mergeEntries,
  presenceJoin,
  presenceLeave,
  sortRooms,
  withEvents,
  withOpenRoom,
} from './reducers.ts'
import {
  createdPublicRooms,
  type DraftNote,
  drafts,
  heldFor,
  outbox,
  presence,
  receipts,
  roomLoading,
  rooms,
  status,
  timeline,
  typists,
  user,
  visiting,
} from './store.ts'
import { countArrivals } from './unread.ts'

/** Entries shown when a room opens (about three screens); older ones load on scroll. */
export const TIMELINE_PAGE = 50

export const reloadRooms = coalesced(async (db: FerryDatabase): Promise<void> => {
  const [list, texts] = await Promise.all([listCachedRooms(db), db.getAll('drafts')])
  batch(() => {
    rooms.value = sortRooms(list)
    drafts.value = draftTexts(texts)
  })
})

/** The drafts alone (the room list's first paint: a cold start offline never refreshes the rooms). */
export const reloadDrafts = coalesced(async (db: FerryDatabase): Promise<void> => {
  drafts.value = draftTexts(await db.getAll('drafts'))
})

/**
 * Drafts as the list uses them; a row that is not a draft (a damaged one) is skipped. A draft saved
 * before drafts had a time (or with a damaged one) stays, without a time: it does not move its room up.
 */
export function draftTexts(rows: readonly unknown[]): Record<string, DraftNote> {
  const notes: Record<string, DraftNote> = {}
  for (const row of rows) {
    const { roomId, text, updatedAt } = (row ?? {}) as { roomId?: unknown; text?: unknown; updatedAt?: unknown }
    if (typeof roomId !== 'string' || typeof text !== 'string' || text.trim() === '') continue
    const at = typeof updatedAt === 'string' && !Number.isNaN(Date.parse(updatedAt)) ? updatedAt : null
    notes[roomId] = { text, at }
  }
  return notes
}

export const reloadOutbox = coalesced(async (db: FerryDatabase): Promise<void> => {
  outbox.value = await listOutbox(db)
})

/** The newest page again (after a freeze or a reset), without opening a hole in the window. */
export async function reloadTimeline(db: FerryDatabase, roomId: string): Promise<void> {
  const entries = await newestEntries(db, roomId, TIMELINE_PAGE)
  const current = timeline.value
  if (current?.roomId !== roomId) return
  // Reading further up: the newest end pages in when the person scrolls down to it.
  if (current.hasNewer) return
  const last = current.entries.at(-1)?.seq
  const first = entries[0]?.seq
  if (last !== undefined && first !== undefined && first > last + 1) {
    // More arrived meanwhile than one page: at the live end jump to the newest; else page on scroll.
    timeline.value = current.following ? { ...current, entries, hasOlder: true } : { ...current, hasNewer: true }
    return
  }
  timeline.value = boundWindow(
    { ...current, entries: mergeEntries(current.entries, entries) },
    current.following ? 'newest' : 'oldest',
  )
}

/** The leader's link status as last heard; `status` is it as this tab shows it (withOpenRoom). */
let heardStatus: ConnStatus = status.peek()

/** The open room has nothing on screen and its latest page is on its way (roomId), or not (null). */
export function setRoomLoading(roomId: string | null): void {
  roomLoading.value = roomId
  status.value = withOpenRoom(heardStatus, roomId !== null)
}

/** Repaints are best effort (the next change repaints again): a failed read goes to the console with context. */
function warn(what: string): (error: unknown) => void {
  return (error) => console.warn(`[ferry] ${what} failed`, error)
}

export function applyTabMessage(db: FerryDatabase, message: TabMessage): void {
  switch (message.type) {
    case 'events': {
      const current = timeline.value
      if (current?.roomId === message.roomId) {
        // Read further up: arrivals from others are counted for the "↓ N new" button.
        timeline.value = countArrivals(withEvents(current, message.events), message.events, user.peek()?.id)
      }
      // A typist whose message just arrived has stopped typing it.
      const authors = new Set(message.events.filter((e) => e.kind === 'message.created').map((e) => e.authorId))
      const typing = typists.value[message.roomId]
      if (typing?.some((t) => authors.has(t.userId))) {
        typists.value = { ...typists.value, [message.roomId]: typing.filter((t) => !authors.has(t.userId)) }
      }
      break
    }
    case 'room-reset':
      if (timeline.value?.roomId === message.roomId) {
        timeline.value = { ...timeline.value, entries: [], hasOlder: true, hasNewer: false, following: true }
        void reloadTimeline(db, message.roomId).catch(warn('reloading the timeline after a reset'))
      }
      break
    case 'room-created':
      createdPublicRooms.value = rememberCreated(createdPublicRooms.peek(), message.room)
      break
    case 'rooms-changed':
      void reloadRooms(db).catch(warn('reloading the room list'))
      break
    case 'outbox-changed':
      void reloadOutbox(db).catch(warn('reloading the outbox'))
      break
    case 'status':
      heardStatus = message.status
      status.value = withOpenRoom(heardStatus, roomLoading.peek() !== null)
      break
    case 'presence':
      presence.value = { ...presence.value, [message.roomId]: message.users }
      break
    case 'presence-join':
      presence.value = {
        ...presence.value,
        [message.roomId]: presenceJoin(presence.value[message.roomId] ?? [], message.user),
      }
      break
    case 'presence-leave':
      presence.value = {
        ...presence.value,
        [message.roomId]: presenceLeave(presence.value[message.roomId] ?? [], message.userId),
      }
      break
    case 'receipts':
      // The engine sends everything it knows of the room each time (highest per reader).
      receipts.value = { ...receipts.value, [message.roomId]: message.readers }
      break
    case 'typing':
      typists.value = {
        ...typists.value,
        [message.roomId]: addTypist(typists.value[message.roomId] ?? [], {
          userId: message.userId,
          username: message.username,
          until: Date.now() + message.expiresInMs,
        }),
      }
      break
    case 'signed-out':
      // Another tab signed out and wiped the cache: forget everything shown.
      batch(() => {
        user.value = null
        rooms.value = []
        outbox.value = []
        drafts.value = {}
        createdPublicRooms.value = []
        visiting.value = null
        timeline.value = null
        heldFor.value = null
        receipts.value = {}
      })
      break
    case 'session-ended':
      // The server ended the session and the tab that learned it wiped the server's data (expireSession):
      // show none of it; the outbox stays for the same person's next sign-in, and the sign-in screen says so.
      batch(() => {
        user.value = null
        rooms.value = []
        timeline.value = null
        receipts.value = {}
      })
      void heldWork(db).then((held) => {
        heldFor.value = held
      }, warn('reading what the ended session left'))
      void reloadOutbox(db).catch(warn('reloading the outbox'))
      break
  }
}

export function startFeed(db: FerryDatabase): () => void {
  const stop = onTabMessage((message) => applyTabMessage(db, message))
  // A frozen tab misses what the other tabs said meanwhile: back from the freeze, repaint from IndexedDB
  // and ask the leader for its status and presence again.
  const catchUp = () => {
    void reloadRooms(db).catch(warn('reloading the room list after a freeze'))
    void reloadOutbox(db).catch(warn('reloading the outbox after a freeze'))
    const current = timeline.value
    if (current) void reloadTimeline(db, current.roomId).catch(warn('reloading the timeline after a freeze'))
    tellOthers({ type: 'who-leads' })
  }
  document.addEventListener('resume', catchUp)
  return () => {
    stop()
    document.removeEventListener('resume', catchUp)
  }
}
