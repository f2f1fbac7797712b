import { act, cleanup, render, screen, waitFor } from '@testing-library/preact'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { getDb } from '../../client/db/page.ts'
import { drafts, outbox, rooms, route, user } from '../../client/state/store.ts'
import { setClock } from '../../client/time/clock.ts'
import { setTimeSettings } from '../../client/time/format.ts'
import { RoomList } from '../../client/ui/RoomList.tsx'
import { ALICE, BOB, FIXTURE_TIME, message, ROOM_A, ROOM_B, roomFixture } from './support.ts'

afterEach(() => {
  cleanup()
  setClock(undefined)
  setTimeSettings({})
})

describe('the room list screen', () => {
  beforeEach(async () => {
    setClock(() => FIXTURE_TIME)
    setTimeSettings({ locale: 'en-GB', timeZone: 'UTC' })
    user.value = { id: ALICE, username: 'alice', createdAt: new Date(FIXTURE_TIME).toISOString() }
    route.value = { name: 'rooms' }
    outbox.value = []
    drafts.value = {}
    const last = {
      ...message(ROOM_B, 3, crypto.randomUUID(), 'tide is in', BOB),
      authorName: 'bob',
      createdAt: new Date(FIXTURE_TIME - 5 * 60_000).toISOString(),
    }
    rooms.value = [
      roomFixture(ROOM_A, { name: 'Quiet cove', createdAt: new Date(FIXTURE_TIME - 86_400_000).toISOString() }),
      roomFixture(ROOM_B, { name: 'Harbour', lastMessage: last, unreadCount: 3 }),
      roomFixture('00000000-0000-4000-8000-00000000000c', { name: 'Not mine', role: null, visibility: 'public' }),
    ]
    const db = await getDb()
    await db.clear('drafts')
    await db.put('drafts', { roomId: ROOM_A, text: 'kept on the device' })
  })

  it('reads the drafts from the device on first paint (a cold start offline has no other), and labels rows fully', async () => {
    render(<RoomList />)
    const links = screen.getAllByRole('link')
    expect(links.map((l) => l.getAttribute('href'))).toEqual([`/rooms/${ROOM_B}`, `/rooms/${ROOM_A}`])
    expect(links[0]!.getAttribute('aria-label')).toBe('Harbour, private. 5 min. bob: tide is in. 3 unread')
    await waitFor(() => expect(links[1]!.textContent).toContain('Draft: kept on the device'))
    expect(screen.queryByText('Not mine')).toBeNull()
    expect(screen.getByRole('button', { name: 'Discover' })).toBeTruthy()
  })

  it('caps the unread badge at 999+ as the divider does, with the exact count in the accessible names', async () => {
    rooms.value = rooms.value.map((room) => (room.id === ROOM_B ? { ...room, unreadCount: 1234 } : room))
    render(<RoomList />)
    const link = screen.getAllByRole('link')[0]!
    const badge = link.querySelector('.badge')!
    expect(badge.textContent).toBe('999+')
    expect(badge.getAttribute('aria-label')).toBe('1234 unread')
    expect(link.getAttribute('aria-label')).toBe('Harbour, private. 5 min. bob: tide is in. 999+ unread (1234)')
    await act(() => {
      rooms.value = rooms.value.map((room) => (room.id === ROOM_B ? { ...room, unreadCount: 999 } : room))
    })
    expect(link.querySelector('.badge')!.textContent).toBe('999')
    expect(link.getAttribute('aria-label')).toBe('Harbour, private. 5 min. bob: tide is in. 999 unread')
  })

  it('relative times move on by themselves as the clock does (a coarse tick, no other change needed)', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] })
    try {
      let clock = FIXTURE_TIME
      setClock(() => clock)
      render(<RoomList />)
      const time = () => screen.getAllByRole('link')[0]!.querySelector('.room__time')?.textContent
      expect(time()).toBe('5 min')
      clock += 10 * 60_000
      await act(() => {
        vi.advanceTimersByTime(30_000)
      })
      expect(time()).toBe('15 min')
      clock += 60 * 60_000
      await act(() => {
        vi.advanceTimersByTime(30_000)
      })
      expect(time()).toBe('11:55')
    } finally {
      vi.useRealTimers()
    }
  })
})
