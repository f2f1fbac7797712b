import { randomUUID } from 'node:crypto'
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

  it('lists my rooms only, never public rooms I am not in; discover pages through those once each', async () => {
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
    expect(rooms.map((r) => r.id).sort()).toEqual([mineOld.id, joinedOld.id].sort())
    expect(rooms.every((r) => r.role !== null)).toBe(true)
    // Newest first in discover: the last room created leads, the busy old one is on a later page.
    const first = await list(reader, '/api/rooms/discover')
    expect(first.rooms).toHaveLength(LIMITS.roomDiscoverPageDefault)
    expect(first.rooms[0]!.id).toBe(others.at(-1)!.id)
    expect(first.rooms.map((r) => r.id)).not.toContain(others[0]!.id)

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

  it('discover: a public room is found there and not in the list; a cursor that is not a public room gives an empty page', async () => {
    const someone = await signUp(ctx.app)
    const hidden = await createRoom(someone, 'private')
    const open = await createRoom(someone, 'public')
    const reader = await signUp(ctx.app)
    expect((await list(reader, '/api/rooms')).rooms).toEqual([])
    const first = await list(reader, '/api/rooms/discover')
    expect(first.rooms.map((r) => r.id)).toContain(open.id)
    expect(first.rooms.map((r) => r.id)).not.toContain(hidden.id)
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

describeEachEngine('discover search (q)', (engine) => {
  const ctx = useTestApp(engine)
  const search = (agent: Agent, q: string, extra = '') =>
    list(agent, `/api/rooms/discover?q=${encodeURIComponent(q)}${extra}`)

  it('finds public rooms whose name contains the text, any case, pages through them, and never a private room', async () => {
    const owner = await signUp(ctx.app)
    const reader = await signUp(ctx.app)
    const tag = randomUUID().slice(0, 6)
    const harbour: Room[] = []
    for (let i = 0; i < 5; i++) harbour.push(await createRoom(owner, 'public', `Harbour ${tag} ${i}`))
    await createRoom(owner, 'public', `Station ${tag}`)
    const secret = await createRoom(owner, 'private', `Harbour ${tag} secret`)
    const joined = await createRoom(owner, 'public', `harbour ${tag} joined`)
    await join(reader, joined.id)

    const first = await search(reader, `HARBOUR ${tag}`, '&limit=3')
    expect(first.rooms.map((r) => r.name)).toEqual([4, 3, 2].map((i) => `Harbour ${tag} ${i}`))
    expect(first.hasMore).toBe(true)
    const rest = await search(reader, `harbour ${tag}`, `&limit=3&before=${first.rooms.at(-1)!.id}`)
    expect(rest.rooms.map((r) => r.id)).toEqual([harbour[1]!.id, harbour[0]!.id])
    expect(rest.hasMore).toBe(false)
    const all = [...first.rooms, ...rest.rooms]
    expect(all.every((r) => r.visibility === 'public' && r.role === null)).toBe(true)
    expect(all.map((r) => r.id)).not.toContain(secret.id)
    // The owner of the private room does not find it either: discover is for rooms to join.
    expect((await search(owner, 'secret')).rooms.map((r) => r.id)).not.toContain(secret.id)
    // Surrounding spaces do not count; blank means no filter (the plain first page).
    expect((await search(reader, `  station ${tag}  `)).rooms.map((r) => r.name)).toEqual([`Station ${tag}`])
    expect(await search(reader, '   ')).toEqual(await list(reader, '/api/rooms/discover'))
  })

  it('takes %, _ and backslash literally', async () => {
    const owner = await signUp(ctx.app)
    const reader = await signUp(ctx.app)
    const tag = randomUUID().slice(0, 6)
    const percent = await createRoom(owner, 'public', `${tag} 100% club`)
    const under = await createRoom(owner, 'public', `${tag} a_b`)
    const slash = await createRoom(owner, 'public', `${tag} c\\d`)
    await createRoom(owner, 'public', `${tag} 1000 club`)
    await createRoom(owner, 'public', `${tag} axb`)
    const names = async (q: string) => (await search(reader, q)).rooms.map((r) => r.id)
    expect(await names(`${tag} 100%`)).toEqual([percent.id])
    expect(await names('% club')).toEqual([percent.id])
    expect(await names(`${tag} a_b`)).toEqual([under.id])
    expect(await names(`${tag} c\\d`)).toEqual([slash.id])
    expect(await names('0% c')).toEqual([percent.id])
    expect(await names(`${tag}_`)).toEqual([])
  })

  it('refuses a search too long, repeated, or with text the database cannot hold, with a typed 400; needs a session', async () => {
    const reader = await signUp(ctx.app)
    for (const query of [
      `q=${'a'.repeat(LIMITS.roomSearchMax + 1)}`,
      'q=a&q=b',
      'q=%00',
      'q=a&unknown=1',
      'search=a',
    ]) {
      expectError(await reader.request('GET', `/api/rooms/discover?${query}`), 400, 'validation_failed')
    }
    expect((await list(reader, `/api/rooms/discover?q=${'a'.repeat(LIMITS.roomSearchMax)}`)).rooms).toEqual([])
    expectError(await ctx.app.inject({ method: 'GET', url: '/api/rooms/discover?q=a' }), 401, 'unauthorized')
  })
})
