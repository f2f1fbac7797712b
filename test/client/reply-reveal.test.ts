/**
 * Issue 9 item 2: tapping a reply's quote scrolls to the original, "loading it from cache or
 * server if needed". loadThrough pages older history into the open room's window (the same
 * paging as scrolling up) until the original is in it, within a bound, and says when it cannot.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { storeEvents } from '../../client/db/messages.ts'
import { getDb } from '../../client/db/page.ts'
import { clearUserData, replaceRooms } from '../../client/db/rooms.ts'
import { loadThrough } from '../../client/state/room-view.ts'
import { rooms, route, timeline, user } from '../../client/state/store.ts'
import { ALICE, event, FIXTURE_TIME, ROOM_A, roomFixture } from './support.ts'

const seqs = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)

beforeEach(async () => {
  const db = await getDb()
  await clearUserData(db)
  const room = roomFixture(ROOM_A, { lastSeq: 300 })
  await replaceRooms(db, [room])
  rooms.value = [room]
  user.value = { id: ALICE, username: 'alice', createdAt: new Date(FIXTURE_TIME).toISOString() }
  route.value = { name: 'room', roomId: ROOM_A }
  // Offline: whatever is not cached cannot be loaded.
  vi.stubGlobal('fetch', async () => {
    throw new TypeError('Failed to fetch')
  })
})
afterEach(() => vi.unstubAllGlobals())

function openAt(from: number, to: number) {
  timeline.value = {
    roomId: ROOM_A,
    entries: seqs(from, to).map((seq) => event(ROOM_A, seq)),
    hasOlder: true,
    loadingOlder: false,
    hasNewer: false,
    following: true,
  }
}

describe('bringing a reply’s original into the window', () => {
  it('pages older history from the cache until the original is shown', async () => {
    await storeEvents(
      await getDb(),
      ROOM_A,
      seqs(1, 300).map((seq) => event(ROOM_A, seq)),
    )
    openAt(251, 300)
    expect(await loadThrough(ROOM_A, 120)).toBe(true)
    expect(timeline.value?.entries.some((e) => e.seq === 120)).toBe(true)
  })

  it('is true at once when the original is already shown', async () => {
    openAt(251, 300)
    expect(await loadThrough(ROOM_A, 260)).toBe(true)
  })

  it('says no when the original is neither cached nor reachable (offline), without looping', async () => {
    await storeEvents(
      await getDb(),
      ROOM_A,
      seqs(201, 300).map((seq) => event(ROOM_A, seq)),
    )
    openAt(251, 300)
    expect(await loadThrough(ROOM_A, 20)).toBe(false)
  })
})
