/**
 * The `focus` frame (issue 10): each tab says which room it shows while
 * visible; the leader sends the socket the latest one, only on change, and
 * again on every new socket.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { startFocusReports } from '../../client/state/focus.ts'
import { route, user } from '../../client/state/store.ts'
import { FocusTracker } from '../../client/sync/focus.ts'
import { onTabMessage } from '../../client/tabs/bus.ts'
import type { TabMessage } from '../../client/tabs/messages.ts'
import type { FocusFrame } from '../../shared/push/contract.ts'
import { ALICE, ROOM_A, ROOM_B } from './support.ts'

function tracker(open = true) {
  const frames: FocusFrame[] = []
  const state = { open }
  const focus = new FocusTracker((frame) => {
    if (!state.open) return false
    frames.push(frame)
    return true
  })
  return { focus, frames, state }
}

describe('the leader’s focus frames', () => {
  it('names the room of the tab that reported one last, and null when none shows a room', () => {
    const { focus, frames } = tracker()
    focus.newSocket()
    // A fresh socket is unfocused already: no null frame.
    expect(frames).toEqual([])
    focus.report('tab1', ROOM_A)
    focus.report('tab2', ROOM_B)
    focus.report('tab2', ROOM_B)
    focus.report('tab2', null)
    focus.report('tab1', null)
    expect(frames).toEqual([
      { type: 'focus', roomId: ROOM_A },
      { type: 'focus', roomId: ROOM_B },
      { type: 'focus', roomId: ROOM_A },
      { type: 'focus', roomId: null },
    ])
  })

  it('says it again on a new socket, and what changed while there was none', () => {
    const { focus, frames, state } = tracker()
    focus.newSocket()
    focus.report('tab1', ROOM_A)
    focus.lostSocket()
    state.open = false
    focus.report('tab1', ROOM_B)
    state.open = true
    focus.newSocket()
    expect(frames).toEqual([
      { type: 'focus', roomId: ROOM_A },
      { type: 'focus', roomId: ROOM_B },
    ])
  })
})

describe('a refused focus frame', () => {
  it('is said again after the server’s hint (rate_limited names no frame)', () => {
    const frames: FocusFrame[] = []
    const timers: Array<{ fn: () => void; ms: number }> = []
    const focus = new FocusTracker(
      (frame) => {
        frames.push(frame)
        return true
      },
      (fn, ms) => {
        timers.push({ fn, ms })
        return 0 as unknown as ReturnType<typeof setTimeout>
      },
    )
    focus.newSocket()
    // Nothing said yet on this socket: nothing to say again.
    focus.refused(500)
    expect(timers).toEqual([])
    focus.report('tab1', ROOM_A)
    focus.refused(2_500)
    focus.refused(2_500)
    expect(timers.map((t) => t.ms)).toEqual([2_500])
    timers[0]!.fn()
    expect(frames).toEqual([
      { type: 'focus', roomId: ROOM_A },
      { type: 'focus', roomId: ROOM_A },
    ])
  })
})

describe('a tab’s focus reports', () => {
  const heard: TabMessage[] = []
  let stopListening: (() => void) | null = null
  let stop: (() => void) | null = null
  afterEach(() => {
    stop?.()
    stopListening?.()
    heard.length = 0
  })

  it('reports the open room while visible, null when hidden or on the list, and again when a leader asks', async () => {
    stopListening = onTabMessage((m) => {
      if (m.type === 'focus') heard.push(m)
    })
    user.value = { id: ALICE, username: 'alice', createdAt: '2026-11-01T00:00:00.000Z' }
    route.value = { name: 'room', roomId: ROOM_A }
    stop = startFocusReports()
    const rooms = () => heard.map((m) => (m.type === 'focus' ? m.roomId : 'other'))
    expect(rooms()).toEqual([ROOM_A])

    Object.defineProperty(document, 'visibilityState', { value: 'hidden', configurable: true })
    document.dispatchEvent(new Event('visibilitychange'))
    Object.defineProperty(document, 'visibilityState', { value: 'visible', configurable: true })
    document.dispatchEvent(new Event('visibilitychange'))
    route.value = { name: 'rooms' }
    expect(rooms()).toEqual([ROOM_A, null, ROOM_A, null])

    const { publish } = await import('../../client/tabs/bus.ts')
    publish({ type: 'focus-ask' })
    expect(rooms()).toEqual([ROOM_A, null, ROOM_A, null, null])
    window.dispatchEvent(new Event('pagehide'))
    expect(rooms().at(-1)).toBeNull()
  })
})
