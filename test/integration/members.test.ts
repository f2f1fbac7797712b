/**
 * Issue 9, member notices and moderation (docs/PROTOCOL.md "Conversation
 * events", docs/API.md "Members and roles"): join, leave, add and remove write
 * `member.*` entries and rename writes `room.renamed`, each in the same
 * transaction as the change, gap-free with the messages, live and in every
 * catch-up; roles owner / admin / member and who may do what.
 */
import { randomUUID } from 'node:crypto'
import { Check } from 'typebox/schema'
import { beforeAll, describe, expect, it } from 'vitest'
import { ConversationEvent } from '../../shared/conversation/events.ts'
import type { ErrorCode } from '../../shared/errors.ts'
import { RoomEvent } from '../../shared/schemas.ts'
import { createRoom, expectError, join, sendMessage } from '../support/api.ts'
import { type Agent, signUp, useTestApp } from '../support/app.ts'
import { describeEachEngine } from '../support/databases.ts'
import { connect, isGapFree, storedEvents, type TestSocket, until } from '../support/ws.ts'

describeEachEngine('members and moderation', (engine) => {
  const ctx = useTestApp(engine)
  beforeAll(async () => {
    await ctx.app.listen({ port: 0, host: '127.0.0.1' })
  })

  /** Everything a refused request must leave as it was. */
  async function stateOf(roomId: string) {
    const db = ctx.database.db
    const room = await db
      .selectFrom('rooms')
      .select(['name', 'topic', 'owner_id', 'last_seq'])
      .where('id', '=', roomId)
      .executeTakeFirst()
    const members = await db
      .selectFrom('room_members')
      .select(['user_id', 'role', 'last_read_seq'])
      .where('room_id', '=', roomId)
      .orderBy('user_id')
      .execute()
    const events = await db.selectFrom('room_events').select(['seq', 'kind']).where('room_id', '=', roomId).execute()
    return { room, members, events: events.length }
  }

  const addByName = (actor: Agent, roomId: string, who: Agent) =>
    actor.request('POST', `/api/rooms/${roomId}/members`, { username: who.user.username })
  const setRole = (actor: Agent, roomId: string, who: Agent | string, role: unknown) =>
    actor.request('PATCH', `/api/rooms/${roomId}/members/${typeof who === 'string' ? who : who.user.id}`, { role })
  const remove = (actor: Agent, roomId: string, who: Agent | string) =>
    actor.request('DELETE', `/api/rooms/${roomId}/members/${typeof who === 'string' ? who : who.user.id}`)
  const rename = (actor: Agent, roomId: string, body: unknown) => actor.request('PATCH', `/api/rooms/${roomId}`, body)

  /** A ping answered after what was due before it: the socket has received it. */
  async function settle(socket: TestSocket): Promise<void> {
    const id = Math.floor(Math.random() * 1e9)
    socket.send({ type: 'ping', id })
    await socket.waitFor('pong', (f) => f.id === id)
  }

  describe('notices in the log', () => {
    it('join, add, leave, remove and rename each write one entry, gap-free with messages, live and in every catch-up', async () => {
      const [alice, bob, carol] = await Promise.all([signUp(ctx.app), signUp(ctx.app), signUp(ctx.app)])
      const room = await createRoom(alice, 'public')
      const live = await connect(ctx.app, alice)
      await live.subscribe(room.id, 0)

      await join(bob, room.id) // 1
      await join(bob, room.id) // already a member: nothing
      await sendMessage(alice, room.id, 'one') // 2
      expect((await addByName(alice, room.id, carol)).statusCode).toBe(201) // 3
      expect((await addByName(alice, room.id, carol)).statusCode).toBe(200) // nothing
      expect((await bob.request('POST', `/api/rooms/${room.id}/leave`)).statusCode).toBe(204) // 4
      await sendMessage(alice, room.id, 'two') // 5
      expect((await remove(alice, room.id, carol)).statusCode).toBe(204) // 6
      expect((await rename(alice, room.id, { name: ' Harbour ', topic: ' boats ' })).statusCode).toBe(200) // 7
      expect((await rename(alice, room.id, { name: 'Harbour', topic: 'boats' })).statusCode).toBe(200) // same: nothing
      expect((await rename(alice, room.id, { name: 'Harbour', topic: '' })).statusCode).toBe(200) // 8

      const stored = await storedEvents(alice, room.id)
      expect(stored.map((e) => [e.seq, e.kind])).toEqual([
        [1, 'member.joined'],
        [2, 'message.created'],
        [3, 'member.joined'],
        [4, 'member.left'],
        [5, 'message.created'],
        [6, 'member.removed'],
        [7, 'room.renamed'],
        [8, 'room.renamed'],
      ])
      const notice = { roomId: room.id, clientId: null, body: null, targetSeq: null, reaction: null }
      const name = (agent: Agent) => agent.user.username
      expect(stored[0]).toEqual({
        ...notice,
        seq: 1,
        kind: 'member.joined',
        authorId: bob.user.id,
        authorName: name(bob),
        subjectId: bob.user.id,
        subjectName: name(bob),
        createdAt: expect.any(String),
      })
      expect(stored[2]).toMatchObject({
        ...notice,
        authorId: alice.user.id,
        authorName: name(alice),
        subjectId: carol.user.id,
        subjectName: name(carol),
      })
      expect(stored[3]).toMatchObject({ ...notice, authorId: bob.user.id, subjectId: bob.user.id })
      expect(stored[5]).toMatchObject({
        ...notice,
        authorId: alice.user.id,
        subjectId: carol.user.id,
        subjectName: name(carol),
      })
      expect(stored[6]).toMatchObject({ kind: 'room.renamed', body: 'Harbour', topic: 'boats', clientId: null })
      expect(stored[7]).toMatchObject({ kind: 'room.renamed', body: 'Harbour', topic: null })
      // Messages look as they did before issue 9: no notice fields.
      expect(Object.keys(stored[1]!)).not.toContain('subjectId')
      expect(Object.keys(stored[1]!)).not.toContain('topic')
      for (const event of stored) {
        expect(Check(RoomEvent, event)).toBe(true)
        expect(Check(ConversationEvent, event)).toBe(true)
      }

      // Live: the subscribed socket got exactly these, in order.
      await until(() => live.lastSeq(room.id) === 8, 'the live events')
      expect(live.events(room.id)).toEqual(stored)
      // Catch-up over the socket from the middle, and over HTTP.
      const late = await connect(ctx.app, alice)
      const { from } = await late.subscribe(room.id, 3)
      expect(late.events(room.id, from)).toEqual(stored.slice(3))
      const page = (await alice.request('GET', `/api/rooms/${room.id}/events?after=5`)).json()
      expect(page).toEqual({ events: stored.slice(5), hasMore: false, lastSeq: 8 })
      const room8 = (await alice.request('GET', `/api/rooms/${room.id}`)).json().room
      expect(room8).toMatchObject({ name: 'Harbour', topic: null, lastSeq: 8, memberCount: 1 })
      await Promise.all([live.close(), late.close()])
    })

    it('messages and membership changes at once stay gap-free, and a live socket gets every seq once, in order', async () => {
      const alice = await signUp(ctx.app)
      const joiners = await Promise.all(Array.from({ length: 6 }, () => signUp(ctx.app)))
      const room = await createRoom(alice, 'public')
      const live = await connect(ctx.app, alice)
      await live.subscribe(room.id, 0)
      await Promise.all([
        ...joiners.map((joiner) => join(joiner, room.id)),
        ...Array.from({ length: 20 }, (_, i) => sendMessage(alice, room.id, `m${i}`)),
      ])
      await Promise.all(
        joiners.slice(0, 3).map(async (j) => expect((await remove(alice, room.id, j)).statusCode).toBe(204)),
      )
      const stored = await storedEvents(alice, room.id)
      expect(
        isGapFree(
          stored.map((e) => e.seq),
          1,
          29,
        ),
      ).toBe(true)
      expect(stored.filter((e) => e.kind === 'member.joined')).toHaveLength(6)
      expect(stored.filter((e) => e.kind === 'member.removed')).toHaveLength(3)
      await until(() => live.lastSeq(room.id) === 29, 'every live event')
      expect(live.seqs(room.id)).toEqual(stored.map((e) => e.seq))
      await live.close()
    })

    it('member entries are neither unread messages nor the room’s last message', async () => {
      const [alice, bob, carol] = await Promise.all([signUp(ctx.app), signUp(ctx.app), signUp(ctx.app)])
      const room = await createRoom(alice, 'public')
      await join(bob, room.id)
      const last = await sendMessage(alice, room.id, 'the last word')
      await bob.request('POST', `/api/rooms/${room.id}/read`, { seq: last.seq })
      // Afterwards: only notices (a join, a leave, a removal, a rename).
      await join(carol, room.id)
      await carol.request('POST', `/api/rooms/${room.id}/leave`)
      await addByName(alice, room.id, carol)
      await remove(alice, room.id, carol)
      await rename(alice, room.id, { name: 'Renamed', topic: '' })
      const listed = (await bob.request('GET', '/api/rooms')).json().rooms.find((r: { id: string }) => r.id === room.id)
      expect(listed).toMatchObject({ lastSeq: last.seq + 5, unreadCount: 0, lastReadSeq: last.seq, lastMessage: last })
      const forAlice = (await alice.request('GET', `/api/rooms/${room.id}`)).json().room
      expect(forAlice).toMatchObject({ unreadCount: 0, lastMessage: last, name: 'Renamed' })
    })
  })

  describe('roles and rights', () => {
    /** A public room with an owner, an admin, two members and a signed-in non-member. */
    async function cast() {
      const [owner, admin, member, other, outsider] = await Promise.all(
        Array.from({ length: 5 }, () => signUp(ctx.app)),
      )
      const room = await createRoom(owner!, 'public')
      for (const agent of [admin!, member!, other!]) await join(agent, room.id)
      const promoted = await setRole(owner!, room.id, admin!, 'admin')
      expect(promoted.statusCode, promoted.body).toBe(200)
      expect(promoted.json().member).toMatchObject({ userId: admin!.user.id, role: 'admin' })
      return { room, owner: owner!, admin: admin!, member: member!, other: other!, outsider: outsider! }
    }

    it('refuses each forbidden change with its typed error and changes nothing', async () => {
      const c = await cast()
      const [admin2] = [await signUp(ctx.app)]
      await join(admin2, c.room.id)
      expect((await setRole(c.owner, c.room.id, admin2, 'admin')).statusCode).toBe(200)
      const id = c.room.id
      const refusals: Array<[string, () => ReturnType<Agent['request']>, number, ErrorCode]> = [
        ['member promotes', () => setRole(c.member, id, c.other, 'admin'), 403, 'forbidden'],
        ['member demotes an admin', () => setRole(c.member, id, c.admin, 'member'), 403, 'forbidden'],
        ['member takes the room', () => setRole(c.member, id, c.member, 'owner'), 403, 'forbidden'],
        ['admin promotes', () => setRole(c.admin, id, c.member, 'admin'), 403, 'forbidden'],
        ['admin demotes an admin', () => setRole(c.admin, id, admin2, 'member'), 403, 'forbidden'],
        ['admin takes the room', () => setRole(c.admin, id, c.admin, 'owner'), 403, 'forbidden'],
        ['non-member sets a role', () => setRole(c.outsider, id, c.member, 'admin'), 403, 'not_member'],
        ['owner demotes themself', () => setRole(c.owner, id, c.owner, 'admin'), 403, 'forbidden'],
        ['owner sets a non-member role', () => setRole(c.owner, id, c.outsider, 'admin'), 404, 'not_found'],
        ['role of nobody', () => setRole(c.owner, id, randomUUID(), 'admin'), 404, 'not_found'],
        ['member removes', () => remove(c.member, id, c.other), 403, 'forbidden'],
        ['member removes the owner', () => remove(c.member, id, c.owner), 403, 'forbidden'],
        ['admin removes the owner', () => remove(c.admin, id, c.owner), 403, 'forbidden'],
        ['admin removes an admin', () => remove(c.admin, id, admin2), 403, 'forbidden'],
        ['admin removes themself', () => remove(c.admin, id, c.admin), 403, 'forbidden'],
        ['non-member removes', () => remove(c.outsider, id, c.member), 403, 'not_member'],
        ['owner removes themself', () => remove(c.owner, id, c.owner), 409, 'owner_cannot_leave'],
        ['remove a non-member', () => remove(c.owner, id, c.outsider), 404, 'not_found'],
        ['member renames', () => rename(c.member, id, { name: 'Mine', topic: '' }), 403, 'forbidden'],
        ['non-member renames', () => rename(c.outsider, id, { name: 'Mine', topic: '' }), 403, 'not_member'],
        ['member adds', () => addByName(c.member, id, c.outsider), 403, 'forbidden'],
        [
          'owner leaves others behind',
          () => c.owner.request('POST', `/api/rooms/${id}/leave`),
          409,
          'owner_cannot_leave',
        ],
        ['owner deletes the owner', () => remove(c.owner, id, c.owner), 409, 'owner_cannot_leave'],
      ]
      const before = await stateOf(id)
      for (const [what, request, status, code] of refusals) {
        const response = await request()
        expect({ what, status: response.statusCode }).toEqual({ what, status })
        expectError(response, status, code)
        expect({ what, state: await stateOf(id) }).toEqual({ what, state: before })
      }
    })

    it('a private room answers not_found to non-members for every moderation request', async () => {
      const [owner, member, outsider] = await Promise.all([signUp(ctx.app), signUp(ctx.app), signUp(ctx.app)])
      const room = await createRoom(owner, 'private')
      expect((await addByName(owner, room.id, member)).statusCode).toBe(201)
      const before = await stateOf(room.id)
      for (const response of [
        await setRole(outsider, room.id, member, 'admin'),
        await setRole(outsider, room.id, outsider, 'owner'),
        await remove(outsider, room.id, member),
        await rename(outsider, room.id, { name: 'Mine', topic: '' }),
        await addByName(outsider, room.id, outsider),
      ]) {
        expectError(response, 404, 'not_found')
      }
      expect(await stateOf(room.id)).toEqual(before)
    })

    it('allowed: promote, an admin removes a member, renames and adds, demote, transfer (the old owner becomes an admin), who may then leave', async () => {
      const c = await cast()
      const id = c.room.id
      expect((await remove(c.admin, id, c.other)).statusCode).toBe(204)
      expect((await rename(c.admin, id, { name: 'By the admin', topic: 'x' })).statusCode).toBe(200)
      expect((await addByName(c.admin, id, c.outsider)).statusCode).toBe(201)
      const demoted = await setRole(c.owner, id, c.admin, 'member')
      expect(demoted.json().member).toMatchObject({ userId: c.admin.user.id, role: 'member' })
      // Setting the role a member has already is a no-op.
      expect((await setRole(c.owner, id, c.admin, 'member')).statusCode).toBe(200)
      const transferred = await setRole(c.owner, id, c.member, 'owner')
      expect(transferred.statusCode, transferred.body).toBe(200)
      expect(transferred.json().member).toMatchObject({ userId: c.member.user.id, role: 'owner' })
      const members = (await c.owner.request('GET', `/api/rooms/${id}/members`)).json().members
      const roles = Object.fromEntries(members.map((m: { userId: string; role: string }) => [m.userId, m.role]))
      expect(roles).toEqual({
        [c.owner.user.id]: 'admin',
        [c.admin.user.id]: 'member',
        [c.member.user.id]: 'owner',
        [c.outsider.user.id]: 'member',
      })
      expect((await c.member.request('GET', `/api/rooms/${id}`)).json().room).toMatchObject({
        ownerId: c.member.user.id,
        role: 'owner',
        name: 'By the admin',
        topic: 'x',
      })
      // The previous owner, now an admin, can no longer hand the room over, but can leave.
      expectError(await setRole(c.owner, id, c.admin, 'owner'), 403, 'forbidden')
      expect((await c.owner.request('POST', `/api/rooms/${id}/leave`)).statusCode).toBe(204)
      const kinds = (await storedEvents(c.member, id)).map((e) => [e.kind, e.authorId, e.subjectId ?? null])
      expect(kinds.slice(3)).toEqual([
        ['member.removed', c.admin.user.id, c.other.user.id],
        ['room.renamed', c.admin.user.id, null],
        ['member.joined', c.admin.user.id, c.outsider.user.id],
        ['member.left', c.owner.user.id, c.owner.user.id],
      ])
    })

    it('the last member (the owner) leaving deletes the room; sockets following it hear not_found', async () => {
      const [alice, watcher] = await Promise.all([signUp(ctx.app), signUp(ctx.app)])
      const room = await createRoom(alice, 'public')
      await sendMessage(alice, room.id, 'alone here')
      const [aliceSocket, follower] = await Promise.all([connect(ctx.app, alice), connect(ctx.app, watcher)])
      await follower.subscribe(room.id, 0)
      expect((await alice.request('POST', `/api/rooms/${room.id}/leave`)).statusCode).toBe(204)
      await follower.waitFor('error', (f) => f.code === 'not_found' && f.roomId === room.id)
      const removed = await aliceSocket.waitFor('room_removed', (f) => f.roomId === room.id)
      expect(removed.visibility).toBe('private')
      expectError(await alice.request('GET', `/api/rooms/${room.id}`), 404, 'not_found')
      const rows = await ctx.database.db
        .selectFrom('room_events')
        .select('seq')
        .where('room_id', '=', room.id)
        .execute()
      expect(rows).toEqual([])
      await Promise.all([aliceSocket.close(), follower.close()])
    })
  })

  describe('a removed member', () => {
    it('stops following a private room at once, hears room_removed, and their sends get not_member; their other rooms go on', async () => {
      const [alice, bob, stranger] = await Promise.all([signUp(ctx.app), signUp(ctx.app), signUp(ctx.app)])
      const secret = await createRoom(alice, 'private')
      const open = await createRoom(alice, 'public')
      expect((await addByName(alice, secret.id, bob)).statusCode).toBe(201)
      await join(bob, open.id)
      const socket = await connect(ctx.app, bob)
      await socket.subscribe(secret.id, 0)
      await socket.subscribe(open.id, 0)

      expect((await remove(alice, secret.id, bob)).statusCode).toBe(204)
      await socket.waitFor('error', (f) => f.code === 'not_found' && f.roomId === secret.id && !f.clientId)
      await socket.waitFor('room_removed', (f) => f.roomId === secret.id && f.visibility === 'private')
      const after = socket.frames.length
      // Alice writes on: nothing of it reaches bob.
      await sendMessage(alice, secret.id, 'after bob')
      const refused = randomUUID()
      socket.send({ type: 'send', roomId: secret.id, clientId: refused, body: 'still here?' })
      const error = await socket.waitFor('error', (f) => f.clientId === refused)
      expect(error).toMatchObject({ code: 'not_member', roomId: secret.id })
      const accepted = randomUUID()
      socket.send({ type: 'send', roomId: open.id, clientId: accepted, body: 'other rooms go on' })
      await socket.waitFor('ack', (f) => f.clientId === accepted)
      await settle(socket)
      expect(socket.events(secret.id, after)).toEqual([])
      expectError(
        await bob.request('POST', `/api/rooms/${secret.id}/messages`, { clientId: randomUUID(), body: 'x' }),
        403,
        'not_member',
      )
      expectError(await bob.request('GET', `/api/rooms/${secret.id}`), 404, 'not_found')
      // Someone who was never in it still cannot tell it exists.
      expectError(
        await stranger.request('POST', `/api/rooms/${secret.id}/messages`, { clientId: randomUUID(), body: 'x' }),
        404,
        'not_found',
      )
      await socket.close()
    })

    it('their queued edits, deletions, reactions and replies for a private room fail with not_member too (socket and HTTP), changing nothing', async () => {
      // Was: not_found for the operations (only `send` asked the log whether the user had been a member).
      const [alice, bob, stranger] = await Promise.all([signUp(ctx.app), signUp(ctx.app), signUp(ctx.app)])
      const secret = await createRoom(alice, 'private')
      expect((await addByName(alice, secret.id, bob)).statusCode).toBe(201)
      const mine = await sendMessage(bob, secret.id, 'mine')
      const hers = await sendMessage(alice, secret.id, 'hers')
      expect((await remove(alice, secret.id, bob)).statusCode).toBe(204)
      const before = await stateOf(secret.id)
      const socket = await connect(ctx.app, bob)
      const writes: Array<Record<string, unknown>> = [
        { type: 'edit', targetSeq: mine.seq, body: 'changed' },
        { type: 'edit', targetClientId: mine.clientId, body: 'changed' },
        { type: 'delete', targetSeq: mine.seq },
        { type: 'react', targetSeq: hers.seq, emoji: '👍', action: 'add' },
        { type: 'send', body: 'a reply', replyTo: hers.seq },
        { type: 'send', body: `@${alice.user.username} hello` },
      ]
      for (const write of writes) {
        const { type, ...fields } = write
        const path = type === 'send' ? 'messages' : 'operations'
        const body = { ...(type === 'send' ? {} : { type }), clientId: randomUUID(), ...fields }
        const what = JSON.stringify(write)
        const answer = await bob.request('POST', `/api/rooms/${secret.id}/${path}`, body)
        expect({ what, status: answer.statusCode }).toEqual({ what, status: 403 })
        expectError(answer, 403, 'not_member')
        const clientId = randomUUID()
        socket.send({ ...write, roomId: secret.id, clientId })
        const error = await socket.waitFor('error', (f) => f.clientId === clientId)
        expect({ what, error }).toMatchObject({ what, error: { code: 'not_member', roomId: secret.id } })
        // Someone who was never in the room still cannot tell it exists.
        expectError(await stranger.request('POST', `/api/rooms/${secret.id}/${path}`, body), 404, 'not_found')
      }
      expect(await stateOf(secret.id)).toEqual(before)
      await socket.close()
    })
  })

  describe('the room list on every device', () => {
    it('a rename reaches every member’s sockets as room_added with the new name and topic; a role change reaches that member', async () => {
      const [alice, bob] = await Promise.all([signUp(ctx.app), signUp(ctx.app)])
      const room = await createRoom(alice, 'private')
      expect((await addByName(alice, room.id, bob)).statusCode).toBe(201)
      const [bobSocket, aliceSocket] = await Promise.all([connect(ctx.app, bob), connect(ctx.app, alice)])
      const renamed = await rename(alice, room.id, { name: 'Dock', topic: 'Ships in' })
      expect(renamed.json().room).toMatchObject({ name: 'Dock', topic: 'Ships in', role: 'owner' })
      for (const socket of [bobSocket, aliceSocket]) {
        await socket.waitFor('room_added', (f) => f.room.id === room.id && f.room.name === 'Dock')
      }
      const forBob = await bobSocket.waitFor('room_added', (f) => f.room.id === room.id)
      expect(forBob.room).toMatchObject({ name: 'Dock', topic: 'Ships in', role: 'member' })
      expect((await setRole(alice, room.id, bob, 'admin')).statusCode).toBe(200)
      await bobSocket.waitFor('room_added', (f) => f.room.id === room.id && f.room.role === 'admin')
      await Promise.all([bobSocket.close(), aliceSocket.close()])
    })

    it('a role change reaches every member’s sockets (an open member list refreshes on it); the same role again tells nobody', async () => {
      const [alice, bob, carol] = await Promise.all([signUp(ctx.app), signUp(ctx.app), signUp(ctx.app)])
      const room = await createRoom(alice, 'private')
      for (const who of [bob, carol]) expect((await addByName(alice, room.id, who)).statusCode).toBe(201)
      const sockets = await Promise.all([connect(ctx.app, alice), connect(ctx.app, bob), connect(ctx.app, carol)])
      const [aliceSocket, bobSocket, carolSocket] = sockets as [TestSocket, TestSocket, TestSocket]
      const marks = () => sockets.map((s) => s.frames.length)
      const heardSince = (mark: number[]) =>
        sockets.map((s, i) => s.frames.slice(mark[i]).filter((f) => f.type === 'room_added').length)

      const before = marks()
      expect((await setRole(alice, room.id, bob, 'admin')).statusCode).toBe(200)
      const promoted = await bobSocket.waitFor('room_added', (f) => f.room.id === room.id, { from: before[1] })
      expect(promoted.room.role).toBe('admin')
      // Carol's role did not change, yet she hears the room again: her member list shows Bob's new role.
      const forCarol = await carolSocket.waitFor('room_added', (f) => f.room.id === room.id, { from: before[2] })
      expect(forCarol.room).toMatchObject({ role: 'member', ownerId: alice.user.id })
      await aliceSocket.waitFor('room_added', (f) => f.room.id === room.id, { from: before[0] })

      // A transfer: every member hears the new owner.
      const mid = marks()
      expect((await setRole(alice, room.id, carol, 'owner')).statusCode).toBe(200)
      for (const [i, socket] of sockets.entries()) {
        const frame = await socket.waitFor('room_added', (f) => f.room.id === room.id, { from: mid[i] })
        expect(frame.room.ownerId).toBe(carol.user.id)
      }

      // The role Bob has already: nothing changes and nobody is told. A real change after it is each
      // user's next frame (one user's changes arrive in order), so one frame each proves the no-op sent none.
      const after = marks()
      expect((await setRole(carol, room.id, bob, 'admin')).statusCode).toBe(200)
      expect((await setRole(carol, room.id, bob, 'member')).statusCode).toBe(200)
      await bobSocket.waitFor('room_added', (f) => f.room.id === room.id && f.room.role === 'member', {
        from: after[1],
      })
      for (const [i, socket] of sockets.entries()) {
        await socket.waitFor('room_added', (f) => f.room.id === room.id, { from: after[i] })
      }
      expect(heardSince(after)).toEqual([1, 1, 1])
      await Promise.all(sockets.map((s) => s.close()))
    })
  })

  describe('bad input', () => {
    it('answers 400 validation_failed and changes nothing', async () => {
      const [alice, bob] = await Promise.all([signUp(ctx.app), signUp(ctx.app)])
      const room = await createRoom(alice, 'public')
      await join(bob, room.id)
      const before = await stateOf(room.id)
      const badRoles: unknown[] = ['king', 'Admin', 1, null, 'admin\u0000', ['admin']]
      for (const role of badRoles) expectError(await setRole(alice, room.id, bob, role), 400, 'validation_failed')
      const path = `/api/rooms/${room.id}/members/${bob.user.id}`
      for (const body of [{}, { role: 'admin', extra: 1 }, { role: 'admin', userId: alice.user.id }]) {
        expectError(await alice.request('PATCH', path, body), 400, 'validation_failed')
      }
      expectError(await setRole(alice, room.id, 'not-a-uuid', 'admin'), 400, 'validation_failed')
      expectError(await remove(alice, room.id, 'not-a-uuid'), 400, 'validation_failed')
      expectError(
        await alice.request('PATCH', `/api/rooms/nope/members/${bob.user.id}`, { role: 'admin' }),
        400,
        'validation_failed',
      )
      const badRenames: unknown[] = [
        {},
        { name: 'x' },
        { topic: '' },
        { name: 5, topic: '' },
        { name: 'x', topic: null },
        { name: 'a\u0000b', topic: '' },
        { name: 'ok', topic: 'a\u0000' },
        { name: '\ud800', topic: '' },
        { name: '', topic: '' },
        { name: '   ', topic: '' },
        { name: 'x'.repeat(81), topic: '' },
        { name: 'ok', topic: 'x'.repeat(301) },
        { name: 'ok', topic: '', visibility: 'private' },
      ]
      for (const body of badRenames) expectError(await rename(alice, room.id, body), 400, 'validation_failed')
      expectError(await rename(alice, 'nope', { name: 'ok', topic: '' }), 400, 'validation_failed')
      expect(await stateOf(room.id)).toEqual(before)
    })
  })
})
