import { randomUUID } from 'node:crypto'
import { beforeAll, expect, it } from 'vitest'
import { SEARCH_LIMITS, type SearchHit, type SearchResponse } from '../../shared/search/contract.ts'
import { createRoom, expectError, join, sendMessage } from '../support/api.ts'
import { type Agent, signUp, useTestApp } from '../support/app.ts'
import { appendInOneBatch } from '../support/append.ts'
import { describeEachEngine } from '../support/databases.ts'

/**
 * Issue 12, server full-text search (docs/SEARCH.md "Server"): `GET /api/search` finds
 * messages by their current text in the rooms the caller belongs to (or one room they can
 * read), with web-search syntax, accents folded, highlighted snippets and cursor pages.
 */
describeEachEngine('search', (engine) => {
  const ctx = useTestApp(engine)
  let ana: Agent
  let ben: Agent
  let cy: Agent
  beforeAll(async () => {
    ana = await signUp(ctx.app)
    ben = await signUp(ctx.app)
    cy = await signUp(ctx.app)
  })

  async function search(agent: Agent, params: Record<string, string | number>): Promise<SearchResponse> {
    const response = await agent.request('GET', `/api/search?${new URLSearchParams(stringify(params))}`)
    expect(response.statusCode, response.body).toBe(200)
    return response.json()
  }
  const stringify = (params: Record<string, string | number>) =>
    Object.fromEntries(Object.entries(params).map(([k, v]) => [k, String(v)]))
  const texts = (hits: SearchHit[]) => hits.map((h) => h.snippet.text)
  const marked = (hit: SearchHit) => hit.snippet.ranges.map(([a, b]) => hit.snippet.text.slice(a, b))
  /** A word no other test uses, so each test sees only its own messages. */
  const tag = () => `t${randomUUID().replaceAll('-', '').slice(0, 10)}`

  it('finds messages with every word, newest first, with room, author and the matched words marked', async () => {
    const room = await createRoom(ana, 'public', 'Harbour')
    const t = tag()
    await sendMessage(ana, room.id, `${t} the depot gate opens at nine`)
    await sendMessage(ana, room.id, `${t} the gate is closed`)
    await sendMessage(ana, room.id, `${t} meet at the Depot, by the GATE`)
    const result = await search(ana, { q: `${t} depot gate` })
    expect(texts(result.hits)).toEqual([`${t} meet at the Depot, by the GATE`, `${t} the depot gate opens at nine`])
    expect(result.nextCursor).toBeNull()
    const [hit] = result.hits
    expect(hit).toMatchObject({ roomId: room.id, roomName: 'Harbour', authorId: ana.user.id })
    expect(hit!.authorName).toBe(ana.user.username)
    expect(hit!.edited).toBe(false)
    expect(Number.isNaN(Date.parse(hit!.createdAt))).toBe(false)
    expect(marked(hit!)).toEqual([t, 'Depot', 'GATE'])
  })

  it('ranks by relevance when asked: more of the words first; recent order stays newest first', async () => {
    const room = await createRoom(ana)
    const t = tag()
    await sendMessage(ana, room.id, `${t} harbour`)
    await sendMessage(ana, room.id, `${t} harbour harbour harbour pilot`)
    await sendMessage(ana, room.id, `${t} something else entirely, then harbour at the end of a long message`)
    const relevance = await search(ana, { q: `${t} harbour`, sort: 'relevance' })
    expect(relevance.hits[0]!.snippet.text).toBe(`${t} harbour harbour harbour pilot`)
    expect(relevance.hits).toHaveLength(3)
    const recent = await search(ana, { q: `${t} harbour` })
    expect(recent.hits.map((h) => h.seq)).toEqual([...recent.hits.map((h) => h.seq)].sort((a, b) => b - a))
  })

  it('quoted phrases, -exclusions and or', async () => {
    const room = await createRoom(ana)
    const t = tag()
    await sendMessage(ana, room.id, `${t} depot gate`)
    await sendMessage(ana, room.id, `${t} gate of the depot`)
    await sendMessage(ana, room.id, `${t} the depot-gate code`)
    await sendMessage(ana, room.id, `${t} a ferry`)
    await sendMessage(ana, room.id, `${t} a boat`)
    expect(texts((await search(ana, { q: `${t} "depot gate"` })).hits).sort()).toEqual(
      [`${t} depot gate`, `${t} the depot-gate code`].sort(),
    )
    expect(texts((await search(ana, { q: `${t} depot -code` })).hits).sort()).toEqual(
      [`${t} depot gate`, `${t} gate of the depot`].sort(),
    )
    expect(texts((await search(ana, { q: `${t} depot -"depot gate"` })).hits)).toEqual([`${t} gate of the depot`])
    // `or` binds its neighbours: t AND (ferry OR boat).
    expect(texts((await search(ana, { q: `${t} ferry or boat` })).hits).sort()).toEqual(
      [`${t} a boat`, `${t} a ferry`].sort(),
    )
  })

  it('the last word matches as a prefix while typed, not once a space follows it', async () => {
    const room = await createRoom(ana)
    const t = tag()
    await sendMessage(ana, room.id, `${t} the depot`)
    await sendMessage(ana, room.id, `${t} a dep`)
    const typing = await search(ana, { q: `${t} dep` })
    expect(texts(typing.hits).sort()).toEqual([`${t} a dep`, `${t} the depot`].sort())
    expect(marked(typing.hits.find((h) => h.snippet.text.endsWith('depot'))!)).toEqual([t, 'depot'])
    expect(texts((await search(ana, { q: `${t} dep ` })).hits)).toEqual([`${t} a dep`])
    // A quoted word is never a prefix.
    expect(texts((await search(ana, { q: `${t} "dep"` })).hits)).toEqual([`${t} a dep`])
  })

  it('folds case and accents both ways, as shared fold() does', async () => {
    const room = await createRoom(ana)
    const t = tag()
    await sendMessage(ana, room.id, `${t} Crème brûlée at the CAFÉ, Ça va`)
    await sendMessage(ana, room.id, `${t} plain creme`)
    for (const q of ['creme brulee', 'Crème BRÛLÉE', 'café', 'cafe', 'ca va', 'brul']) {
      const hits = (await search(ana, { q: `${t} ${q}` })).hits
      expect(texts(hits), q).toContain(`${t} Crème brûlée at the CAFÉ, Ça va`)
    }
    const both = await search(ana, { q: `${t} crème` })
    expect(both.hits).toHaveLength(2)
    expect(marked(both.hits.find((h) => h.snippet.text.includes('brûlée'))!)).toEqual([t, 'Crème'])
  })

  it('never shows a private room to a non-member; one room by roomId; a left room stops appearing', async () => {
    const t = tag()
    const secret = await createRoom(ana, 'private')
    const shared = await createRoom(ana, 'public')
    const unjoined = await createRoom(cy, 'public')
    await join(ben, shared.id)
    await sendMessage(ana, secret.id, `${t} secret plans`)
    await sendMessage(ana, shared.id, `${t} shared plans`)
    await sendMessage(cy, unjoined.id, `${t} open plans`)
    expect(texts((await search(ana, { q: `${t} plans` })).hits).sort()).toEqual(
      [`${t} secret plans`, `${t} shared plans`].sort(),
    )
    expect(texts((await search(ben, { q: `${t} plans` })).hits)).toEqual([`${t} shared plans`])
    expect(texts((await search(ben, { q: `${t} secret` })).hits)).toEqual([])
    expectError(await ben.request('GET', `/api/search?q=${t}&roomId=${secret.id}`), 404, 'not_found')
    // A public room one has not joined is readable: searchable by its id, not in the all-rooms search.
    expect(texts((await search(ben, { q: `${t} plans`, roomId: unjoined.id })).hits)).toEqual([`${t} open plans`])
    expect(texts((await search(ana, { q: `${t} plans`, roomId: secret.id })).hits)).toEqual([`${t} secret plans`])
    const leave = await ben.request('POST', `/api/rooms/${shared.id}/leave`)
    expect(leave.statusCode, leave.body).toBe(204)
    expect((await search(ben, { q: `${t} plans` })).hits).toEqual([])
  })

  it('an edited message is found by its current text only; a deleted one never', async () => {
    const room = await createRoom(ana)
    const t = tag()
    const first = await sendMessage(ana, room.id, `${t} the meeting is on monday`)
    const second = await sendMessage(ana, room.id, `${t} delete me soon`)
    const operate = async (operation: Record<string, unknown>) => {
      const response = await ana.request('POST', `/api/rooms/${room.id}/operations`, {
        clientId: randomUUID(),
        ...operation,
      })
      expect(response.statusCode, response.body).toBe(201)
    }
    await operate({ type: 'edit', targetSeq: first.seq, body: `${t} the meeting is on tuesday` })
    expect((await search(ana, { q: `${t} monday` })).hits).toEqual([])
    const edited = (await search(ana, { q: `${t} tuesday` })).hits
    expect(edited).toHaveLength(1)
    expect(edited[0]).toMatchObject({ seq: first.seq, edited: true, createdAt: first.createdAt })
    expect(edited[0]!.snippet.text).toBe(`${t} the meeting is on tuesday`)
    await operate({ type: 'edit', targetSeq: first.seq, body: `${t} the meeting is on wednesday` })
    expect((await search(ana, { q: `${t} tuesday` })).hits).toEqual([])
    expect((await search(ana, { q: `${t} meeting` })).hits.map((h) => h.snippet.text)).toEqual([
      `${t} the meeting is on wednesday`,
    ])
    await operate({ type: 'edit', targetSeq: second.seq, body: `${t} delete me now` })
    await operate({ type: 'delete', targetSeq: second.seq })
    await operate({ type: 'delete', targetSeq: first.seq })
    for (const q of ['delete', 'soon', 'now', 'meeting', 'wednesday']) {
      expect((await search(ana, { q: `${t} ${q}` })).hits, q).toEqual([])
    }
  })

  it('pages through every hit exactly once, in order, for both sorts, even among messages stored at one instant', async () => {
    const room = await createRoom(ana)
    const t = tag()
    for (let i = 0; i < 9; i++) await sendMessage(ana, room.id, `${t} page ${i}${i % 3 === 0 ? ' page' : ''}`)
    // One transaction: these share created_at, so only the tiebreak orders them.
    const requests = Array.from({ length: 8 }, (_, i) => ({
      roomId: room.id,
      authorId: ana.user.id,
      authorName: ana.user.username,
      clientId: randomUUID(),
      body: `${t} page batch ${i}`,
    }))
    await appendInOneBatch(ctx.database.db, requests)
    for (const sort of ['recent', 'relevance'] as const) {
      const seen: SearchHit[] = []
      let cursor: string | null = null
      let pages = 0
      do {
        const params: Record<string, string | number> = { q: `${t} page`, limit: 4, sort }
        if (cursor) params.cursor = cursor
        const result = await search(ana, params)
        expect(result.hits.length).toBeLessThanOrEqual(4)
        seen.push(...result.hits)
        cursor = result.nextCursor
        pages++
      } while (cursor && pages < 20)
      expect(seen, sort).toHaveLength(17)
      expect(new Set(seen.map((h) => h.seq)).size, sort).toBe(17)
      const whole = await search(ana, { q: `${t} page`, limit: 50, sort })
      expect(
        whole.hits.map((h) => h.seq),
        sort,
      ).toEqual(seen.map((h) => h.seq))
      if (sort === 'recent') {
        expect(seen.map((h) => h.seq)).toEqual([...seen.map((h) => h.seq)].sort((a, b) => b - a))
      }
    }
  })

  it('bad input: a typed error or an empty page, never a 500', async () => {
    const room = await createRoom(ana)
    const t = tag()
    await sendMessage(ana, room.id, `${t} drop table users select`)
    for (const q of ['', '   ', '---', '""', '"', '-', '- -"x"', 'or', '!!! ::: <-> & |', '-word']) {
      expect(await search(ana, { q }), JSON.stringify(q)).toEqual({ hits: [], nextCursor: null })
    }
    // Syntax of tsquery and SQL is only word separators.
    for (const q of [
      `${t}'; DROP TABLE users; --`,
      `${t} & !users | (select)`,
      `${t}:* <-> users`,
      `${t}\\ users' OR '1'='1`,
    ]) {
      const result = await search(ana, { q })
      expect(texts(result.hits), q).toEqual([`${t} drop table users select`])
    }
    const bad = (query: string) => ana.request('GET', `/api/search?${query}`)
    expectError(await bad(`q=${'a'.repeat(1000)}`), 400, 'validation_failed')
    expectError(await bad(`q=${'a '.repeat(SEARCH_LIMITS.queryMax / 2)}b`), 400, 'validation_failed')
    expect((await bad(`q=${encodeURIComponent(`   ${'a'.repeat(SEARCH_LIMITS.queryMax)}   `)}`)).statusCode).toBe(200)
    expectError(await bad(''), 400, 'validation_failed')
    for (const limit of ['0', '-1', String(SEARCH_LIMITS.pageMax + 1), '1.5', 'ten']) {
      expectError(await bad(`q=${t}&limit=${limit}`), 400, 'validation_failed')
    }
    expectError(await bad(`q=${t}&sort=oldest`), 400, 'validation_failed')
    expectError(await bad(`q=${t}&roomId=not-a-room`), 400, 'validation_failed')
    expectError(await bad(`q=${t}&roomId=${randomUUID()}`), 404, 'not_found')
    expectError(await bad(`q=${t}&unknown=1`), 400, 'validation_failed')
    const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
    const recentCursor = encode([0, 1796000000123456, randomUUID(), 3])
    expect((await bad(`q=${t}&cursor=${recentCursor}`)).statusCode).toBe(200)
    for (const cursor of [
      'x',
      '!!!',
      Buffer.from('not json').toString('base64url'),
      encode({ s: 'recent' }),
      encode([0, "1'; --", randomUUID(), 3]),
      encode([0, 1796000000123456, 'x', 3]),
      encode([0, 1e300, randomUUID(), 3]),
      encode([0, -1, randomUUID(), 3]),
      encode([0, 1796000000123456, randomUUID(), 3, 'extra']),
      encode([1, 1796000000123456, randomUUID(), 3, 'NaN', 1796000000123456]),
    ]) {
      expectError(await bad(`q=${t}&cursor=${encodeURIComponent(cursor)}`), 400, 'validation_failed')
    }
    // A cursor of one sort is not a cursor of the other.
    expectError(await bad(`q=${t}&sort=relevance&cursor=${recentCursor}`), 400, 'validation_failed')
    const anonymous = await ctx.app.inject({ method: 'GET', url: `/api/search?q=${t}` })
    expectError(anonymous, 401, 'unauthorized')
  })
})
