/**
 * Read markers from the server (docs/PROTOCOL.md, "Read receipts"): a
 * `read_marker` says the person read the room up to a seq, on this device or
 * another, with the room's unread count; the cached room follows it at once,
 * and a marker still waiting to be posted from here is kept when it is
 * further. `receipts` tell who in the room has read how far; the engine
 * keeps the highest per reader, whatever order frames come in. The socket
 * asks for these frames with `?v=2`.
 */
import { describe, expect, it } from 'vitest'
import { getCachedRoom, markSeenLocally } from '../../client/db/rooms.ts'
import { PROTOCOL_QUERY, parseServerFrame } from '../../client/sync/connection.ts'
import { ROOM_A } from './support.ts'
import { expectSubscribed, room, startEngine, until, useEngineHarness } from './sync-harness.ts'

useEngineHarness()

const BEN = '00000000-0000-4000-8000-0000000000b2'
const CY = '00000000-0000-4000-8000-0000000000c3'
const listing = (lastSeq: number, unreadCount: number) => (url: URL) =>
  url.pathname === '/api/rooms'
    ? { body: { rooms: [{ ...room, role: 'member' as const, lastSeq, unreadCount }] } }
    : { body: {}, status: 404 }

describe('read markers and receipts', () => {
  it("a read_marker from another device moves the cached room's marker and unread count", async () => {
    const h = await startEngine(listing(10, 10))
    await until(() => expectSubscribed(h.socket(), 0))
    h.socket().push({ type: 'read_marker', roomId: ROOM_A, lastReadSeq: 7, unreadCount: 3 })
    await until(async () => expect(await getCachedRoom(h.db, ROOM_A)).toMatchObject({ lastReadSeq: 7, unreadCount: 3 }))
    await until(() => expect(h.published.some((m) => m.type === 'rooms-changed')).toBe(true))
  })

  it('keeps a further marker of this device that is still to be posted', async () => {
    const h = await startEngine(listing(10, 10))
    await until(() => expectSubscribed(h.socket(), 0))
    expect(await markSeenLocally(h.db, ROOM_A, 9)).toBe(true)
    h.socket().push({ type: 'read_marker', roomId: ROOM_A, lastReadSeq: 7, unreadCount: 3 })
    await until(async () => expect((await getCachedRoom(h.db, ROOM_A))?.serverReadSeq).toBe(7))
    expect(await getCachedRoom(h.db, ROOM_A)).toMatchObject({ lastReadSeq: 9, readPending: 9 })

    // The server has it (or more) now: nothing is left to post.
    h.socket().push({ type: 'read_marker', roomId: ROOM_A, lastReadSeq: 9, unreadCount: 1 })
    await until(async () => expect((await getCachedRoom(h.db, ROOM_A))?.readPending).toBeUndefined())
    expect(await getCachedRoom(h.db, ROOM_A)).toMatchObject({ lastReadSeq: 9, unreadCount: 1 })
  })

  it('keeps the highest marker per reader across receipts frames in any order', async () => {
    const h = await startEngine(listing(10, 0))
    await until(() => expectSubscribed(h.socket(), 0))
    h.socket().push({ type: 'receipts', roomId: ROOM_A, readers: [{ userId: BEN, lastReadSeq: 5 }] })
    h.socket().push({
      type: 'receipts',
      roomId: ROOM_A,
      readers: [
        { userId: BEN, lastReadSeq: 3 },
        { userId: CY, lastReadSeq: 8 },
      ],
    })
    await until(() =>
      expect(h.engine.receiptsOf(ROOM_A)).toEqual(
        new Map([
          [BEN, 5],
          [CY, 8],
        ]),
      ),
    )
    const last = h.published.findLast((m) => m.type === 'receipts')
    expect(last).toEqual({ type: 'receipts', roomId: ROOM_A, readers: { [BEN]: 5, [CY]: 8 } })
  })

  it('asks for protocol 2, whose frames pass the shared schema', () => {
    expect(PROTOCOL_QUERY).toBe('v=2')
    const receipts = { type: 'receipts', roomId: ROOM_A, readers: [{ userId: BEN, lastReadSeq: 1 }] }
    expect(parseServerFrame(JSON.stringify(receipts))).not.toBeNull()
    const marker = { type: 'read_marker', roomId: ROOM_A, lastReadSeq: 1, unreadCount: 0 }
    expect(parseServerFrame(JSON.stringify(marker))).not.toBeNull()
    expect(parseServerFrame(JSON.stringify({ ...marker, unreadCount: -1 }))).toBeNull()
  })
})
