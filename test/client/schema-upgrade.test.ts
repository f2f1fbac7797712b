import { describe, expect, it } from 'vitest'
import { storeEvents } from '../../client/db/messages.ts'
import { openFerryDb } from '../../client/db/open.ts'
import { clearUserData } from '../../client/db/rooms.ts'
import type { FerryDatabase } from '../../client/db/schema.ts'
import { DB_VERSION } from '../../client/db/schema.ts'
import { listOutbox } from '../../client/outbox/store.ts'
import { searchDeviceIn } from '../../client/search/device.ts'
import { fillSearchIndex, searchIndexComplete } from '../../client/search/fill.ts'
import { readIndex, rebuiltIndex } from '../../client/search/index.ts'
import type { RoomEvent } from '../../shared/schemas.ts'
import { event, freshDb, ROOM_A, ROOM_B } from './support.ts'

/**
 * A version-7 database (its stores as version 7 left them, frozen here) holding cached messages,
 * some of them damaged: rows that are not entries, a text of the wrong type, a broken snapshot.
 */
function createVersion7WithMessages(name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(name, 7)
    request.onupgradeneeded = () => {
      const db = request.result
      db.createObjectStore('session')
      db.createObjectStore('rooms', { keyPath: 'id' })
      db.createObjectStore('messages', { keyPath: ['roomId', 'seq'] }).createIndex('by-target', ['roomId', 'targetSeq'])
      const outbox = db.createObjectStore('outbox', { keyPath: 'clientId' })
      outbox.createIndex('by-order', 'order')
      outbox.createIndex('by-room', ['roomId', 'order'])
      db.createObjectStore('cursors', { keyPath: 'roomId' })
      db.createObjectStore('drafts', { keyPath: 'roomId' })
      db.createObjectStore('firstScreen')
      db.createObjectStore('members', { keyPath: 'roomId' })
      db.createObjectStore('pushDevice')
      db.createObjectStore('roomNotify', { keyPath: 'roomId' })
      db.createObjectStore('pushPrompt')
    }
    request.onsuccess = () => {
      const db = request.result
      const tx = db.transaction(['messages', 'rooms'], 'readwrite')
      const messages = tx.objectStore('messages')
      messages.put(event(ROOM_A, 1, { body: 'Depot gate at noon' }))
      messages.put(event(ROOM_A, 2, { body: 'the old plan' }))
      messages.put(event(ROOM_A, 3, { kind: 'message.edited', targetSeq: 2, body: 'the new plan', clientId: null }))
      messages.put(event(ROOM_A, 4, { body: 'gone now' }))
      messages.put(event(ROOM_A, 5, { kind: 'message.deleted', targetSeq: 4, body: null, clientId: null }))
      messages.put(event(ROOM_B, 1, { body: 'café depot' }))
      // Damaged rows: not entries at all, or entries with a broken snapshot (the entry stays, without it).
      messages.put({ roomId: ROOM_A, seq: 6, kind: 42, body: 'depot broken' })
      messages.put({ roomId: ROOM_A, seq: 7, kind: 'message.created', body: 7, createdAt: 'x', targetSeq: null })
      messages.put({ roomId: ROOM_A, seq: 8, kind: 'message.created', body: 'depot', targetSeq: null })
      messages.put({ ...event(ROOM_A, 9, { body: 'depot with a bad snapshot' }), state: { through: 'never' } })
      tx.objectStore('rooms').put({ id: ROOM_A, name: 'Yard' })
      tx.oncomplete = () => {
        db.close()
        resolve()
      }
      tx.onerror = () => reject(tx.error)
    }
    request.onerror = () => reject(request.error)
  })
}

/** A version-7 database (stores as above) holding these entries, every room's cursor claiming them. */
function createVersion7Holding(name: string, entries: readonly RoomEvent[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(name, 7)
    request.onupgradeneeded = () => {
      const db = request.result
      db.createObjectStore('session')
      db.createObjectStore('rooms', { keyPath: 'id' })
      db.createObjectStore('messages', { keyPath: ['roomId', 'seq'] }).createIndex('by-target', ['roomId', 'targetSeq'])
      const outbox = db.createObjectStore('outbox', { keyPath: 'clientId' })
      outbox.createIndex('by-order', 'order')
      outbox.createIndex('by-room', ['roomId', 'order'])
      db.createObjectStore('cursors', { keyPath: 'roomId' })
      db.createObjectStore('drafts', { keyPath: 'roomId' })
      db.createObjectStore('firstScreen')
      db.createObjectStore('members', { keyPath: 'roomId' })
      db.createObjectStore('pushDevice')
      db.createObjectStore('roomNotify', { keyPath: 'roomId' })
      db.createObjectStore('pushPrompt')
    }
    request.onsuccess = () => {
      const db = request.result
      const tx = db.transaction(['messages', 'cursors'], 'readwrite')
      const top = new Map<string, number>()
      for (const e of entries) {
        tx.objectStore('messages').put(e)
        top.set(e.roomId, Math.max(top.get(e.roomId) ?? 0, e.seq))
      }
      for (const [roomId, lastSeq] of top)
        tx.objectStore('cursors').put({ roomId, lastSeq, ranges: [[1, lastSeq]], hasOlder: false })
      tx.oncomplete = () => {
        db.close()
        resolve()
      }
      tx.onerror = () => reject(tx.error)
    }
    request.onerror = () => reject(request.error)
  })
}

const said = (roomId: string, seq: number, body: string) => event(roomId, seq, { body })
const edit = (roomId: string, seq: number, target: number, body: string) =>
  event(roomId, seq, { kind: 'message.edited', targetSeq: target, body, clientId: null })
const del = (roomId: string, seq: number, target: number) =>
  event(roomId, seq, { kind: 'message.deleted', targetSeq: target, body: null, clientId: null })

/** What the index holds, in short: room letter, seq, text. */
async function indexed(db: FerryDatabase): Promise<string[]> {
  return (await readIndex(db)).map((r) => `${r.roomId === ROOM_A ? 'A' : 'B'}${r.seq} ${r.text}`)
}

/** Twelve messages in room A (one edited later in the log) and three in room B. */
function cache(): RoomEvent[] {
  const a = Array.from({ length: 12 }, (_, i) => said(ROOM_A, i + 1, `cargo note ${i + 1}`))
  const b = Array.from({ length: 3 }, (_, i) => said(ROOM_B, i + 1, `harbour note ${i + 1}`))
  return [...a, edit(ROOM_A, 13, 3, 'cargo note three, edited'), ...b]
}

/** Builds a database exactly as version 1 of the app left it (frozen here on purpose). */
function createVersion1(name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(name, 1)
    request.onupgradeneeded = () => {
      const db = request.result
      db.createObjectStore('session')
      db.createObjectStore('rooms', { keyPath: 'id' })
      db.createObjectStore('messages', { keyPath: ['roomId', 'seq'] })
      db.createObjectStore('outbox', { keyPath: 'clientId' }).createIndex('by-order', 'order')
      db.createObjectStore('cursors', { keyPath: 'roomId' })
    }
    request.onsuccess = () => {
      const db = request.result
      const tx = db.transaction(['outbox', 'cursors'], 'readwrite')
      const item = (clientId: string, roomId: string, order: number) => ({
        clientId,
        roomId,
        body: `queued ${order}`,
        order,
        createdAt: new Date().toISOString(),
        state: 'waiting',
        error: null,
        attempts: 0,
      })
      tx.objectStore('outbox').put(item('00000000-0000-4000-8000-000000000001', ROOM_A, 1))
      tx.objectStore('outbox').put(item('00000000-0000-4000-8000-000000000002', ROOM_B, 2))
      tx.objectStore('cursors').put({ roomId: ROOM_A, lastSeq: 7, ranges: [[1, 7]], hasOlder: false })
      tx.oncomplete = () => {
        db.close()
        resolve()
      }
      tx.onerror = () => reject(tx.error)
    }
    request.onerror = () => reject(request.error)
  })
}

describe('IndexedDB schema upgrade', () => {
  it('upgrades version 1 to the current version without losing the outbox', async () => {
    const name = `ferry-upgrade-${Date.now()}`
    await createVersion1(name)
    const db = await openFerryDb({}, name)
    expect(db.version).toBe(DB_VERSION)
    expect([...db.objectStoreNames].sort()).toEqual([
      'cursors',
      'drafts',
      'firstScreen',
      'members',
      'messages',
      'outbox',
      'pushDevice',
      'pushPrompt',
      'roomNotify',
      'rooms',
      'search',
      'searchFill',
      'session',
    ])
    expect((await listOutbox(db)).map((i) => i.body)).toEqual(['queued 1', 'queued 2'])
    const roomB = await db.getAllFromIndex('outbox', 'by-room', IDBKeyRange.bound([ROOM_B, 0], [ROOM_B, Infinity]))
    expect(roomB.map((i) => i.body)).toEqual(['queued 2'])
    expect(await db.get('cursors', ROOM_A)).toMatchObject({ lastSeq: 7 })
    await db.put('drafts', { roomId: ROOM_A, text: 'half a thought' })
    db.close()
  })

  it('version 8 only creates the index and marks its fill pending: the fill, after open, indexes what version 7 cached', async () => {
    const name = `ferry-upgrade-search-${Date.now()}`
    await createVersion7WithMessages(name)
    const db = await openFerryDb({}, name)
    expect(db.version).toBe(DB_VERSION)
    // The upgrade itself reads no message: the index is empty, its fill pending, the device says so.
    expect(await readIndex(db)).toEqual([])
    expect(await searchIndexComplete(db)).toBe(false)
    expect(await searchDeviceIn(db, 'depot', {})).toEqual([])
    expect(await fillSearchIndex(db, { chunk: 3, pause: async () => undefined })).toBe(true)
    expect(await searchIndexComplete(db)).toBe(true)
    const index = await readIndex(db)
    expect(index).toEqual(await rebuiltIndex(db))
    expect(index.map((r) => [r.roomId === ROOM_A ? 'A' : 'B', r.seq, r.text])).toEqual([
      ['A', 1, 'Depot gate at noon'],
      ['B', 1, 'café depot'],
      ['A', 2, 'the new plan'],
      ['A', 9, 'depot with a bad snapshot'],
    ])
    const hits = await searchDeviceIn(db, 'depot', {})
    expect(hits.map((h) => [h.roomName, h.seq])).toEqual([
      ['Yard', 9],
      ['', 1],
      ['Yard', 1],
    ])
    expect((await searchDeviceIn(db, 'plan', {}))[0]).toMatchObject({ seq: 2, edited: true })
    db.close()
  })

  it('closes an old connection when a newer version needs to upgrade (blocking)', async () => {
    const name = `ferry-blocking-${Date.now()}`
    let blocking = false
    const old = await openFerryDb({ onBlocking: () => (blocking = true) }, name)
    const newer = await new Promise<IDBDatabase>((resolve, reject) => {
      const request = indexedDB.open(name, DB_VERSION + 1)
      request.onsuccess = () => resolve(request.result)
      request.onerror = () => reject(request.error)
    })
    expect(blocking).toBe(true)
    expect(newer.version).toBe(DB_VERSION + 1)
    newer.close()
    old.close()
  })
})

describe('the search index filled after the version-8 upgrade', () => {
  it('a new database has nothing to fill; clearing the user data leaves nothing to fill either', async () => {
    const db = await freshDb()
    expect(await searchIndexComplete(db)).toBe(true)
    await clearUserData(db)
    expect(await searchIndexComplete(db)).toBe(true)
    db.close()
  })

  it('resumes where it stopped when the database was closed mid-fill, and ends equal to a rebuild', async () => {
    const name = `ferry-fill-resume-${Date.now()}`
    await createVersion7Holding(name, cache())
    const first = await openFerryDb({}, name)
    let chunks = 0
    // The page goes away after two chunks: the connection closes between two transactions.
    const done = await fillSearchIndex(first, {
      chunk: 4,
      pause: async () => {
        chunks += 1
        if (chunks === 2) first.close()
      },
    })
    expect(done).toBe(false)
    const second = await openFerryDb({}, name)
    expect(await searchIndexComplete(second)).toBe(false)
    // Two chunks of four entries (room A's 1 to 8) were indexed and stay; nothing else yet.
    expect(await indexed(second)).toEqual([
      'A1 cargo note 1',
      'A2 cargo note 2',
      'A3 cargo note three, edited',
      'A4 cargo note 4',
      'A5 cargo note 5',
      'A6 cargo note 6',
      'A7 cargo note 7',
      'A8 cargo note 8',
    ])
    let later = 0
    const counted = async () => {
      later += 1
    }
    expect(await fillSearchIndex(second, { chunk: 4, pause: counted })).toBe(true)
    // It went on after room A's seq 8: the 8 entries left (A9 to A13, B1 to B3), two full chunks
    // and an empty one that finds the end (from the start it would have taken four full ones).
    expect(later).toBe(2)
    expect(await readIndex(second)).toEqual(await rebuiltIndex(second))
    expect((await readIndex(second)).length).toBe(15)
    expect(await searchIndexComplete(second)).toBe(true)
    // Filling again finds nothing to do.
    expect(await fillSearchIndex(second, { chunk: 4, pause: async () => undefined })).toBe(true)
    second.close()
  })

  it('ends right when messages are stored, edited and deleted while it runs, before and after its position', async () => {
    const name = `ferry-fill-live-${Date.now()}`
    await createVersion7Holding(name, cache())
    const db = await openFerryDb({}, name)
    let chunks = 0
    const done = await fillSearchIndex(db, {
      chunk: 4,
      pause: async () => {
        chunks += 1
        if (chunks !== 1) return
        // After the first chunk (room A's 1 to 4): changes behind the fill's position and ahead of it.
        await storeEvents(db, ROOM_A, [
          edit(ROOM_A, 14, 1, 'cargo note one, edited live'),
          del(ROOM_A, 15, 2),
          edit(ROOM_A, 16, 9, 'cargo note nine, edited live'),
          del(ROOM_A, 17, 10),
          said(ROOM_A, 18, 'a new cargo message'),
        ])
        await storeEvents(db, ROOM_B, [said(ROOM_B, 4, 'a new harbour message'), del(ROOM_B, 5, 1)])
      },
    })
    expect(done).toBe(true)
    expect(await readIndex(db)).toEqual(await rebuiltIndex(db))
    expect(await indexed(db)).toEqual([
      'A1 cargo note one, edited live',
      'B2 harbour note 2',
      'A3 cargo note three, edited',
      'B3 harbour note 3',
      'A4 cargo note 4',
      'B4 a new harbour message',
      'A5 cargo note 5',
      'A6 cargo note 6',
      'A7 cargo note 7',
      'A8 cargo note 8',
      'A9 cargo note nine, edited live',
      'A11 cargo note 11',
      'A12 cargo note 12',
      'A18 a new cargo message',
    ])
    expect((await searchDeviceIn(db, 'nine', {})).map((h) => h.seq)).toEqual([9])
    expect(await searchDeviceIn(db, '"cargo note 10"', {})).toEqual([])
    db.close()
  })

  it('in chunks of the default size, messages close together read by range, ends equal to a rebuild', async () => {
    const name = `ferry-fill-default-${Date.now()}`
    const entries = [
      ...Array.from({ length: 60 }, (_, i) => said(ROOM_A, i + 1, `pallet ${i + 1}`)),
      edit(ROOM_A, 61, 3, 'pallet three, edited'),
      del(ROOM_A, 62, 20),
      edit(ROOM_A, 63, 59, 'pallet fifty-nine, edited'),
      edit(ROOM_A, 64, 3, 'pallet three, edited twice'),
      ...Array.from({ length: 12 }, (_, i) => said(ROOM_B, i * 20 + 1, `crate ${i * 20 + 1}`)),
    ]
    await createVersion7Holding(name, entries)
    const db = await openFerryDb({}, name)
    expect(await fillSearchIndex(db, { pause: async () => undefined })).toBe(true)
    const index = await readIndex(db)
    expect(index).toEqual(await rebuiltIndex(db))
    expect(index.length).toBe(59 + 12)
    const text = new Map(index.map((r) => [`${r.roomId === ROOM_A ? 'A' : 'B'}${r.seq}`, r.text]))
    expect([text.get('A3'), text.get('A20'), text.get('A59'), text.get('B221')]).toEqual([
      'pallet three, edited twice',
      undefined,
      'pallet fifty-nine, edited',
      'crate 221',
    ])
    db.close()
  })

  it('two fills at once (two tabs) end with the same index as one', async () => {
    const name = `ferry-fill-twice-${Date.now()}`
    await createVersion7Holding(name, cache())
    const one = await openFerryDb({}, name)
    const two = await openFerryDb({}, name)
    const pause = async () => undefined
    expect(
      await Promise.all([fillSearchIndex(one, { chunk: 3, pause }), fillSearchIndex(two, { chunk: 5, pause })]),
    ).toEqual([true, true])
    expect(await readIndex(one)).toEqual(await rebuiltIndex(one))
    expect((await readIndex(one)).length).toBe(15)
    one.close()
    two.close()
  })
})
