/**
 * Issue 7 item 18: failures that used to vanish (a `void promise` with no
 * catch, a silent `catch {}`) are reported with context: on the console, or
 * to the person when they can act on it. Expected failures stay quiet.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { requestPersistence } from '../../client/pwa/persist.ts'
import { onTabMessage, publish } from '../../client/tabs/bus.ts'
import { electLeader } from '../../client/tabs/leader.ts'
import type { TabMessage } from '../../client/tabs/messages.ts'
import { event, ROOM_A } from './support.ts'
import { expectSubscribed, room, startEngine, stopAll, until, useFakeClock } from './sync-harness.ts'

afterEach(() => {
  stopAll()
  vi.useRealTimers()
  vi.unstubAllGlobals()
  vi.restoreAllMocks()
})

describe('the sync engine', () => {
  beforeEach(useFakeClock)

  it('reports events it could not store (the person is told when the device is full), without an unhandled rejection', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined)
    const problems: string[] = []
    const h = await startEngine(
      (url) => (url.pathname === '/api/rooms' ? { body: { rooms: [room] } } : { body: {}, status: 404 }),
      undefined,
      { onProblem: (text) => problems.push(text) },
    )
    await until(() => expectSubscribed(h.socket(), 0))
    const unhandled: unknown[] = []
    const onUnhandled = (reason: unknown) => unhandled.push(reason)
    process.on('unhandledRejection', onUnhandled)
    try {
      vi.spyOn(h.db, 'transaction').mockImplementation(() => {
        throw new DOMException('The quota has been exceeded.', 'QuotaExceededError')
      })
      h.socket().push({ type: 'events', roomId: ROOM_A, events: [event(ROOM_A, 1)] })
      await until(() =>
        expect(warn).toHaveBeenCalledWith(
          expect.stringMatching(/^\[ferry\] storing 1 events of room /),
          expect.any(DOMException),
        ),
      )
      expect(problems).toEqual([expect.stringContaining('out of storage')])
      await new Promise((resolve) => setImmediate(resolve))
      expect(unhandled).toEqual([])
    } finally {
      process.off('unhandledRejection', onUnhandled)
    }
  })
})

describe('the tab bus', () => {
  it('delivers to every handler even when one throws, and logs the failure', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined)
    const got: TabMessage[] = []
    const stopBad = onTabMessage(() => {
      throw new Error('handler bug')
    })
    const stopGood = onTabMessage((m) => got.push(m))
    try {
      expect(() => publish({ type: 'rooms-changed' })).not.toThrow()
      expect(got).toEqual([{ type: 'rooms-changed' }])
      expect(warn).toHaveBeenCalledWith(expect.stringContaining('[ferry]'), expect.any(Error))
    } finally {
      stopBad()
      stopGood()
    }
  })
})

describe('persistent storage', () => {
  it('a refused request resolves false and is logged (callers fire and forget it)', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined)
    vi.stubGlobal('navigator', {
      storage: {
        persisted: () => Promise.resolve(false),
        persist: () => Promise.reject(new DOMException('denied', 'NotAllowedError')),
      },
    })
    await expect(requestPersistence()).resolves.toBe(false)
    expect(warn).toHaveBeenCalledWith(
      expect.stringContaining('[ferry] asking for persistent storage'),
      expect.anything(),
    )
  })
})

describe('leader election', () => {
  function fakeLocks(failure: () => unknown) {
    const requests: number[] = []
    vi.stubGlobal('navigator', {
      locks: {
        request: () => {
          requests.push(Date.now())
          return Promise.reject(failure())
        },
      },
    })
    return requests
  }

  it('a lock request that fails for another reason than a steal is logged, then asked again', async () => {
    useFakeClock()
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined)
    const requests = fakeLocks(() => new TypeError('lock manager broke'))
    const stop = electLeader(() => () => undefined)
    try {
      await vi.advanceTimersByTimeAsync(1_500)
      expect(warn).toHaveBeenCalledWith(
        expect.stringContaining('[ferry] leading this tab failed'),
        expect.any(TypeError),
      )
      expect(requests.length).toBeGreaterThanOrEqual(2)
    } finally {
      stop()
    }
  })

  it('a stolen lock (AbortError) is the expected path: quiet', async () => {
    useFakeClock()
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined)
    fakeLocks(() => new DOMException('stolen', 'AbortError'))
    const stop = electLeader(() => () => undefined)
    try {
      await vi.advanceTimersByTimeAsync(1_500)
      expect(warn).not.toHaveBeenCalled()
    } finally {
      stop()
    }
  })
})
