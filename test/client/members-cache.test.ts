/**
 * Who is in a room, offline too (issue 9: the Members sheet and `@` autocomplete): each load is
 * saved on the device (store `members`, version 5); offline, a room whose list this session has
 * not loaded gets the saved one; a damaged record is ignored; the list goes with its private room
 * and with every user store on logout.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { readMembers, saveMembers } from '../../client/db/members.ts'
import { getDb } from '../../client/db/page.ts'
import { clearUserData, dropMembership } from '../../client/db/rooms.ts'
import { loadMembers } from '../../client/state/members.ts'
import { members } from '../../client/state/store.ts'
import type { Member } from '../../shared/schemas.ts'
import { ALICE, BOB, FIXTURE_TIME, ROOM_A } from './support.ts'

const joinedAt = new Date(FIXTURE_TIME).toISOString()
const list: Member[] = [
  { userId: ALICE, username: 'alice', role: 'owner', joinedAt },
  { userId: BOB, username: 'bob', role: 'member', joinedAt },
]
const json = (body: unknown) => new Response(JSON.stringify(body), { headers: { 'content-type': 'application/json' } })
const offline = () =>
  vi.stubGlobal('fetch', async () => {
    throw new TypeError('Failed to fetch')
  })

beforeEach(async () => {
  await clearUserData(await getDb())
  members.value = {}
})
afterEach(() => vi.unstubAllGlobals())

describe('member lists on the device', () => {
  it('a load is saved; offline, a new session (nothing in memory) shows the saved list', async () => {
    vi.stubGlobal('fetch', async () => json({ members: list }))
    await loadMembers(ROOM_A)
    expect(await readMembers(await getDb(), ROOM_A)).toEqual(list)
    members.value = {}
    offline()
    await loadMembers(ROOM_A)
    expect(members.value[ROOM_A]).toEqual(list)
  })

  it('offline, a list already shown this session stays as it is', async () => {
    await saveMembers(await getDb(), ROOM_A, list)
    const shown = [list[0]!]
    members.value = { [ROOM_A]: shown }
    offline()
    await loadMembers(ROOM_A)
    expect(members.value[ROOM_A]).toBe(shown)
  })

  it('a saved record of another shape is ignored (an older or damaged app wrote it)', async () => {
    const db = await getDb()
    await db.put('members', { roomId: ROOM_A, members: [{ userId: ALICE, role: 'boss' }] } as never)
    expect(await readMembers(db, ROOM_A)).toBeNull()
    offline()
    await loadMembers(ROOM_A)
    expect(members.value[ROOM_A]).toBeUndefined()
  })

  it('goes with its private room, and with everything on logout', async () => {
    const db = await getDb()
    await saveMembers(db, ROOM_A, list)
    await dropMembership(db, ROOM_A, 'private')
    expect(await readMembers(db, ROOM_A)).toBeNull()
    await saveMembers(db, ROOM_A, list)
    await clearUserData(db)
    expect(await readMembers(db, ROOM_A)).toBeNull()
  })
})
