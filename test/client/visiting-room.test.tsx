/**
 * A public room opened from a link is shown from the server's row (`visiting`) until the room list
 * holds it. That copy must never outlive the list's row: a question about the room that the
 * server answered after the person joined (its copy says "member") would otherwise come back as
 * the room's state once a refresh drops the row (they left on another device), and the screen
 * would offer the composer instead of Join, for good (the flaky pending.e2e "Retry all", forced here).
 */
import { act, cleanup, fireEvent, render, screen, waitFor } from '@testing-library/preact'
import { afterEach, beforeEach, describe, expect, it, onTestFinished, vi } from 'vitest'
import { getDb } from '../../client/db/page.ts'
import { replaceRooms } from '../../client/db/rooms.ts'
import { startFeed } from '../../client/state/feed.ts'
import { checkRoomExists } from '../../client/state/membership.ts'
import { outbox, rooms, route, status, timeline, user, visiting } from '../../client/state/store.ts'
import { publish } from '../../client/tabs/bus.ts'
import { RoomView } from '../../client/ui/RoomView.tsx'
import type { Room } from '../../shared/schemas.ts'
import { ALICE, BOB, FIXTURE_TIME, ROOM_A, roomFixture } from './support.ts'

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } })

const slipway = (role: Room['role']): Room =>
  roomFixture(ROOM_A, { name: 'Slipway', visibility: 'public', ownerId: BOB, role, lastSeq: 0, lastReadSeq: 0 })

beforeEach(async () => {
  user.value = { id: ALICE, username: 'alice', createdAt: new Date(FIXTURE_TIME).toISOString() }
  rooms.value = []
  outbox.value = []
  timeline.value = null
  visiting.value = null
  status.value = { socket: 'open', retryAt: null, catchingUp: 0, offline: false }
  route.value = { name: 'room', roomId: ROOM_A }
  await (await getDb()).clear('rooms')
  const stopFeed = startFeed(await getDb())
  onTestFinished(stopFeed)
})
afterEach(() => {
  cleanup()
  vi.unstubAllGlobals()
})

describe('a public room opened from a link, joined, then left on another device', () => {
  it('offers Join again when a refresh drops its row, even if a question about it was answered after the join', async () => {
    /** What the server says about the room now: the person's role in it. */
    let role: Room['role'] = null
    /** One answer about the room held back, as a loaded server or network does. */
    let release: () => void = () => undefined
    let holdNext = false
    vi.stubGlobal('fetch', async (url: string, init: RequestInit) => {
      const method = init.method ?? 'GET'
      if (method === 'GET' && url === `/api/rooms/${ROOM_A}`) {
        if (holdNext) {
          holdNext = false
          await new Promise<void>((resolve) => {
            release = resolve
          })
        }
        return json({ room: slipway(role) })
      }
      if (method === 'POST' && url === `/api/rooms/${ROOM_A}/join`) {
        role = 'member'
        return json({ room: slipway('member') })
      }
      if (method === 'GET' && url === '/api/rooms') return json({ rooms: role ? [slipway(role)] : [] })
      return json({ error: { code: 'not_found', message: `no fake for ${method} ${url}` } }, 404)
    })
    render(<RoomView roomId={ROOM_A} />)
    const join = await screen.findByRole('button', { name: 'Join this room' })
    // A second question about the room (the start's roomShown) is on its way while the person taps Join.
    holdNext = true
    const late = checkRoomExists(ROOM_A)
    fireEvent.click(join)
    await waitFor(() => expect(rooms.value.map((r) => r.role)).toEqual(['member']))
    await screen.findByRole('textbox', { name: 'Message' })
    // Its answer, read after the join, says "member".
    release()
    await act(() => late)

    // Left on another device: the next room list (a reconnect's) no longer holds it.
    role = null
    await act(async () => {
      await replaceRooms(await getDb(), [])
      publish({ type: 'rooms-changed' })
    })
    await waitFor(() => expect(rooms.value).toEqual([]))
    await screen.findByRole('button', { name: 'Join this room' })
    expect(screen.queryByRole('textbox', { name: 'Message' })).toBeNull()
  }, 30_000)

  it('a copy goes once the list holds the room as a member, not while it holds it unjoined', async () => {
    visiting.value = slipway(null)
    // A visited public room's row (roomShown stores it): the next refresh drops it, the copy stays for the screen.
    rooms.value = [slipway(null)]
    expect(visiting.value).toEqual(slipway(null))
    rooms.value = []
    expect(visiting.value).toEqual(slipway(null))
    rooms.value = [slipway('member')]
    expect(visiting.value).toBeNull()
  })
})
