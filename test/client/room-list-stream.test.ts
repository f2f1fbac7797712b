/**
 * The engine's side of the room-list stream (issue 8 defect 3) and the
 * status before the room list is in (defect 2): room_added / room_removed /
 * room_created change IndexedDB and the subscriptions; a change heard while
 * the list is on its way is not undone by it; malformed frames change nothing.
 */
import { describe, expect, it, vi } from 'vitest'
import { getCursor, newestEntries, storeEvents } from '../../client/db/messages.ts'
import { getCachedRoom, listCachedRooms, putRoom } from '../../client/db/rooms.ts'
import { parseServerFrame } from '../../client/sync/connection.ts'
import type { Room } from '../../shared/schemas.ts'
import { BOB, event, ROOM_A, ROOM_B } from './support.ts'
import { elapse, type Reply, room, startEngine, until, upToDate, useEngineHarness } from './sync-harness.ts'

const secret: Room = { ...room, id: ROOM_B, name: 'secret', visibility: 'private', role: 'member', ownerId: BOB }

useEngineHarness()

/** A room list answered only when `release` is called (or at once when already released). */
function gatedList(rooms: Room[]) {
  let open: () => void = () => undefined
  const gate = new Promise<void>((resolve) => {
    open = resolve
  })
  return {
    release: () => open(),
    route: async (url: URL): Promise<Reply> => {
      if (url.pathname !== '/api/rooms') return { body: {}, status: 404 }
      await gate
      return { body: { rooms } }
    },
  }
}

describe('before the room list is in', () => {
  it('a greeted socket is not "Up to date" until the room list has arrived', async () => {
    const list = gatedList([])
    const h = await startEngine(list.route)
    await until(() => expect(h.status().socket).toBe('open'))
    expect(upToDate(h.status())).toBe(false)
    list.release()
    await until(() => expect(upToDate(h.status())).toBe(true))
  })

  it('a change heard while the list is on its way is applied on top of it, not undone by it', async () => {
    // The list was read before Ben added us to `secret` and before we left `general`.
    const list = gatedList([room])
    const h = await startEngine(list.route)
    await until(() => expect(h.fetched.length).toBe(1))
    h.socket().push({ type: 'room_added', room: secret })
    h.socket().push({ type: 'room_removed', roomId: ROOM_A, visibility: 'public' })
    list.release()
    await until(async () => expect((await getCachedRoom(h.db, ROOM_B))?.role).toBe('member'))
    await until(async () => expect((await getCachedRoom(h.db, ROOM_A))?.role).toBeNull())
    await until(() =>
      expect(
        h
          .socket()
          .frames('subscribe')
          .flatMap((f) => f.rooms.map((r) => r.roomId)),
      ).toContain(ROOM_B),
    )
  })
})

describe('room-list frames', () => {
  async function listed(rooms: Room[] = [room]) {
    const h = await startEngine((url) =>
      url.pathname === '/api/rooms' ? { body: { rooms } } : { body: {}, status: 404 },
    )
    await until(() => expect(h.socket().frames('subscribe').length).toBeGreaterThan(0))
    return h
  }

  it('room_added: listed with the server row, followed at once; the screens are told', async () => {
    const h = await listed()
    h.socket().push({ type: 'room_added', room: { ...secret, lastSeq: 3, unreadCount: 3 } })
    await until(async () => expect((await getCachedRoom(h.db, ROOM_B))?.unreadCount).toBe(3))
    await until(() =>
      expect(h.socket().frames('subscribe').at(-1)).toEqual({
        type: 'subscribe',
        rooms: [{ roomId: ROOM_B, after: 0 }],
      }),
    )
    expect(h.published.some((m) => m.type === 'rooms-changed')).toBe(true)
    // Named, so an open member list of that room reloads (a role change is heard only this way).
    expect(h.published).toContainEqual({ type: 'room-changed', roomId: ROOM_B })
  })

  it('room_removed of a private room: the row, its history, cursor and draft leave the device; no longer followed', async () => {
    const h = await listed([room, secret])
    await storeEvents(h.db, ROOM_B, [event(ROOM_B, 1), event(ROOM_B, 2)])
    await h.db.put('drafts', { roomId: ROOM_B, text: 'half a thought' })
    await until(() =>
      expect(
        h
          .socket()
          .frames('subscribe')
          .flatMap((f) => f.rooms.map((r) => r.roomId)),
      ).toContain(ROOM_B),
    )
    h.socket().push({ type: 'room_removed', roomId: ROOM_B, visibility: 'private' })
    await until(async () => expect(await getCachedRoom(h.db, ROOM_B)).toBeUndefined())
    expect(await newestEntries(h.db, ROOM_B, 10)).toEqual([])
    expect((await getCursor(h.db, ROOM_B)).lastSeq).toBe(0)
    expect(await h.db.get('drafts', ROOM_B)).toBeUndefined()
    // The other room is untouched.
    expect(await getCachedRoom(h.db, ROOM_A)).toBeDefined()
  })

  it('room_removed of a public room: stays listed, unjoined, counted one member less, once', async () => {
    const h = await listed([{ ...room, role: 'member', memberCount: 3, unreadCount: 2 }])
    h.socket().push({ type: 'room_removed', roomId: ROOM_A, visibility: 'public' })
    h.socket().push({ type: 'room_removed', roomId: ROOM_A, visibility: 'public' })
    await until(async () => expect((await getCachedRoom(h.db, ROOM_A))?.role).toBeNull())
    const row = await getCachedRoom(h.db, ROOM_A)
    expect(row).toMatchObject({ memberCount: 2, unreadCount: 0 })
  })

  it('room_created: passed on to the screens (an open Discover lists it), never stored: the device lists only its rooms', async () => {
    const h = await listed([{ ...room, role: 'member', unreadCount: 4 }])
    const created = { ...secret, visibility: 'public' as const, role: null }
    h.socket().push({ type: 'room_created', room: created })
    await until(() => expect(h.published).toContainEqual({ type: 'room-created', room: created }))
    expect((await listCachedRooms(h.db)).map((r) => r.id)).toEqual([ROOM_A])
    expect(await getCachedRoom(h.db, ROOM_A)).toMatchObject({ role: 'member', unreadCount: 4 })
    // Not a member: a created room is not followed.
    expect(
      h
        .socket()
        .frames('subscribe')
        .flatMap((f) => f.rooms.map((r) => r.roomId)),
    ).not.toContain(ROOM_B)
  })

  it('a malformed room-list frame is a protocol error: never passed on, nothing changes, the socket is replaced', async () => {
    const bad = [
      { type: 'room_added', room: { ...secret, id: 'not-a-uuid' } },
      { type: 'room_added' },
      { type: 'room_removed', roomId: ROOM_B },
      { type: 'room_removed', roomId: ROOM_B, visibility: 'secret' },
      { type: 'room_removed', roomId: ROOM_B, visibility: 'private', extra: 1 },
      { type: 'room_created', room: { ...room, lastSeq: -1 } },
    ]
    for (const frame of bad) expect(parseServerFrame(JSON.stringify(frame))).toBeNull()
    vi.spyOn(console, 'warn').mockImplementation(() => undefined)
    const h = await listed([room, secret])
    await putRoom(h.db, secret)
    const sockets = h.sockets.length
    h.socket().onmessage?.({ data: JSON.stringify(bad[3]) })
    await elapse(1_000)
    expect(h.sockets.length).toBeGreaterThan(sockets)
    expect((await getCachedRoom(h.db, ROOM_B))?.role).toBe('member')
  })
})
