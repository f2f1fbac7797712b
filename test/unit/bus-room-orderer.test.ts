import { describe, expect, it } from 'vitest'
import type { RoomPointer } from '../../server/realtime/bus/envelope.ts'
import { RoomOrderer } from '../../server/realtime/bus/room-orderer.ts'
import type { LocalRooms } from '../../server/realtime/bus.ts'
import type { RoomEvent } from '../../shared/schemas.ts'

const ROOM = '00000000-0000-4000-8000-000000000001'
const OTHER = '00000000-0000-4000-8000-000000000002'

const event = (seq: number, roomId = ROOM): RoomEvent => ({
  roomId,
  seq,
  kind: 'message.created',
  authorId: null,
  authorName: null,
  clientId: null,
  body: `m${seq}`,
  targetSeq: null,
  reaction: null,
  createdAt: '2026-12-07T21:00:00.000Z',
})

const run = (from: number, to: number, roomId = ROOM): RoomEvent[] =>
  Array.from({ length: to - from + 1 }, (_, i) => event(from + i, roomId))

const pointer = (from: number, to: number, withEvents = true, roomId = ROOM): RoomPointer => ({
  roomId,
  from,
  to,
  ...(withEvents ? { events: run(from, to, roomId) } : {}),
})

/** A fake database (the room's committed log) and fake local sockets, recording what the orderer does. */
function harness(
  options: { committed?: number; lowest?: Map<string, number | null>; maxRead?: number; graceMs?: number } = {},
) {
  const log = { committed: options.committed ?? 0 }
  const lowest = options.lowest ?? new Map<string, number | null>([[ROOM, 0]])
  const delivered: RoomEvent[] = []
  const reads: { roomId: string; after: number; limit: number }[] = []
  let failNext = 0
  let gate: Promise<void> | undefined
  // One token per run of interest: a room deleted from `lowest` and set again gets a new one.
  const tokens = new Map<string, object>()
  const local: LocalRooms = {
    interest(roomId) {
      if (!lowest.has(roomId)) {
        tokens.delete(roomId)
        return undefined
      }
      if (!tokens.has(roomId)) tokens.set(roomId, {})
      return tokens.get(roomId)
    },
    lowestSent: (roomId) => lowest.get(roomId),
    rooms: () => lowest.keys(),
  }
  const orderer = new RoomOrderer({
    async read(roomId, after, limit) {
      reads.push({ roomId, after, limit })
      if (gate) await gate
      if (failNext > 0) {
        failNext--
        throw new Error('database gone')
      }
      const last = Math.min(log.committed, after + limit)
      return after >= last ? [] : run(after + 1, last, roomId)
    },
    deliver: (events) => delivered.push(...events),
    retryMs: 5,
    ...(options.maxRead ? { maxRead: options.maxRead } : {}),
    ...(options.graceMs ? { graceMs: options.graceMs } : {}),
  })
  orderer.watch(local)
  return {
    orderer,
    log,
    lowest,
    delivered,
    reads,
    seqs: (roomId = ROOM) => delivered.filter((e) => e.roomId === roomId).map((e) => e.seq),
    /** Nobody followed the room for a while, then sockets did again. */
    refollow(roomId: string, lowestSent: number | null) {
      tokens.delete(roomId)
      lowest.set(roomId, lowestSent)
    },
    failReads: (count: number) => {
      failNext = count
    },
    hold() {
      let open = () => {}
      gate = new Promise<void>((resolve) => {
        open = resolve
      })
      return () => {
        gate = undefined
        open()
      }
    },
  }
}

const settled = async (until: () => boolean) => {
  for (let i = 0; i < 500 && !until(); i++) await new Promise((resolve) => setTimeout(resolve, 2))
}

describe('RoomOrderer', () => {
  it('hands pointers that continue the room over synchronously, without reading', () => {
    const h = harness({ committed: 3 })
    h.orderer.offer(pointer(1, 2))
    expect(h.seqs()).toEqual([1, 2])
    h.orderer.offer(pointer(3, 3))
    expect(h.seqs()).toEqual([1, 2, 3])
    expect(h.reads).toEqual([])
  })

  it('drops duplicates and older pointers', () => {
    const h = harness({ committed: 4 })
    h.orderer.offer(pointer(1, 2))
    h.orderer.offer(pointer(1, 2))
    h.orderer.offer(pointer(2, 2))
    h.orderer.offer(pointer(2, 4))
    h.orderer.offer(pointer(3, 3))
    expect(h.seqs()).toEqual([1, 2, 3, 4])
    expect(h.reads).toEqual([])
  })

  it('s+2 before s+1: reads s+1 from the database, delivers both in order, then drops the late s+1', async () => {
    const h = harness({ committed: 7, lowest: new Map([[ROOM, 5]]) })
    h.orderer.offer(pointer(7, 7))
    await settled(() => h.seqs().length === 2)
    expect(h.seqs()).toEqual([6, 7])
    expect(h.reads).toEqual([{ roomId: ROOM, after: 5, limit: 1 }]) // the hole only: 7 came with its pointer
    h.orderer.offer(pointer(6, 6))
    expect(h.seqs()).toEqual([6, 7])
    expect(h.orderer.deliveredUpTo(ROOM)).toBe(7)
  })

  it('a pointer without its events (too big for the payload) is read from the database', async () => {
    const h = harness({ committed: 3 })
    h.orderer.offer(pointer(1, 3, false))
    await settled(() => h.seqs().length === 3)
    expect(h.seqs()).toEqual([1, 2, 3])
    expect(h.reads).toHaveLength(1)
  })

  it('baseline race: the first pointer for a room starts from what its live sockets were sent, not from the pointer', async () => {
    // A socket replayed up to 10; node C's commit 12 is announced before node B's 11.
    const h = harness({ committed: 12, lowest: new Map([[ROOM, 10]]) })
    h.orderer.offer(pointer(12, 12))
    await settled(() => h.seqs().length === 2)
    h.orderer.offer(pointer(11, 11))
    expect(h.seqs()).toEqual([11, 12])
  })

  it('with every local socket still replaying, a room starts at its first pointer (their own gap check covers the rest)', () => {
    const h = harness({ committed: 12, lowest: new Map([[ROOM, null]]) })
    h.orderer.offer(pointer(12, 12))
    expect(h.seqs()).toEqual([12])
    expect(h.reads).toEqual([])
  })

  it('rooms nobody here follows are neither delivered nor read', () => {
    const h = harness({ committed: 3, lowest: new Map() })
    h.orderer.offer(pointer(3, 3, false))
    h.orderer.offer(pointer(1, 1))
    expect(h.delivered).toEqual([])
    expect(h.reads).toEqual([])
    expect(h.orderer.deliveredUpTo(ROOM)).toBeUndefined()
  })

  it('a room followed again after nobody here did starts afresh from its live sockets, not from what was delivered before', () => {
    const h = harness({ committed: 40 })
    h.orderer.offer(pointer(1, 1))
    // Its sockets left, and a new one subscribed and replayed up to 39, with no pointer heard in between.
    h.refollow(ROOM, 39)
    h.orderer.offer(pointer(40, 40))
    expect(h.seqs()).toEqual([1, 40])
    expect(h.reads).toEqual([])
  })

  it('pointers that arrive during a read wait behind it: the room is delivered in seq order', async () => {
    const h = harness({ committed: 9, lowest: new Map([[ROOM, 0]]) })
    const open = h.hold()
    h.orderer.offer(pointer(3, 3)) // hole 1..2: a read starts and is held
    h.orderer.offer(pointer(4, 4))
    h.orderer.offer(pointer(1, 2))
    h.orderer.offer(pointer(5, 9, false))
    expect(h.delivered).toEqual([])
    open()
    await settled(() => h.seqs().length === 9)
    expect(h.seqs()).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9])
  })

  it('rooms are ordered independently', async () => {
    const h = harness({
      committed: 2,
      lowest: new Map([
        [ROOM, 0],
        [OTHER, 0],
      ]),
    })
    h.orderer.offer(pointer(2, 2, true, OTHER))
    h.orderer.offer(pointer(1, 1))
    expect(h.seqs(ROOM)).toEqual([1])
    await settled(() => h.seqs(OTHER).length === 2)
    expect(h.seqs(OTHER)).toEqual([1, 2])
  })

  it('a failed read is tried again while the room is followed', async () => {
    const h = harness({ committed: 2 })
    h.failReads(2)
    h.orderer.offer(pointer(2, 2))
    await settled(() => h.seqs().length === 2)
    expect(h.seqs()).toEqual([1, 2])
    expect(h.reads.length).toBe(3)
  })

  it('resync reads every followed room from where it was delivered to the end of the log', async () => {
    const h = harness({ committed: 2, maxRead: 4 })
    h.orderer.offer(pointer(1, 2))
    h.log.committed = 11 // committed while the bus was away: no pointer ever comes for them
    await h.orderer.resync()
    expect(h.seqs()).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11])
    expect(h.reads.map((read) => read.after)).toEqual([2, 6, 10])
  })

  it('resync starts a room not heard of yet from its live sockets', async () => {
    const h = harness({ committed: 6, lowest: new Map([[ROOM, 4]]) })
    await h.orderer.resync()
    expect(h.seqs()).toEqual([5, 6])
  })

  it('resync waits for a room whose sockets are all still replaying, then reads it from what the first live one was sent', async () => {
    const h = harness({ committed: 8, lowest: new Map([[ROOM, null]]) })
    const resynced = h.orderer.resync()
    await settled(() => h.reads.length > 0) // nothing to read from yet: retried
    expect(h.reads).toEqual([])
    h.lowest.set(ROOM, 6) // its replay ended at 6
    await resynced
    expect(h.seqs()).toEqual([7, 8])
  })

  it('a hole wider than one read is jumped to its last maxRead events (sockets fill or reset on their own)', async () => {
    const h = harness({ committed: 100, maxRead: 10 })
    h.orderer.offer(pointer(100, 100, false))
    await settled(() => h.seqs().length === 10)
    expect(h.seqs()).toEqual(run(91, 100).map((e) => e.seq))
  })

  it('with a grace period, a hole filled by its own late pointers is never read', async () => {
    const h = harness({ committed: 9, graceMs: 60_000 })
    h.orderer.offer(pointer(7, 9)) // 1..6 not heard yet
    h.orderer.offer(pointer(4, 6))
    expect(h.delivered).toEqual([])
    h.orderer.offer(pointer(1, 3))
    await settled(() => h.seqs().length === 9)
    expect(h.seqs()).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9])
    expect(h.reads).toEqual([])
  })

  it('with a grace period, a hole still open when it ends is read', async () => {
    const h = harness({ committed: 3, graceMs: 5 })
    h.orderer.offer(pointer(3, 3))
    await settled(() => h.seqs().length === 3)
    expect(h.seqs()).toEqual([1, 2, 3])
    expect(h.reads).toEqual([{ roomId: ROOM, after: 0, limit: 2 }])
  })

  it('a pointer without its events is read at once, grace or not', async () => {
    const h = harness({ committed: 3, graceMs: 60_000 })
    h.orderer.offer(pointer(1, 3, false))
    await settled(() => h.seqs().length === 3)
    expect(h.seqs()).toEqual([1, 2, 3])
  })
})
