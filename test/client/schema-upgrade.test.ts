import { describe, expect, it } from 'vitest'
import { openFerryDb } from '../../client/db/open.ts'
import { DB_VERSION } from '../../client/db/schema.ts'
import { listOutbox } from '../../client/outbox/store.ts'
import { ROOM_A, ROOM_B } from './support.ts'

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
      'session',
    ])
    expect((await listOutbox(db)).map((i) => i.body)).toEqual(['queued 1', 'queued 2'])
    const roomB = await db.getAllFromIndex('outbox', 'by-room', IDBKeyRange.bound([ROOM_B, 0], [ROOM_B, Infinity]))
    expect(roomB.map((i) => i.body)).toEqual(['queued 2'])
    expect(await db.get('cursors', ROOM_A)).toMatchObject({ lastSeq: 7 })
    await db.put('drafts', { roomId: ROOM_A, text: 'half a thought' })
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
