import { randomUUID } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import type { Message, RoomEvent } from '../../shared/schemas.ts'
import { createRoom, expectError, join, sendMessage } from '../support/api.ts'
import { type Agent, signUp, useTestApp } from '../support/app.ts'
import { describeEachEngine } from '../support/databases.ts'

async function history(agent: Agent, roomId: string, query = '') {
  const response = await agent.request('GET', `/api/rooms/${roomId}/messages${query}`)
  expect(response.statusCode, response.body).toBe(200)
  return response.json() as { messages: Message[]; hasMore: boolean }
}

async function events(agent: Agent, roomId: string, query = '') {
  const response = await agent.request('GET', `/api/rooms/${roomId}/events${query}`)
  expect(response.statusCode, response.body).toBe(200)
  return response.json() as { events: RoomEvent[]; hasMore: boolean; lastSeq: number }
}

const seqs = (items: Array<{ seq: number }>) => items.map((m) => m.seq)
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)

describeEachEngine('messages', (engine) => {
  const ctx = useTestApp(engine)

  const storedRows = (roomId: string) =>
    ctx.database.db
      .selectFrom('room_events')
      .select(['seq', 'client_id', 'body', 'author_id', 'kind'])
      .where('room_id', '=', roomId)
      .orderBy('seq')
      .execute()
  const lastSeqOf = async (roomId: string) =>
    Number(
      (await ctx.database.db.selectFrom('rooms').select('last_seq').where('id', '=', roomId).executeTakeFirstOrThrow())
        .last_seq,
    )

  describe('send', () => {
    it('answers 201 {message} with seq, clientId, body, author id and name, createdAt', async () => {
      const alice = await signUp(ctx.app)
      const room = await createRoom(alice)
      const clientId = randomUUID()
      const response = await alice.request('POST', `/api/rooms/${room.id}/messages`, {
        clientId,
        body: '  hello, world \n',
      })
      expect(response.statusCode).toBe(201)
      const { message } = response.json()
      expect(message).toEqual({
        roomId: room.id,
        seq: 1,
        clientId,
        authorId: alice.user.id,
        authorName: alice.user.username,
        body: 'hello, world',
        createdAt: expect.any(String),
      })
      expect(Date.parse(message.createdAt)).toBeGreaterThan(Date.now() - 60_000)
      expect(await storedRows(room.id)).toEqual([
        { seq: '1', client_id: clientId, body: 'hello, world', author_id: alice.user.id, kind: 'message.created' },
      ])
    })

    it('is idempotent forever: the same clientId again → 200 with the original, one row, same seq', async () => {
      const alice = await signUp(ctx.app)
      const room = await createRoom(alice)
      const clientId = randomUUID()
      const first = await alice.request('POST', `/api/rooms/${room.id}/messages`, { clientId, body: 'once' })
      expect(first.statusCode).toBe(201)
      await sendMessage(alice, room.id, 'something in between')

      const again = await alice.request('POST', `/api/rooms/${room.id}/messages`, { clientId, body: 'once' })
      expect(again.statusCode).toBe(200)
      expect(again.json()).toEqual(first.json())
      // A different body under the same clientId is still the original message.
      const changed = await alice.request('POST', `/api/rooms/${room.id}/messages`, { clientId, body: 'edited?' })
      expect(changed.statusCode).toBe(200)
      expect(changed.json().message).toEqual(first.json().message)
      // Upper-case spelling of the same UUID is the same id.
      const upper = await alice.request('POST', `/api/rooms/${room.id}/messages`, {
        clientId: clientId.toUpperCase(),
        body: 'once',
      })
      expect(upper.statusCode).toBe(200)
      expect(upper.json().message.seq).toBe(1)

      const rows = await storedRows(room.id)
      expect(rows.filter((r) => r.client_id === clientId)).toEqual([
        { seq: '1', client_id: clientId, body: 'once', author_id: alice.user.id, kind: 'message.created' },
      ])
      expect(rows).toHaveLength(2)
      expect(await lastSeqOf(room.id)).toBe(2)
    })

    it('dedupes concurrent retries of one clientId into one row', async () => {
      const alice = await signUp(ctx.app)
      const room = await createRoom(alice)
      const clientId = randomUUID()
      const responses = await Promise.all(
        Array.from({ length: 5 }, () =>
          alice.request('POST', `/api/rooms/${room.id}/messages`, { clientId, body: 'retry storm' }),
        ),
      )
      const statuses = responses.map((r) => r.statusCode).sort()
      expect(statuses).toEqual([200, 200, 200, 200, 201])
      expect(new Set(responses.map((r) => r.json().message.seq))).toEqual(new Set([1]))
      expect(await storedRows(room.id)).toHaveLength(1)
    })

    it('the same clientId is a separate message for another author or another room', async () => {
      const alice = await signUp(ctx.app)
      const bob = await signUp(ctx.app)
      const room = await createRoom(alice)
      const other = await createRoom(alice)
      await join(bob, room.id)
      const clientId = randomUUID()
      const a = await sendMessage(alice, room.id, 'from alice', clientId)
      const b = await sendMessage(bob, room.id, 'from bob', clientId)
      const c = await sendMessage(alice, other.id, 'elsewhere', clientId)
      // Seq 1 of the room is bob's member.joined.
      expect([a.seq, b.seq, c.seq]).toEqual([2, 3, 1])
      expect(b.authorId).toBe(bob.user.id)
    })

    it('50 concurrent sends from several users get unique, gap-free seqs 5..54 (after 4 joins)', async () => {
      const owner = await signUp(ctx.app)
      const room = await createRoom(owner)
      const users = [
        owner,
        ...(await Promise.all([signUp(ctx.app), signUp(ctx.app), signUp(ctx.app), signUp(ctx.app)])),
      ]
      for (const user of users.slice(1)) await join(user, room.id)

      const responses = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          users[i % users.length]!.request('POST', `/api/rooms/${room.id}/messages`, {
            clientId: randomUUID(),
            body: `message ${i}`,
          }),
        ),
      )
      expect(responses.map((r) => r.statusCode)).toEqual(Array(50).fill(201))
      const acked = responses.map((r) => r.json().message.seq).sort((x: number, y: number) => x - y)
      // Seqs 1-4 are the four member.joined entries.
      expect(acked).toEqual(range(5, 54))

      const rows = await storedRows(room.id)
      expect(rows.map((r) => Number(r.seq))).toEqual(range(1, 54))
      expect(rows.slice(0, 4).map((r) => r.kind)).toEqual(Array(4).fill('member.joined'))
      expect(new Set(rows.slice(4).map((r) => r.body)).size).toBe(50)
      expect(await lastSeqOf(room.id)).toBe(54)
      const caughtUp = await events(owner, room.id, '?after=4')
      expect(seqs(caughtUp.events)).toEqual(range(5, 54))
      expect(caughtUp.lastSeq).toBe(54)
    })

    it('keeps a sender’s order: sequential sends get increasing seqs in the order written', async () => {
      const alice = await signUp(ctx.app)
      const bob = await signUp(ctx.app)
      const room = await createRoom(alice)
      await join(bob, room.id)
      const written: string[] = []
      const noise: Promise<unknown>[] = []
      for (let i = 0; i < 10; i++) {
        written.push(`alice ${i}`)
        // Bob writes concurrently; Alice's own messages must still keep her order.
        noise.push(bob.request('POST', `/api/rooms/${room.id}/messages`, { clientId: randomUUID(), body: `bob ${i}` }))
        await sendMessage(alice, room.id, `alice ${i}`)
      }
      await Promise.all(noise)
      // Seq 1 is bob's member.joined.
      const log = (await events(alice, room.id, '?after=1')).events
      expect(seqs(log)).toEqual(range(2, 21))
      expect(log.filter((e) => e.authorId === alice.user.id).map((e) => e.body)).toEqual(written)
    })

    it('accepts 1–4000 characters after trimming, counted in code points', async () => {
      const alice = await signUp(ctx.app)
      const room = await createRoom(alice)
      const send = (body: string) =>
        alice.request('POST', `/api/rooms/${room.id}/messages`, { clientId: randomUUID(), body })

      const max = await send('a'.repeat(4000))
      expect(max.statusCode).toBe(201)
      expect(max.json().message.body).toHaveLength(4000)
      const padded = await send(`   ${'b'.repeat(4000)}\n\t `)
      expect(padded.statusCode).toBe(201)
      expect(padded.json().message.body).toBe('b'.repeat(4000))
      const emoji = await send('🚢'.repeat(4000))
      expect(emoji.statusCode).toBe(201)
      expect([...emoji.json().message.body]).toHaveLength(4000)
      expect((await send('x')).statusCode).toBe(201)

      const tooLong = await send('a'.repeat(4001))
      expectError(tooLong, 400, 'message_too_long')
      expect(tooLong.json().error.message).toContain('4000')
      expectError(await send('🚢'.repeat(4001)), 400, 'message_too_long')
      // Before trimming, a body may carry at most 8000 characters in all.
      expectError(await send(`${'c'.repeat(10)}${' '.repeat(7991)}`), 400, 'validation_failed')
      expectError(await send(''), 400, 'message_empty')
      expectError(await send('   \n\t  '), 400, 'message_empty')

      const rows = await storedRows(room.id)
      expect(rows).toHaveLength(4)
      expect(await lastSeqOf(room.id)).toBe(4)
    })

    it('refuses malformed sends with 400 and stores nothing', async () => {
      const alice = await signUp(ctx.app)
      const room = await createRoom(alice)
      const url = `/api/rooms/${room.id}/messages`
      const bad: unknown[] = [
        { body: 'no client id' },
        { clientId: randomUUID() },
        { clientId: 'not-a-uuid', body: 'x' },
        { clientId: 42, body: 'x' },
        { clientId: randomUUID(), body: 42 },
        { clientId: randomUUID(), body: null },
        { clientId: randomUUID(), body: ['x'] },
        { clientId: randomUUID(), body: 'x', seq: 7 },
        { clientId: randomUUID(), body: 'x', authorId: alice.user.id },
        [],
        'just a string',
        null,
      ]
      for (const body of bad) {
        expectError(await alice.request('POST', url, body), 400, 'validation_failed')
      }
      expect(await storedRows(room.id)).toHaveLength(0)
    })
  })

  describe('history (newest first)', () => {
    it('an empty room has no messages and hasMore false', async () => {
      const alice = await signUp(ctx.app)
      const room = await createRoom(alice)
      expect(await history(alice, room.id)).toEqual({ messages: [], hasMore: false })
      expect(await history(alice, room.id, '?before=1&limit=1')).toEqual({ messages: [], hasMore: false })
    })

    it('pages with limit and a before cursor down to the start; hasMore is exact', async () => {
      const alice = await signUp(ctx.app)
      const room = await createRoom(alice)
      for (let i = 1; i <= 7; i++) await sendMessage(alice, room.id, `m${i}`)

      const all = await history(alice, room.id)
      expect(seqs(all.messages)).toEqual([7, 6, 5, 4, 3, 2, 1])
      expect(all.hasMore).toBe(false)
      expect(all.messages[0]).toMatchObject({ body: 'm7', authorName: alice.user.username, roomId: room.id })

      const pages: number[][] = []
      let before: number | undefined
      for (;;) {
        const page = await history(alice, room.id, `?limit=3${before === undefined ? '' : `&before=${before}`}`)
        pages.push(seqs(page.messages))
        if (!page.hasMore) break
        before = page.messages.at(-1)!.seq
      }
      expect(pages).toEqual([[7, 6, 5], [4, 3, 2], [1]])

      // Exactly a page's worth left: hasMore false.
      expect(await history(alice, room.id, '?limit=3&before=4')).toMatchObject({ hasMore: false })
      expect(seqs((await history(alice, room.id, '?limit=3&before=4')).messages)).toEqual([3, 2, 1])
      expect((await history(alice, room.id, '?limit=7')).hasMore).toBe(false)
      expect((await history(alice, room.id, '?limit=6')).hasMore).toBe(true)
      expect(await history(alice, room.id, '?before=1')).toEqual({ messages: [], hasMore: false })
      expect(await history(alice, room.id, '?before=0')).toEqual({ messages: [], hasMore: false })
      expect(seqs((await history(alice, room.id, '?before=1000&limit=2')).messages)).toEqual([7, 6])
    })

    it('defaults to 50 per page and allows at most 100', async () => {
      const alice = await signUp(ctx.app)
      const room = await createRoom(alice)
      const bob = await signUp(ctx.app)
      await join(bob, room.id)
      // Through the appender: 101 HTTP posts would pass the per-user send limit.
      await Promise.all(
        Array.from({ length: 101 }, (_, i) => {
          const author = i % 2 ? alice : bob
          return ctx.app.appender.append({
            roomId: room.id,
            authorId: author.user.id,
            authorName: author.user.username,
            clientId: randomUUID(),
            body: `n${i}`,
          })
        }),
      )
      const first = await history(alice, room.id)
      expect(first.messages).toHaveLength(50)
      expect(first.hasMore).toBe(true)
      const big = await history(alice, room.id, '?limit=100')
      // Seq 1 is bob's member.joined, which history (messages only) skips.
      expect(seqs(big.messages)).toEqual(range(3, 102).reverse())
      expect(big.hasMore).toBe(true)
      const rest = await history(alice, room.id, '?limit=100&before=3')
      expect(rest).toMatchObject({ hasMore: false })
      expect(seqs(rest.messages)).toEqual([2])
    })
  })

  describe('catch-up (events after a seq, oldest first)', () => {
    it('handles the edges: empty room, after = 0, after = latest, beyond latest, limit', async () => {
      const alice = await signUp(ctx.app)
      const room = await createRoom(alice)
      expect(await events(alice, room.id)).toEqual({ events: [], hasMore: false, lastSeq: 0 })
      expect(await events(alice, room.id, '?after=0')).toEqual({ events: [], hasMore: false, lastSeq: 0 })

      const sent: Message[] = []
      for (let i = 1; i <= 5; i++) sent.push(await sendMessage(alice, room.id, `e${i}`))

      const all = await events(alice, room.id, '?after=0')
      expect(seqs(all.events)).toEqual([1, 2, 3, 4, 5])
      expect(all).toMatchObject({ hasMore: false, lastSeq: 5 })
      expect(all.events[0]).toEqual({
        roomId: room.id,
        seq: 1,
        kind: 'message.created',
        authorId: alice.user.id,
        authorName: alice.user.username,
        clientId: sent[0]!.clientId,
        body: 'e1',
        targetSeq: null,
        reaction: null,
        createdAt: sent[0]!.createdAt,
      })
      expect(seqs((await events(alice, room.id)).events)).toEqual([1, 2, 3, 4, 5])

      expect(await events(alice, room.id, '?after=5')).toEqual({ events: [], hasMore: false, lastSeq: 5 })
      expect(await events(alice, room.id, '?after=99')).toEqual({ events: [], hasMore: false, lastSeq: 5 })

      const page = await events(alice, room.id, '?after=1&limit=2')
      expect(seqs(page.events)).toEqual([2, 3])
      expect(page).toMatchObject({ hasMore: true, lastSeq: 5 })
      const next = await events(alice, room.id, '?after=3&limit=2')
      expect(seqs(next.events)).toEqual([4, 5])
      expect(next.hasMore).toBe(false)
      expect(seqs((await events(alice, room.id, '?after=4&limit=500')).events)).toEqual([5])
    })

    it('a catch-up walk from 0 in pages returns every event exactly once', async () => {
      const alice = await signUp(ctx.app)
      const room = await createRoom(alice)
      await Promise.all(
        Array.from({ length: 23 }, (_, i) =>
          alice.request('POST', `/api/rooms/${room.id}/messages`, { clientId: randomUUID(), body: `w${i}` }),
        ),
      )
      const seen: number[] = []
      let after = 0
      for (;;) {
        const page = await events(alice, room.id, `?after=${after}&limit=5`)
        seen.push(...seqs(page.events))
        expect(page.lastSeq).toBe(23)
        if (!page.hasMore) break
        after = page.events.at(-1)!.seq
      }
      expect(seen).toEqual(range(1, 23))
    })
  })
})
