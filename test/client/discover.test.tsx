/**
 * Discover (issue 8 item 7 leftovers): joining opens the room and Back returns to Discover; the
 * results are live (a public room created meanwhile appears, one joined on another device goes).
 */
import { act, cleanup, fireEvent, render, screen, waitFor } from '@testing-library/preact'
import { afterEach, beforeEach, describe, expect, it, onTestFinished, vi } from 'vitest'
import { getDb } from '../../client/db/page.ts'
import { discoverList, matchesSearch, rememberCreated } from '../../client/state/discover.ts'
import { startFeed } from '../../client/state/feed.ts'
import { routeFromPath } from '../../client/state/navigation.ts'
import { createdPublicRooms, rooms, route, status, timeline, user } from '../../client/state/store.ts'
import { publish } from '../../client/tabs/bus.ts'
import { Discover } from '../../client/ui/Discover.tsx'
import { RoomView } from '../../client/ui/RoomView.tsx'
import type { Room } from '../../shared/schemas.ts'
import { ALICE, BOB, FIXTURE_TIME, ROOM_A, ROOM_B, roomFixture } from './support.ts'

const ROOM_C = '00000000-0000-4000-8000-00000000000c'
const at = (s: number) => new Date(FIXTURE_TIME + s * 1000).toISOString()
const open = (id: string, name: string, s: number): Room =>
  roomFixture(id, { name, visibility: 'public', role: null, ownerId: BOB, createdAt: at(s), unreadCount: 0 })

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } })

describe('what Discover lists (pure)', () => {
  const kayak = open(ROOM_A, 'Kayak club', 1)
  const quay = open(ROOM_B, 'Quay', 2)

  it('a room created after the results (newer than all of them) and matching the search comes first', () => {
    const fresh = open(ROOM_C, 'Night kayaks', 3)
    expect(discoverList([quay, kayak], [fresh], new Set(), '').map((r) => r.name)).toEqual([
      'Night kayaks',
      'Quay',
      'Kayak club',
    ])
    expect(discoverList([kayak], [fresh], new Set(), '  KAYAK ').map((r) => r.name)).toEqual([
      'Night kayaks',
      'Kayak club',
    ])
    expect(discoverList([kayak], [fresh], new Set(), 'quay').map((r) => r.name)).toEqual(['Kayak club'])
    // Older than the newest result: the server's pages hold it where it belongs; never listed twice.
    expect(discoverList([quay, kayak], [kayak], new Set(), '').map((r) => r.name)).toEqual(['Quay', 'Kayak club'])
  })

  it('rooms the person is in (joined here or on another device) are not listed', () => {
    expect(discoverList([quay, kayak], [], new Set([ROOM_B]), '').map((r) => r.name)).toEqual(['Kayak club'])
  })

  it('remembers a page of created rooms, newest last, each once', () => {
    let list: Room[] = []
    for (let i = 0; i < 25; i += 1)
      list = rememberCreated(list, open(`00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, `r${i}`, i))
    expect(list).toHaveLength(20)
    expect(list.at(-1)!.name).toBe('r24')
    expect(rememberCreated([kayak], kayak)).toEqual([kayak])
  })

  it('matches as the server does: contains, ignoring case and surrounding spaces', () => {
    expect(matchesSearch('Kayak club', ' CLUB ')).toBe(true)
    expect(matchesSearch('Kayak club', '')).toBe(true)
    expect(matchesSearch('Kayak club', 'quay')).toBe(false)
  })
})

describe('the Discover screen', () => {
  beforeEach(async () => {
    user.value = { id: ALICE, username: 'alice', createdAt: at(0) }
    rooms.value = []
    createdPublicRooms.value = []
    timeline.value = null
    status.value = { socket: 'open', retryAt: null, catchingUp: 0, offline: false }
    route.value = { name: 'discover' }
    history.replaceState(null, '', '/discover')
    await (await getDb()).clear('rooms')
  })
  afterEach(() => {
    cleanup()
    vi.unstubAllGlobals()
  })

  it('Join opens the joined room, and its Back returns to Discover (also after a reload of that entry)', async () => {
    const quay = open(ROOM_B, 'Quay', 2)
    vi.stubGlobal('fetch', async (url: string) => {
      if (url.startsWith('/api/rooms/discover')) return json({ rooms: [quay], hasMore: false })
      if (url === `/api/rooms/${ROOM_B}/join`) return json({ room: { ...quay, role: 'member', memberCount: 2 } })
      if (url === '/api/rooms') return json({ rooms: [{ ...quay, role: 'member' }] })
      return json({ error: { code: 'not_found', message: 'No such room' } }, 404)
    })
    render(<Discover />)
    fireEvent.click(await screen.findByRole('button', { name: 'Join Quay' }))
    await waitFor(() => expect(route.value).toEqual({ name: 'room', roomId: ROOM_B, from: 'discover' }))
    expect(location.pathname).toBe(`/rooms/${ROOM_B}`)
    expect(routeFromPath(location.pathname, history.state)).toEqual({ name: 'room', roomId: ROOM_B, from: 'discover' })
    expect(routeFromPath(location.pathname, null)).toEqual({ name: 'room', roomId: ROOM_B })
    cleanup()
    render(<RoomView roomId={ROOM_B} />)
    fireEvent.click(screen.getByRole('button', { name: 'Back to Discover' }))
    expect(route.value).toEqual({ name: 'discover' })
    expect(location.pathname).toBe('/discover')
  })

  it('is live: a public room created meanwhile appears, and one joined on another device goes', async () => {
    const kayak = open(ROOM_A, 'Kayak club', 1)
    vi.stubGlobal('fetch', async (url: string) =>
      url.startsWith('/api/rooms/discover') ? json({ rooms: [kayak], hasMore: false }) : json({ rooms: [] }),
    )
    const stopFeed = startFeed(await getDb())
    onTestFinished(stopFeed)
    render(<Discover />)
    await screen.findByRole('button', { name: 'Join Kayak club' })
    // The engine hears room_created and tells every tab.
    await act(() => publish({ type: 'room-created', room: open(ROOM_C, 'Pier', 5) }))
    await waitFor(() => expect(screen.getByRole('button', { name: 'Join Pier' })).toBeTruthy())
    expect(screen.getAllByRole('button', { name: /^Join / }).map((b) => b.getAttribute('aria-label'))).toEqual([
      'Join Pier',
      'Join Kayak club',
    ])
    // Joined on another device: room_added puts it in the room list, and Discover drops it.
    await act(() => {
      rooms.value = [{ ...kayak, role: 'member' }]
    })
    await waitFor(() => expect(screen.queryByRole('button', { name: 'Join Kayak club' })).toBeNull())
    expect(screen.getByRole('status').textContent).toBe('1 public room found')
  })
})
