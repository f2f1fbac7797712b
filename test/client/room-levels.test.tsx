/**
 * Per-room notification levels (issue 10): applied at once, kept in IndexedDB
 * until the server confirmed them (offline too, across reloads), last write
 * wins, the server's levels fetched at start, damaged records ignored.
 */
import 'fake-indexeddb/auto'
import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/preact'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { getDb } from '../../client/db/page.ts'
import { putRoom } from '../../client/db/rooms.ts'
import { confirmRoomLevel, mergeServerLevels, readRoomLevels, roomNotifyOf } from '../../client/push/room-levels.ts'
import {
  levelOf,
  roomLevels,
  sendPendingLevels,
  setRoomLevel,
  startRoomLevels,
  syncRoomLevels,
} from '../../client/state/room-levels.ts'
import { rooms, route, user } from '../../client/state/store.ts'
import { RoomList } from '../../client/ui/RoomList.tsx'
import { RoomNotifyChoice } from '../../client/ui/RoomNotifyLevel.tsx'
import { ALICE, ROOM_A, ROOM_B, roomFixture } from './support.ts'

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } })

/** The server's two routes, with the levels it holds; `offline` refuses every request. */
function server(state: { offline: boolean; levels: Record<string, string>; refuse?: string }) {
  const asked: string[] = []
  vi.stubGlobal('fetch', async (url: string, init: RequestInit) => {
    asked.push(`${init.method} ${url}${init.body && init.method !== 'GET' ? ` ${init.body}` : ''}`)
    if (state.offline) throw new TypeError('Failed to fetch')
    if (url === '/api/notifications')
      return json({ rooms: Object.entries(state.levels).map(([roomId, level]) => ({ roomId, level })) })
    const match = /^\/api\/rooms\/([^/]+)\/notifications$/.exec(url)
    if (match?.[1]) {
      if (match[1] === state.refuse) return json({ error: { code: 'not_member', message: 'Join first' } }, 403)
      const { level } = JSON.parse(String(init.body))
      if (level === 'all') delete state.levels[match[1]]
      else state.levels[match[1]] = level
      return json({ roomId: match[1], level })
    }
    return json({ error: { code: 'not_found', message: 'No such route' } }, 404)
  })
  return asked
}

let stop: (() => void) | null = null
beforeEach(async () => {
  await (await getDb()).clear('roomNotify')
  roomLevels.value = {}
  stop = startRoomLevels()
})
afterEach(() => {
  stop?.()
  cleanup()
  vi.unstubAllGlobals()
})

describe('room levels on the device', () => {
  it('applies a choice at once, keeps it offline, and sends it when back (last write wins)', async () => {
    const state = { offline: true, levels: {} as Record<string, string> }
    const asked = server(state)
    await setRoomLevel(ROOM_A, 'mentions')
    await setRoomLevel(ROOM_A, 'none')
    await waitFor(() => expect(levelOf(ROOM_A)).toBe('none'))
    expect(await readRoomLevels(await getDb())).toEqual([{ roomId: ROOM_A, level: 'none', pending: true }])

    state.offline = false
    asked.length = 0
    await sendPendingLevels()
    expect(asked).toEqual([`PUT /api/rooms/${ROOM_A}/notifications {"level":"none"}`])
    expect(state.levels).toEqual({ [ROOM_A]: 'none' })
    expect(await readRoomLevels(await getDb())).toEqual([{ roomId: ROOM_A, level: 'none', pending: false }])
  })

  it('an answer for an older choice leaves the newer one waiting', async () => {
    const db = await getDb()
    await db.put('roomNotify', { roomId: ROOM_A, level: 'none', pending: true })
    await confirmRoomLevel(db, ROOM_A, 'mentions')
    expect(await readRoomLevels(db)).toEqual([{ roomId: ROOM_A, level: 'none', pending: true }])
    await confirmRoomLevel(db, ROOM_A, 'none')
    expect(await readRoomLevels(db)).toEqual([{ roomId: ROOM_A, level: 'none', pending: false }])
  })

  it('takes the server’s levels at start, except a choice still waiting here', async () => {
    const db = await getDb()
    await db.put('roomNotify', { roomId: ROOM_B, level: 'mentions', pending: false })
    const state = { offline: false, levels: { [ROOM_A]: 'none' } as Record<string, string> }
    server(state)
    await syncRoomLevels()
    await waitFor(() => expect(roomLevels.value).toEqual({ [ROOM_A]: 'none' }))

    // Chosen here while the server still said none: the choice goes out first, then nothing overrides it.
    state.offline = true
    await setRoomLevel(ROOM_A, 'all')
    await mergeServerLevels(db, [{ roomId: ROOM_A, level: 'none' }])
    expect(await readRoomLevels(db)).toEqual([{ roomId: ROOM_A, level: 'all', pending: true }])
    state.offline = false
    await syncRoomLevels()
    expect(state.levels).toEqual({})
    await waitFor(() => expect(levelOf(ROOM_A)).toBe('all'))
    expect(await readRoomLevels(db)).toEqual([])
  })

  it('a sync that changes nothing leaves the levels as they were (no re-render of every room row)', async () => {
    const state = { offline: false, levels: { [ROOM_A]: 'none' } as Record<string, string> }
    server(state)
    await syncRoomLevels()
    await waitFor(() => expect(roomLevels.value).toEqual({ [ROOM_A]: 'none' }))
    const before = roomLevels.value
    let changes = 0
    const unsubscribe = roomLevels.subscribe(() => changes++)
    changes = 0 // subscribe calls once at once
    await syncRoomLevels()
    await syncRoomLevels()
    // Give the tab bus's reload a chance to run (it would assign a new, equal object).
    await new Promise((resolve) => setTimeout(resolve, 50))
    unsubscribe()
    expect(roomLevels.value).toBe(before)
    expect(changes).toBe(0)
  })

  it('drops a choice the server will never take (not a member)', async () => {
    server({ offline: false, levels: {}, refuse: ROOM_B })
    await setRoomLevel(ROOM_B, 'none')
    expect(await readRoomLevels(await getDb())).toEqual([])
  })

  it('ignores damaged or older-shaped records', async () => {
    const db = await getDb()
    for (const bad of [
      { roomId: ROOM_A, level: 'loud', pending: false },
      { roomId: 'not-a-room', level: 'none', pending: false },
      { roomId: ROOM_B, level: 'none' },
    ])
      expect(roomNotifyOf(bad)).toBeNull()
    await db.put('roomNotify', { roomId: ROOM_A, level: 'loud', pending: false } as never)
    expect(await readRoomLevels(db)).toEqual([])
    await mergeServerLevels(db, [])
    expect(await db.count('roomNotify')).toBe(0)
  })
})

describe('room levels in the UI', () => {
  it('the room menu’s choice shows a muted mark on the room row at once, said in its name', async () => {
    server({ offline: true, levels: {} })
    user.value = { id: ALICE, username: 'alice', createdAt: '2026-11-01T00:00:00.000Z' }
    route.value = { name: 'rooms' }
    const cabin = roomFixture(ROOM_A)
    await putRoom(await getDb(), cabin)
    rooms.value = [cabin]
    render(
      <>
        <RoomNotifyChoice roomId={ROOM_A} />
        <RoomList />
      </>,
    )
    expect((screen.getByRole('radio', { name: 'All messages' }) as HTMLInputElement).checked).toBe(true)
    fireEvent.click(screen.getByRole('radio', { name: 'Only mentions' }))
    await screen.findByRole('link', { name: /^Cabin, private\. .*\. muted, mentions only$/ })
    expect(document.querySelector('.room .muted-icon')).not.toBeNull()
    fireEvent.click(screen.getByRole('radio', { name: 'Nothing' }))
    await screen.findByRole('link', { name: /^Cabin, private\. .*\. notifications off$/ })
    // Still offline: both wait, the last one kept.
    await sendPendingLevels()
    expect(await readRoomLevels(await getDb())).toEqual([{ roomId: ROOM_A, level: 'none', pending: true }])
  })
})
