/**
 * How the leader sends the person's read markers (issue 9 item 3, client/sync/reads.ts): over the
 * socket as `read` frames, at most once per room per `readReceiptIntervalMs` (at once when the
 * room is hidden or left), only the highest per room (the row's `readPending`), again on every new
 * socket until a `read_marker` confirms it, over HTTP only without a greeted socket, and dropped
 * when the server refuses the room. The old 1.5 s POST from every tab is gone.
 */
import { beforeAll, describe, expect, it, vi } from 'vitest'
import { getCachedRoom, markSeenLocally } from '../../client/db/rooms.ts'
import type { FerryDatabase } from '../../client/db/schema.ts'
import { publish } from '../../client/tabs/bus.ts'
import { LIMITS } from '../../shared/limits.ts'
import { ROOM_A, ROOM_B, roomFixture } from './support.ts'
import { elapse, hello, type Route, settle, startEngine, until, useEngineHarness } from './sync-harness.ts'

useEngineHarness()

beforeAll(async () => {
  // The answer checks load on first use; loaded now, the fallback's POST answers in a few turns.
  await import('../../client/api/validate.ts')
})

const rooms = [
  roomFixture(ROOM_A, { role: 'member', lastSeq: 40, unreadCount: 40, lastReadSeq: 0 }),
  roomFixture(ROOM_B, { role: 'member', lastSeq: 40, unreadCount: 40, lastReadSeq: 0 }),
]
const posts: Array<{ path: string }> = []
const server: Route = (url) => {
  if (url.pathname === '/api/rooms') return { body: { rooms } }
  if (url.pathname.endsWith('/read')) {
    posts.push({ path: url.pathname })
    return { body: { lastReadSeq: 12, unreadCount: 28 } }
  }
  return { body: {}, status: 404 }
}

/** What a tab does when the person reads: the row first, then a word to the leader. */
async function read(db: FerryDatabase, roomId: string, seq: number, now = false): Promise<void> {
  await markSeenLocally(db, roomId, seq)
  publish({ type: 'read', roomId, now })
}

const pending = async (db: FerryDatabase, roomId = ROOM_A) => (await getCachedRoom(db, roomId))?.readPending

describe('sending read markers from the leader', () => {
  it('sends the highest seq read as a read frame, at most once per room per second', async () => {
    posts.length = 0
    const h = await startEngine(server)
    await until(() => expect(h.socket().frames('subscribe').length).toBeGreaterThan(0))
    await read(h.db, ROOM_A, 5)
    await until(() => expect(h.socket().frames('read')).toEqual([{ type: 'read', roomId: ROOM_A, seq: 5 }]))

    // Within the second: held, and only the highest goes when it ends.
    await read(h.db, ROOM_A, 9)
    await read(h.db, ROOM_A, 12)
    await settle()
    expect(h.socket().frames('read')).toHaveLength(1)
    // Another room has its own second.
    await read(h.db, ROOM_B, 3)
    await until(() => expect(h.socket().frames('read')).toHaveLength(2))
    await elapse(LIMITS.readReceiptIntervalMs, 250)
    await until(() =>
      expect(h.socket().frames('read')).toEqual([
        { type: 'read', roomId: ROOM_A, seq: 5 },
        { type: 'read', roomId: ROOM_B, seq: 3 },
        { type: 'read', roomId: ROOM_A, seq: 12 },
      ]),
    )
    const [first, , third] = h.socket().sent.flatMap((f, i) => (f.type === 'read' ? [h.socket().sentAt[i]!] : []))
    expect(third! - first!).toBeGreaterThanOrEqual(LIMITS.readReceiptIntervalMs)
    expect(posts).toEqual([])

    // The server wrote it: the row's marker is confirmed, nothing is left to send, nothing goes again.
    h.socket().push({ type: 'read_marker', roomId: ROOM_A, lastReadSeq: 12, unreadCount: 28 })
    await until(async () => expect(await pending(h.db)).toBeUndefined())
    publish({ type: 'read', roomId: ROOM_A })
    await elapse(2 * LIMITS.readReceiptIntervalMs, 500)
    expect(
      h
        .socket()
        .frames('read')
        .filter((f) => f.roomId === ROOM_A),
    ).toHaveLength(2)
  })

  it('sends at once when the room is hidden or left, inside the second', async () => {
    const h = await startEngine(server)
    await until(() => expect(h.socket().frames('subscribe').length).toBeGreaterThan(0))
    await read(h.db, ROOM_A, 5)
    await until(() => expect(h.socket().frames('read')).toHaveLength(1))
    await read(h.db, ROOM_A, 7, true)
    await until(() => expect(h.socket().frames('read').at(-1)).toEqual({ type: 'read', roomId: ROOM_A, seq: 7 }))
    const times = h.socket().sent.flatMap((f, i) => (f.type === 'read' ? [h.socket().sentAt[i]!] : []))
    expect(times[1]! - times[0]!).toBeLessThan(LIMITS.readReceiptIntervalMs)
  })

  it('a marker read offline survives a reload and goes out on the first socket; unconfirmed, again on the next', async () => {
    // Read while offline in an earlier page: only the row holds it.
    const h = await startEngine(server, async (db) => {
      await db.put('rooms', { ...rooms[0]!, serverReadSeq: 0 })
      await markSeenLocally(db, ROOM_A, 9)
      await markSeenLocally(db, ROOM_A, 17)
    })
    await until(() => expect(h.socket().frames('read')).toEqual([{ type: 'read', roomId: ROOM_A, seq: 17 }]))
    expect(await pending(h.db)).toBe(17)

    // The server went away before its flush: the next socket sends it again.
    const first = h.socket()
    first.onclose?.({ code: 1006 })
    await elapse(1_000)
    const next = h.socket()
    expect(next).not.toBe(first)
    next.open()
    next.push(hello)
    await until(() => expect(next.frames('read')).toEqual([{ type: 'read', roomId: ROOM_A, seq: 17 }]))
    next.push({ type: 'read_marker', roomId: ROOM_A, lastReadSeq: 17, unreadCount: 23 })
    await until(async () =>
      expect(await getCachedRoom(h.db, ROOM_A)).toMatchObject({ lastReadSeq: 17, unreadCount: 23 }),
    )
    expect(await pending(h.db)).toBeUndefined()
  })

  it('without a greeted socket falls back to POST …/read, whose answer confirms the marker', async () => {
    vi.spyOn(console, 'warn').mockImplementation(() => undefined)
    posts.length = 0
    const h = await startEngine(server)
    await until(() => expect(h.socket().frames('subscribe').length).toBeGreaterThan(0))
    h.socket().onclose?.({ code: 1006 })
    await settle()
    await read(h.db, ROOM_A, 12)
    await until(() => expect(posts).toEqual([{ path: `/api/rooms/${ROOM_A}/read` }]))
    await until(async () => expect(await pending(h.db)).toBeUndefined())
    expect(await getCachedRoom(h.db, ROOM_A)).toMatchObject({ lastReadSeq: 12, unreadCount: 28 })
    expect(h.sockets.flatMap((s) => s.frames('read'))).toEqual([])
  })

  it('a room the server refuses to mark (not a member any more) is not asked again', async () => {
    vi.spyOn(console, 'warn').mockImplementation(() => undefined)
    const h = await startEngine(server)
    await until(() => expect(h.socket().frames('subscribe').length).toBeGreaterThan(0))
    await read(h.db, ROOM_B, 4)
    await until(() => expect(h.socket().frames('read')).toHaveLength(1))
    h.socket().push({ type: 'error', code: 'not_member', message: 'Join the room first', roomId: ROOM_B })
    await until(async () => expect(await pending(h.db, ROOM_B)).toBeUndefined())
    // Its local marker stays: what was read stays read on this device.
    expect((await getCachedRoom(h.db, ROOM_B))?.lastReadSeq).toBe(4)
  })

  it('many rooms read offline go out paced, not as one burst that spends the socket’s frame budget', async () => {
    const many = Array.from({ length: 30 }, (_, i) =>
      roomFixture(`00000000-0000-4000-8000-0000000001${String(i).padStart(2, '0')}`, {
        role: 'member',
        lastSeq: 10,
        unreadCount: 10,
      }),
    )
    const h = await startEngine(
      (url) => (url.pathname === '/api/rooms' ? { body: { rooms: many } } : { body: {}, status: 404 }),
      async (db) => {
        for (const r of many) {
          await db.put('rooms', { ...r, serverReadSeq: 0 })
          await markSeenLocally(db, r.id, 10)
        }
      },
    )
    await until(() => expect(h.socket().frames('read').length).toBeGreaterThan(0))
    await settle()
    expect(h.socket().frames('read').length).toBeLessThanOrEqual(10)
    await elapse(15_000, 500)
    const sent = h.socket().frames('read')
    expect(new Set(sent.map((f) => f.roomId)).size).toBe(30)
    expect(sent).toHaveLength(30)
  })
})
