/** Leaving a room and telling a made-up room link from a real one (issue 8 item 5), against fake-indexeddb. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { getCursor, storeEvents } from '../../client/db/messages.ts'
import { getDb } from '../../client/db/page.ts'
import { listCachedRooms, putRoom } from '../../client/db/rooms.ts'
import { checkRoomExists, leaveRoom, OWNER_MUST_TRANSFER } from '../../client/state/membership.ts'
import { openRoom } from '../../client/state/room-view.ts'
import { missingRooms, notice, roomLoading, route } from '../../client/state/store.ts'
import type { Room } from '../../shared/schemas.ts'
import { ALICE, event, ROOM_A, ROOM_B, roomFixture } from './support.ts'

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } })

const room = roomFixture

/** Answers the leave POST as the server would, and the room list the navigation back asks for. */
function server(leave: () => Response, rooms: Room[]): string[] {
  const asked: string[] = []
  vi.stubGlobal('fetch', async (url: string, init: RequestInit) => {
    asked.push(`${init.method} ${url}`)
    if (url.endsWith('/leave')) return leave()
    if (url === '/api/rooms') return json({ rooms })
    return json({ error: { code: 'not_found', message: 'No such room' } }, 404)
  })
  return asked
}

beforeEach(async () => {
  const db = await getDb()
  for (const store of ['rooms', 'messages', 'cursors', 'drafts'] as const) await db.clear(store)
})
afterEach(() => vi.unstubAllGlobals())

describe('leaving a room', () => {
  it('a private room goes from the device with its history; other rooms stay', async () => {
    const db = await getDb()
    const kept = room(ROOM_B, { visibility: 'public', name: 'Quay' })
    await putRoom(db, room(ROOM_A))
    await putRoom(db, kept)
    await storeEvents(db, ROOM_A, [event(ROOM_A, 1), event(ROOM_A, 2)])
    await storeEvents(db, ROOM_B, [event(ROOM_B, 1)])
    await db.put('drafts', { roomId: ROOM_A, text: 'half a thought' })
    const asked = server(() => new Response(null, { status: 204 }), [kept])

    expect(await leaveRoom(room(ROOM_A))).toBeNull()
    expect(asked[0]).toBe(`POST /api/rooms/${ROOM_A}/leave`)
    expect((await listCachedRooms(db)).map((r) => r.id)).toEqual([ROOM_B])
    expect(await db.count('messages')).toBe(1)
    expect((await getCursor(db, ROOM_A)).lastSeq).toBe(0)
    expect(await db.get('drafts', ROOM_A)).toBeUndefined()
  })

  it('a public room stays listed, no longer joined', async () => {
    const db = await getDb()
    const quay = room(ROOM_B, { visibility: 'public', ownerId: ALICE })
    await putRoom(db, quay)
    // The list the navigation back fetches says the same: listed, role null.
    server(() => new Response(null, { status: 204 }), [{ ...quay, role: null }])
    expect(await leaveRoom(quay)).toBeNull()
    expect((await db.get('rooms', ROOM_B))?.role).toBeNull()
  })

  it('the owner is told why not, and nothing changes here', async () => {
    const db = await getDb()
    await putRoom(db, room(ROOM_A, { role: 'owner' }))
    server(() => json({ error: { code: 'owner_cannot_leave', message: 'The owner cannot leave' } }, 409), [])
    expect(await leaveRoom(room(ROOM_A, { role: 'owner' }))).toBe(OWNER_MUST_TRANSFER)
    expect((await listCachedRooms(db)).map((r) => r.role)).toEqual(['owner'])
  })
})

describe('a room link that leads nowhere', () => {
  it('only a 404 marks it missing; no answer leaves the question open', async () => {
    missingRooms.value = new Set()
    vi.stubGlobal('fetch', async () => {
      throw new TypeError('Failed to fetch')
    })
    await checkRoomExists(ROOM_A)
    expect(missingRooms.value.has(ROOM_A)).toBe(false)
    vi.stubGlobal('fetch', async () => json({ error: { code: 'not_found', message: 'No such room' } }, 404))
    await checkRoomExists(ROOM_A)
    expect(missingRooms.value.has(ROOM_A)).toBe(true)
  })

  it('opening it asks the server once: a 404 marks it missing, with no notice, page or member list asked', async () => {
    missingRooms.value = new Set()
    notice.value = null
    const asked: string[] = []
    vi.stubGlobal('fetch', async (url: string, init: RequestInit) => {
      asked.push(`${init.method} ${url}`)
      return json({ error: { code: 'not_found', message: 'No such room' } }, 404)
    })
    route.value = { name: 'room', roomId: ROOM_A }
    try {
      await openRoom(ROOM_A)
    } finally {
      route.value = { name: 'rooms' }
    }
    expect(missingRooms.value.has(ROOM_A)).toBe(true)
    expect(asked).toEqual([`GET /api/rooms/${ROOM_A}`])
    expect(notice.value).toBeNull()
    expect(roomLoading.value).toBeNull()
  })
})
