import { expect, it } from 'vitest'
import { LIMITS } from '../../shared/limits.ts'
import type { Room } from '../../shared/schemas.ts'
import { createRoom, expectError, join, sendMessage } from '../support/api.ts'
import { type Agent, signUp, useTestApp } from '../support/app.ts'
import { describeEachEngine } from '../support/databases.ts'

async function list(agent: Agent, url: string) {
  const response = await agent.request('GET', url)
  expect(response.statusCode, response.body).toBe(200)
  return response.json() as { rooms: Room[]; hasMore?: boolean }
}

/** Pages GET /api/rooms/discover to the end; bounded so a paging bug cannot loop forever. */
async function discoverAll(agent: Agent, limit: number): Promise<Room[]> {
  const rooms: Room[] = []
  let url = `/api/rooms/discover?limit=${limit}`
  for (let page = 0; page < 1000; page++) {
    const body = await list(agent, url)
    expect(body.rooms.length).toBeLessThanOrEqual(limit)
    rooms.push(...body.rooms)
    if (!body.hasMore) return rooms
    url = `/api/rooms/discover?limit=${limit}&before=${body.rooms.at(-1)!.id}`
  }
  throw new Error('discover did not end')
}

describeEachEngine('room list with more public rooms than one page', (engine) => {
  const ctx = useTestApp(engine)

  it('lists all my rooms, then at most one page of public rooms I am not in; discover pages through the rest once each', async () => {
    const owner = await signUp(ctx.app)
    const reader = await signUp(ctx.app)
    // The reader's rooms are older and quieter than every public room after them.
    const mineOld = await createRoom(reader, 'private')
    const joinedOld = await createRoom(owner, 'public')
    await join(reader, joinedOld.id)
    const others: Room[] = []
    for (let i = 0; i < LIMITS.roomDiscoverPageDefault + 7; i++) others.push(await createRoom(owner, 'public'))
    await sendMessage(owner, others[0]!.id, 'the oldest public room is now the busiest')

    const { rooms } = await list(reader, '/api/rooms')
    const ids = rooms.map((r) => r.id)
    expect(ids.slice(0, 2).sort()).toEqual([mineOld.id, joinedOld.id].sort())
    const notMine = rooms.filter((r) => r.role === null)
    expect(notMine).toHaveLength(LIMITS.roomDiscoverPageDefault)
    expect(rooms).toHaveLength(2 + LIMITS.roomDiscoverPageDefault)
    // Newest first: the last room created leads, the busy old one is on a later page.
    expect(notMine[0]!.id).toBe(others.at(-1)!.id)
    expect(ids).not.toContain(others[0]!.id)

    const all = await discoverAll(reader, 10)
    const allIds = all.map((r) => r.id)
    expect(new Set(allIds).size).toBe(allIds.length)
    expect(allIds).toEqual(expect.arrayContaining(others.map((r) => r.id)))
    expect(allIds).not.toContain(joinedOld.id)
    expect(allIds).not.toContain(mineOld.id)
    expect(all.every((r) => r.role === null && r.visibility === 'public')).toBe(true)
    const busy = all.find((r) => r.id === others[0]!.id)!
    expect(busy.lastMessage?.body).toBe('the oldest public room is now the busiest')
    expect(busy.unreadCount).toBe(0)
  })

  it('discover: the first page equals the list’s public part; a cursor that is not a public room gives an empty page', async () => {
    const someone = await signUp(ctx.app)
    const hidden = await createRoom(someone, 'private')
    const reader = await signUp(ctx.app)
    const fromList = (await list(reader, '/api/rooms')).rooms.filter((r) => r.role === null)
    const first = await list(reader, '/api/rooms/discover')
    expect(first.rooms).toEqual(fromList)
    expect(await list(reader, `/api/rooms/discover?before=${hidden.id}`)).toEqual({ rooms: [], hasMore: false })
  })

  it('discover refuses bad queries with 400 and needs a session', async () => {
    const reader = await signUp(ctx.app)
    for (const query of ['limit=0', `limit=${LIMITS.roomDiscoverPageMax + 1}`, 'before=nope', 'extra=1']) {
      expectError(await reader.request('GET', `/api/rooms/discover?${query}`), 400, 'validation_failed')
    }
    expectError(await ctx.app.inject({ method: 'GET', url: '/api/rooms/discover' }), 401, 'unauthorized')
  })
})
