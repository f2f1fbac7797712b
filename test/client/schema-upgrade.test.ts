import { describe, expect, it } from 'vitest'
import { openFerryDb } from '../../client/db/open.ts'
import { DB_VERSION } from '../../client/db/schema.ts'
import { listOutbox } from '../../client/outbox/store.ts'
import { searchDeviceIn } from '../../client/search/device.ts'
import { readIndex, rebuiltIndex } from '../../client/search/index.ts'
import { event, ROOM_A, ROOM_B } from './support.ts'

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
      'session',
    ])
    expect((await listOutbox(db)).map((i) => i.body)).toEqual(['queued 1', 'queued 2'])
    const roomB = await db.getAllFromIndex('outbox', 'by-room', IDBKeyRange.bound([ROOM_B, 0], [ROOM_B, Infinity]))
    expect(roomB.map((i) => i.body)).toEqual(['queued 2'])
    expect(await db.get('cursors', ROOM_A)).toMatchObject({ lastSeq: 7 })
    await db.put('drafts', { roomId: ROOM_A, text: 'half a thought' })
    db.close()
  })

  it('version 8 indexes the messages version 7 cached, skipping damaged rows', async () => {
    const name = `ferry-upgrade-search-${Date.now()}`
    await createVersion7WithMessages(name)
    const db = await openFerryDb({}, name)
    expect(db.version).toBe(DB_VERSION)
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
