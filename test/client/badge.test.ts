/** The app badge from the page (issue 10): the unread total on every change of the counts, cleared at 0. */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { startBadge } from '../../client/state/badge.ts'
import { rooms } from '../../client/state/store.ts'
import { ROOM_A, ROOM_B, roomFixture } from './support.ts'

let stop: (() => void) | null = null
afterEach(() => stop?.())

describe('the app badge from the page', () => {
  it('sets the unread total of the person’s rooms on each change, and clears it at 0', async () => {
    const nav = { setAppBadge: vi.fn(async () => undefined), clearAppBadge: vi.fn(async () => undefined) }
    rooms.value = [roomFixture(ROOM_A, { unreadCount: 2 }), roomFixture(ROOM_B, { unreadCount: 3 })]
    stop = startBadge(nav)
    expect(nav.setAppBadge).toHaveBeenLastCalledWith(5)
    // A public room the person is not in counts nothing; an unchanged total is not set again.
    rooms.value = [...rooms.value, roomFixture('00000000-0000-4000-8000-00000000000c', { role: null, unreadCount: 9 })]
    expect(nav.setAppBadge).toHaveBeenCalledTimes(1)
    rooms.value = [roomFixture(ROOM_A, { unreadCount: 0 }), roomFixture(ROOM_B, { unreadCount: 1 })]
    expect(nav.setAppBadge).toHaveBeenLastCalledWith(1)
    rooms.value = []
    expect(nav.clearAppBadge).toHaveBeenCalledTimes(1)
  })

  it('does nothing where the Badging API is missing, and a refusal is no error', async () => {
    rooms.value = [roomFixture(ROOM_A, { unreadCount: 2 })]
    stop = startBadge({})
    stop()
    const refusing = {
      setAppBadge: vi.fn(async () => Promise.reject(new DOMException('not installed', 'NotAllowedError'))),
    }
    stop = startBadge(refusing)
    await Promise.resolve()
    expect(refusing.setAppBadge).toHaveBeenCalledWith(2)
  })
})
