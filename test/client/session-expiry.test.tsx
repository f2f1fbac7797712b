/**
 * Issue 7 item 15: a session known to be over (401 at start) must not leave
 * the previous person's history readable on a shared device, and must not
 * lose (or hand to someone else) the messages they wrote and never sent.
 *
 * The rule: on a 401 everything copied from the server (rooms, messages,
 * cursors) is wiped at once; what the person wrote and the server never got
 * (outbox, drafts) stays, tied to their user id, and is sent if and only if
 * the same person signs in again. Another person signing in wipes it. An ended
 * session never paints, online or offline.
 */
import { cleanup, render, screen } from '@testing-library/preact'
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { getDb } from '../../client/db/page.ts'
import { clearUserData, getSessionUser, setSessionUser } from '../../client/db/rooms.ts'
import type { FerryDatabase } from '../../client/db/schema.ts'
import { enqueue } from '../../client/outbox/store.ts'
import { boot } from '../../client/state/session.ts'
import { heldFor, outbox, rooms, route, timeline, user } from '../../client/state/store.ts'
import { AuthScreen } from '../../client/ui/AuthScreen.tsx'
import type { Room, User } from '../../shared/schemas.ts'
import { ALICE, BOB, event, FIXTURE_TIME, ROOM_A } from './support.ts'

const alice: User = { id: ALICE, username: 'alice', createdAt: new Date(FIXTURE_TIME).toISOString() }
const bob: User = { id: BOB, username: 'bob', createdAt: new Date(FIXTURE_TIME).toISOString() }
const room: Room = {
  id: ROOM_A,
  name: 'secret cabin',
  visibility: 'private',
  ownerId: ALICE,
  createdAt: new Date(FIXTURE_TIME).toISOString(),
  lastSeq: 2,
  role: 'owner',
  memberCount: 1,
  lastMessage: null,
  unreadCount: 0,
  lastReadSeq: 2,
}

type Answer = 'expired' | 'offline'
let answer: Answer = 'expired'

async function count(db: FerryDatabase, store: 'session' | 'rooms' | 'messages' | 'cursors' | 'outbox' | 'drafts') {
  return db.count(store)
}

/** Alice's device as she left it: signed in, a room with history, one message waiting, a draft. */
async function seedAlice(db: FerryDatabase): Promise<void> {
  await clearUserData(db)
  await setSessionUser(db, alice)
  await db.put('rooms', room)
  await db.put('messages', event(ROOM_A, 1, { body: 'the combination is 4711' }))
  await db.put('messages', event(ROOM_A, 2))
  await db.put('cursors', { roomId: ROOM_A, lastSeq: 2, ranges: [[1, 2]], hasOlder: false })
  await db.put('drafts', { roomId: ROOM_A, text: 'half-written' })
  await enqueue(db, ROOM_A, 'written offline, never sent')
}

beforeAll(async () => {
  await import('../../client/api/validate.ts')
})

beforeEach(async () => {
  answer = 'expired'
  vi.stubGlobal('fetch', async (url: string) => {
    if (answer === 'offline') throw new TypeError('Failed to fetch')
    if (url === '/api/auth/me') {
      return new Response(JSON.stringify({ error: { code: 'unauthorized', message: 'Not signed in' } }), {
        status: 401,
        headers: { 'content-type': 'application/json' },
      })
    }
    throw new Error(`unexpected request ${url}`)
  })
  user.value = undefined
  rooms.value = []
  outbox.value = []
  timeline.value = null
  heldFor.value = null
  route.value = { name: 'rooms' }
  await seedAlice(await getDb())
})

afterEach(() => {
  cleanup()
  vi.unstubAllGlobals()
})

describe('a session that ended while the device was away', () => {
  it('a 401 at start wipes the server copy at once and keeps only what the person wrote, under their id', async () => {
    await boot()
    const db = await getDb()
    expect(user.value).toBeNull()
    expect(rooms.value).toEqual([])
    expect(timeline.value).toBeNull()
    expect(await count(db, 'rooms')).toBe(0)
    expect(await count(db, 'messages')).toBe(0)
    expect(await count(db, 'cursors')).toBe(0)
    expect(await count(db, 'outbox')).toBe(1)
    expect(await count(db, 'drafts')).toBe(1)
    // Kept for Alice only: the session row now says so, and it is no longer a signed-in session.
    expect(await getSessionUser(db)).toBeUndefined()
    expect(heldFor.value).toEqual({ user: alice, unsent: 1, drafts: 1 })
  })

  it('an ended session never paints: a cold start offline afterwards shows the sign-in screen, not the cache', async () => {
    await boot()
    answer = 'offline'
    user.value = undefined
    await boot()
    expect(user.value).toBeNull()
    expect(rooms.value).toEqual([])
    // The sign-in screen says what is kept and for whom, so it is not kept without the person knowing.
    render(<AuthScreen />)
    expect(screen.getByRole('status').textContent).toBe(
      '1 message by alice was not sent yet. It is kept on this device and sent when alice logs in again; logging in as someone else discards it.',
    )
  })

  it('the same person signing in again keeps the waiting message; someone else wipes it', async () => {
    await boot()
    const db = await getDb()
    await setSessionUser(db, alice)
    expect(await count(db, 'outbox')).toBe(1)
    expect((await getSessionUser(db))?.id).toBe(ALICE)

    await seedAlice(db)
    await boot()
    await setSessionUser(db, bob)
    expect(await count(db, 'outbox')).toBe(0)
    expect(await count(db, 'drafts')).toBe(0)
    expect((await getSessionUser(db))?.id).toBe(BOB)
  })

  it('with nothing unsent, nothing of the person is left at all', async () => {
    const db = await getDb()
    await db.clear('outbox')
    await db.clear('drafts')
    await boot()
    expect(await count(db, 'session')).toBe(0)
    expect(heldFor.value).toBeNull()
  })
})
