import { describe, expect, it } from 'vitest'
import { getCursor, newestEntries, resetCursor, storeEvents } from '../../client/db/messages.ts'
import { event, freshDb, ROOM_A } from './support.ts'

describe('storing room log entries', () => {
  it('stores new entries, drops ones it holds and advances the cursor', async () => {
    const db = await freshDb()
    const first = await storeEvents(db, ROOM_A, [event(ROOM_A, 1), event(ROOM_A, 2)])
    expect(first.fresh.map((e) => e.seq)).toEqual([1, 2])
    expect(first.cursor.lastSeq).toBe(2)
    const again = await storeEvents(db, ROOM_A, [event(ROOM_A, 2, { body: 'tampered replay' }), event(ROOM_A, 3)])
    expect(again.fresh.map((e) => e.seq)).toEqual([3])
    const entries = await newestEntries(db, ROOM_A, 10)
    expect(entries.map((e) => e.body)).toEqual(['message 1', 'message 2', 'message 3'])
  })

  it('reports a gap, keeps the cursor before it, and closes it once the hole is filled', async () => {
    const db = await freshDb()
    await storeEvents(db, ROOM_A, [event(ROOM_A, 1)])
    const ahead = await storeEvents(db, ROOM_A, [event(ROOM_A, 4), event(ROOM_A, 5)])
    expect(ahead.gap).toEqual([2, 3])
    expect(ahead.cursor.lastSeq).toBe(1)
    const filled = await storeEvents(db, ROOM_A, [event(ROOM_A, 2), event(ROOM_A, 3)])
    expect(filled.gap).toBeNull()
    expect(filled.cursor.lastSeq).toBe(5)
    expect(filled.cursor.ranges).toEqual([[1, 5]])
  })

  it('a reset moves the resume point and keeps older history as a separate range', async () => {
    const db = await freshDb()
    await storeEvents(db, ROOM_A, [event(ROOM_A, 1), event(ROOM_A, 2)])
    await resetCursor(db, ROOM_A, 900)
    const live = await storeEvents(db, ROOM_A, [event(ROOM_A, 901)])
    expect(live.gap).toBeNull()
    expect(live.cursor.lastSeq).toBe(901)
    expect((await getCursor(db, ROOM_A)).ranges).toEqual([
      [1, 2],
      [901, 901],
    ])
  })
})
