import { randomUUID } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import type { Room } from '../../shared/schemas.ts'
import { createRoom, expectError, join, sendMessage } from '../support/api.ts'
import { type Agent, signUp, useTestApp } from '../support/app.ts'
import { describeEachEngine } from '../support/databases.ts'

async function roomsOf(agent: Agent): Promise<Room[]> {
  const response = await agent.request('GET', '/api/rooms')
  expect(response.statusCode, response.body).toBe(200)
  return response.json().rooms
}

async function roomOf(agent: Agent, roomId: string): Promise<Room> {
  const response = await agent.request('GET', `/api/rooms/${roomId}`)
  expect(response.statusCode, response.body).toBe(200)
  return response.json().room
}

describeEachEngine('rooms', (engine) => {
  const ctx = useTestApp(engine)

  describe('create and get', () => {
    it('creates a room: 201 {room}, the creator is its owner and only member', async () => {
      const alice = await signUp(ctx.app)
      const response = await alice.request('POST', '/api/rooms', { name: '  General  ', visibility: 'public' })
      expect(response.statusCode).toBe(201)
      const { room } = response.json()
      expect(room).toEqual({
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        name: 'General',
        visibility: 'public',
        ownerId: alice.user.id,
        createdAt: expect.any(String),
        lastSeq: 0,
        role: 'owner',
        topic: null,
        memberCount: 1,
        lastMessage: null,
        unreadCount: 0,
        lastReadSeq: 0,
        unreadMentionSeq: null,
      })
      expect(await roomOf(alice, room.id)).toEqual(room)
      const members = await alice.request('GET', `/api/rooms/${room.id}/members`)
      expect(members.json()).toEqual({
        members: [
          { userId: alice.user.id, username: alice.user.username, role: 'owner', joinedAt: expect.any(String) },
        ],
      })
    })

    it('refuses bad room bodies with 400', async () => {
      const alice = await signUp(ctx.app)
      const bad = [
        { name: '', visibility: 'public' },
        { name: '   ', visibility: 'public' },
        { name: 'x'.repeat(81), visibility: 'public' },
        { name: 'ok', visibility: 'secret' },
        { name: 'ok' },
        { visibility: 'public' },
        { name: 7, visibility: 'public' },
        { name: 'ok', visibility: 'public', ownerId: alice.user.id },
      ]
      for (const body of bad) expectError(await alice.request('POST', '/api/rooms', body), 400, 'validation_failed')
      expect(
        (await alice.request('POST', '/api/rooms', { name: 'x'.repeat(80), visibility: 'private' })).statusCode,
      ).toBe(201)
    })

    it('answers 404 for a room that does not exist', async () => {
      const alice = await signUp(ctx.app)
      const missing = randomUUID()
      for (const url of [
        `/api/rooms/${missing}`,
        `/api/rooms/${missing}/messages`,
        `/api/rooms/${missing}/events`,
        `/api/rooms/${missing}/members`,
      ]) {
        expectError(await alice.request('GET', url), 404, 'not_found')
      }
      expectError(await alice.request('POST', `/api/rooms/${missing}/join`), 404, 'not_found')
      expectError(
        await alice.request('POST', `/api/rooms/${missing}/messages`, { clientId: randomUUID(), body: 'hi' }),
        404,
        'not_found',
      )
    })
  })

  describe('private rooms', () => {
    it('are invisible to non-members: 404 on every read and write, exactly like a missing room', async () => {
      const alice = await signUp(ctx.app)
      const mallory = await signUp(ctx.app)
      const room = await createRoom(alice, 'private')
      await sendMessage(alice, room.id, 'secret plans')
      const missing = await mallory.request('GET', `/api/rooms/${randomUUID()}`)

      const attempts = [
        mallory.request('GET', `/api/rooms/${room.id}`),
        mallory.request('GET', `/api/rooms/${room.id}/messages`),
        mallory.request('GET', `/api/rooms/${room.id}/events?after=0`),
        mallory.request('GET', `/api/rooms/${room.id}/members`),
        mallory.request('POST', `/api/rooms/${room.id}/messages`, { clientId: randomUUID(), body: 'let me in' }),
        mallory.request('POST', `/api/rooms/${room.id}/join`),
        mallory.request('POST', `/api/rooms/${room.id}/leave`),
        mallory.request('POST', `/api/rooms/${room.id}/members`, { username: mallory.user.username }),
        mallory.request('POST', `/api/rooms/${room.id}/read`, { seq: 1 }),
      ]
      for (const response of await Promise.all(attempts)) {
        expectError(response, 404, 'not_found')
        expect(response.json().error.message).toBe(missing.json().error.message)
        expect(response.body).not.toContain('secret plans')
      }
      expect((await roomsOf(mallory)).map((r) => r.id)).not.toContain(room.id)
      const stored = await ctx.database.db
        .selectFrom('room_events')
        .select('body')
        .where('room_id', '=', room.id)
        .execute()
      expect(stored.map((r) => r.body)).toEqual(['secret plans'])
    })

    it('the owner adds members by username (case-insensitive): 201, then 200 when already a member', async () => {
      const alice = await signUp(ctx.app)
      const bob = await signUp(ctx.app)
      const room = await createRoom(alice, 'private')
      const added = await alice.request('POST', `/api/rooms/${room.id}/members`, {
        username: bob.user.username.toUpperCase(),
      })
      expect(added.statusCode).toBe(201)
      expect(added.json()).toEqual({
        member: { userId: bob.user.id, username: bob.user.username, role: 'member', joinedAt: expect.any(String) },
      })
      const again = await alice.request('POST', `/api/rooms/${room.id}/members`, { username: bob.user.username })
      expect(again.statusCode).toBe(200)
      expect(again.json().member.userId).toBe(bob.user.id)

      // Now bob reads and writes.
      expect((await roomOf(bob, room.id)).role).toBe('member')
      const message = await sendMessage(bob, room.id, 'thanks for the invite')
      expect(message.authorId).toBe(bob.user.id)
      const members = (await bob.request('GET', `/api/rooms/${room.id}/members`)).json().members
      expect(members.map((m: { userId: string; role: string }) => [m.userId, m.role])).toEqual([
        [alice.user.id, 'owner'],
        [bob.user.id, 'member'],
      ])
      expect((await roomsOf(bob)).map((r) => r.id)).toContain(room.id)
      expect((await roomOf(alice, room.id)).memberCount).toBe(2)
    })

    it('only the owner adds members: a member gets 403; an unknown username is 404', async () => {
      const alice = await signUp(ctx.app)
      const bob = await signUp(ctx.app)
      const carol = await signUp(ctx.app)
      const room = await createRoom(alice, 'private')
      await alice.request('POST', `/api/rooms/${room.id}/members`, { username: bob.user.username })
      expectError(
        await bob.request('POST', `/api/rooms/${room.id}/members`, { username: carol.user.username }),
        403,
        'forbidden',
      )
      expectError(
        await alice.request('POST', `/api/rooms/${room.id}/members`, { username: 'no_such_user_anywhere' }),
        404,
        'not_found',
      )
      expectError(await alice.request('POST', `/api/rooms/${room.id}/members`, {}), 400, 'validation_failed')
      expectError(await carol.request('GET', `/api/rooms/${room.id}`), 404, 'not_found')
    })

    it('a queued message retried after leaving a private room is still answered as the original (200)', async () => {
      const alice = await signUp(ctx.app)
      const bob = await signUp(ctx.app)
      const room = await createRoom(alice, 'private')
      await alice.request('POST', `/api/rooms/${room.id}/members`, { username: bob.user.username })
      const message = { clientId: randomUUID(), body: 'sent before leaving' }
      const first = await bob.request('POST', `/api/rooms/${room.id}/messages`, message)
      expect(first.statusCode).toBe(201)
      expect((await bob.request('POST', `/api/rooms/${room.id}/leave`)).statusCode).toBe(204)
      const retry = await bob.request('POST', `/api/rooms/${room.id}/messages`, message)
      expect(retry.statusCode).toBe(200)
      expect(retry.json().message).toEqual(first.json().message)
    })

    it('a new member starts with the earlier history marked read', async () => {
      const alice = await signUp(ctx.app)
      const bob = await signUp(ctx.app)
      const room = await createRoom(alice, 'public')
      await sendMessage(alice, room.id, 'before bob')
      await sendMessage(alice, room.id, 'also before bob')
      await join(bob, room.id)
      // Seq 3 is bob's member.joined: read too.
      expect(await roomOf(bob, room.id)).toMatchObject({ unreadCount: 0, lastReadSeq: 3, lastSeq: 3 })
      await sendMessage(alice, room.id, 'after bob joined')
      expect(await roomOf(bob, room.id)).toMatchObject({ unreadCount: 1, lastReadSeq: 3, lastSeq: 4 })
    })

    it('a private room cannot be joined, even by a member (403), and a member who leaves loses access', async () => {
      const alice = await signUp(ctx.app)
      const bob = await signUp(ctx.app)
      const room = await createRoom(alice, 'private')
      await alice.request('POST', `/api/rooms/${room.id}/members`, { username: bob.user.username })
      expectError(await bob.request('POST', `/api/rooms/${room.id}/join`), 403, 'forbidden')
      expect((await bob.request('POST', `/api/rooms/${room.id}/leave`)).statusCode).toBe(204)
      expectError(await bob.request('GET', `/api/rooms/${room.id}`), 404, 'not_found')
      // Their sends say why (the log names them as having left), rather than pretend the room does not exist.
      expectError(
        await bob.request('POST', `/api/rooms/${room.id}/messages`, { clientId: randomUUID(), body: 'hello?' }),
        403,
        'not_member',
      )
    })
  })

  describe('public rooms', () => {
    it('non-members may read but must join to write (403 not_member)', async () => {
      const alice = await signUp(ctx.app)
      const bob = await signUp(ctx.app)
      const room = await createRoom(alice, 'public')
      await sendMessage(alice, room.id, 'welcome')

      const seen = await roomOf(bob, room.id)
      expect(seen).toMatchObject({ id: room.id, role: null, unreadCount: 0, lastSeq: 1 })
      const history = await bob.request('GET', `/api/rooms/${room.id}/messages`)
      expect(history.json().messages.map((m: { body: string }) => m.body)).toEqual(['welcome'])
      const events = await bob.request('GET', `/api/rooms/${room.id}/events?after=0`)
      expect(events.json().events).toHaveLength(1)
      expect((await bob.request('GET', `/api/rooms/${room.id}/members`)).json().members).toHaveLength(1)

      const clientId = randomUUID()
      const refused = await bob.request('POST', `/api/rooms/${room.id}/messages`, { clientId, body: 'hi' })
      expectError(refused, 403, 'not_member')
      expectError(await bob.request('POST', `/api/rooms/${room.id}/read`, { seq: 1 }), 403, 'not_member')
      expectError(await bob.request('POST', `/api/rooms/${room.id}/leave`), 403, 'not_member')
      expectError(
        await bob.request('POST', `/api/rooms/${room.id}/members`, { username: bob.user.username }),
        403,
        'not_member',
      )
      const rows = await ctx.database.db
        .selectFrom('room_events')
        .select('seq')
        .where('room_id', '=', room.id)
        .execute()
      expect(rows).toHaveLength(1)

      // Join (twice is fine: one member.joined, seq 2), then the same clientId goes through as a new message.
      const joined = await bob.request('POST', `/api/rooms/${room.id}/join`)
      expect(joined.statusCode).toBe(200)
      expect(joined.json().room).toMatchObject({ id: room.id, role: 'member', memberCount: 2 })
      await join(bob, room.id)
      expect((await roomOf(bob, room.id)).memberCount).toBe(2)
      const sent = await bob.request('POST', `/api/rooms/${room.id}/messages`, { clientId, body: 'hi' })
      expect(sent.statusCode).toBe(201)
      expect(sent.json().message.seq).toBe(3)
    })

    it('leave: a member leaves with 204 and can no longer write; the owner cannot leave while others remain (409)', async () => {
      const alice = await signUp(ctx.app)
      const bob = await signUp(ctx.app)
      const room = await createRoom(alice, 'public')
      await join(bob, room.id)
      const left = await bob.request('POST', `/api/rooms/${room.id}/leave`)
      expect(left.statusCode).toBe(204)
      expect(left.body).toBe('')
      expect((await roomOf(bob, room.id)).role).toBeNull()
      expectError(
        await bob.request('POST', `/api/rooms/${room.id}/messages`, { clientId: randomUUID(), body: 'x' }),
        403,
        'not_member',
      )
      const carol = await signUp(ctx.app)
      await join(carol, room.id)
      expectError(await alice.request('POST', `/api/rooms/${room.id}/leave`), 409, 'owner_cannot_leave')
      expect((await roomOf(alice, room.id)).role).toBe('owner')
    })

    it('join/leave/members need a valid room id and a session', async () => {
      const alice = await signUp(ctx.app)
      expectError(await alice.request('POST', '/api/rooms/not-a-uuid/join'), 400, 'validation_failed')
      expectError(
        await ctx.app.inject({
          method: 'POST',
          url: `/api/rooms/${randomUUID()}/join`,
          headers: { 'content-type': 'application/json' },
        }),
        401,
        'unauthorized',
      )
    })
  })

  describe('room list, previews and unread counts', () => {
    it('lists the rooms I am in (public and private), never public rooms I have not joined or other people’s private rooms', async () => {
      const alice = await signUp(ctx.app)
      const bob = await signUp(ctx.app)
      const alicePublic = await createRoom(alice, 'public')
      const alicePrivate = await createRoom(alice, 'private')
      const bobPrivate = await createRoom(bob, 'private')
      const invited = await createRoom(bob, 'private')
      await bob.request('POST', `/api/rooms/${invited.id}/members`, { username: alice.user.username })

      const ids = (await roomsOf(alice)).map((r) => r.id)
      expect(ids).toEqual(expect.arrayContaining([alicePublic.id, alicePrivate.id, invited.id]))
      expect(ids).not.toContain(bobPrivate.id)
      const bobIds = (await roomsOf(bob)).map((r) => r.id)
      expect(bobIds.sort()).toEqual([bobPrivate.id, invited.id].sort())
      // Alice's public room is for Discover until Bob joins it.
      await join(bob, alicePublic.id)
      expect((await roomsOf(bob)).map((r) => r.id)).toContain(alicePublic.id)
      // The list shape is the same as GET /api/rooms/:roomId.
      const listed = (await roomsOf(alice)).find((r) => r.id === invited.id)
      expect(listed).toEqual(await roomOf(alice, invited.id))
      expect(listed?.role).toBe('member')
    })

    it('shows the last message, lastSeq and the unread count of others’ messages; read lowers it', async () => {
      const alice = await signUp(ctx.app)
      const bob = await signUp(ctx.app)
      const room = await createRoom(alice, 'public')
      await join(bob, room.id)
      await sendMessage(alice, room.id, 'one')
      await sendMessage(alice, room.id, 'two')
      await sendMessage(bob, room.id, 'bob writes')
      const last = await sendMessage(alice, room.id, 'three')

      const forBob = (await roomsOf(bob)).find((r) => r.id === room.id)!
      // Seq 1 is bob's member.joined, read by him from the start.
      expect(forBob.lastSeq).toBe(5)
      expect(forBob.lastMessage).toEqual(last)
      expect(forBob.lastMessage).toMatchObject({ body: 'three', authorId: alice.user.id, seq: 5 })
      // Bob's own message does not count.
      expect(forBob.unreadCount).toBe(3)
      expect(forBob.lastReadSeq).toBe(1)
      // Alice's own messages never count for her.
      expect((await roomOf(alice, room.id)).unreadCount).toBe(1)
      // A non-member sees the preview but has nothing unread.
      const carol = await signUp(ctx.app)
      expect(await roomOf(carol, room.id)).toMatchObject({ unreadCount: 0, role: null, lastMessage: last })

      const read = await bob.request('POST', `/api/rooms/${room.id}/read`, { seq: 3 })
      expect(read.statusCode).toBe(200)
      expect(read.json()).toEqual({ lastReadSeq: 3, unreadCount: 1 })
      expect((await roomOf(bob, room.id)).unreadCount).toBe(1)

      // The marker never moves backwards.
      const back = await bob.request('POST', `/api/rooms/${room.id}/read`, { seq: 2 })
      expect(back.json()).toEqual({ lastReadSeq: 3, unreadCount: 1 })
      // It is capped at the room's last seq.
      const beyond = await bob.request('POST', `/api/rooms/${room.id}/read`, { seq: 1000 })
      expect(beyond.json()).toEqual({ lastReadSeq: 5, unreadCount: 0 })
      await sendMessage(alice, room.id, 'four')
      expect(await roomOf(bob, room.id)).toMatchObject({ unreadCount: 1, lastReadSeq: 5, lastSeq: 6 })

      expectError(await bob.request('POST', `/api/rooms/${room.id}/read`, { seq: -1 }), 400, 'validation_failed')
      expectError(await bob.request('POST', `/api/rooms/${room.id}/read`, { seq: '3' }), 400, 'validation_failed')
      expectError(await bob.request('POST', `/api/rooms/${room.id}/read`, {}), 400, 'validation_failed')
    })

    it('orders the list by latest activity', async () => {
      const alice = await signUp(ctx.app)
      const quiet = await createRoom(alice, 'private')
      const busy = await createRoom(alice, 'private')
      await sendMessage(alice, quiet.id, 'early')
      await new Promise((resolve) => setTimeout(resolve, 5))
      await sendMessage(alice, busy.id, 'later')
      const ids = (await roomsOf(alice)).map((r) => r.id)
      expect(ids.indexOf(busy.id)).toBeLessThan(ids.indexOf(quiet.id))
    })
  })
})
