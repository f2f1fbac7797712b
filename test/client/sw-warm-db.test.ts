/**
 * Issue 8 item 11: the service worker opens IndexedDB as a navigation starts, so the page's own
 * open (after its script has loaded) finds the database open. The warm connection must never stand
 * in the way: it closes after a while, and at once for a newer version's upgrade.
 */
import 'fake-indexeddb/auto'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { openFerryDb } from '../../client/db/open.ts'
import { DB_VERSION } from '../../client/db/schema.ts'
import { warmDatabase } from '../../client/sw/warm-db.ts'

afterEach(() => {
  vi.restoreAllMocks()
})

describe('warming the database from the service worker', () => {
  it('opens once for navigations close together and closes after the hold', async () => {
    const close = vi.fn()
    const open = vi.fn(async () => ({ close }))
    await warmDatabase(open, 20)
    await warmDatabase(open, 20)
    expect(open).toHaveBeenCalledTimes(1)
    expect(close).not.toHaveBeenCalled()
    await vi.waitFor(() => expect(close).toHaveBeenCalledTimes(1))
    // The next navigation opens again.
    await warmDatabase(open, 20)
    expect(open).toHaveBeenCalledTimes(2)
    await vi.waitFor(() => expect(close).toHaveBeenCalledTimes(2))
  })

  it('a version the worker cannot open is left to the page, quietly; any other failure is logged', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    await expect(
      warmDatabase(() => Promise.reject(new DOMException('newer on disk', 'VersionError')), 5),
    ).resolves.toBeUndefined()
    expect(warn).not.toHaveBeenCalled()
    await vi.waitFor(async () => {
      // The failed attempt is dropped after its hold, so the next navigation tries again.
      const open = vi.fn(() => Promise.reject(new Error('disk gone')))
      await warmDatabase(open, 5)
      expect(open).toHaveBeenCalledTimes(1)
    })
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('opening the database early failed'), expect.any(Error))
  })

  it('a newer version’s upgrade is not blocked by the warm connection', async () => {
    const name = `ferry-warm-${Date.now()}`
    await warmDatabase(() => openFerryDb({}, name), 50)
    const newer = await new Promise<IDBDatabase>((resolve, reject) => {
      const request = indexedDB.open(name, DB_VERSION + 1)
      request.onsuccess = () => resolve(request.result)
      request.onerror = () => reject(request.error)
      request.onblocked = () => reject(new Error('blocked by the warm connection'))
    })
    expect(newer.version).toBe(DB_VERSION + 1)
    newer.close()
  })
})
