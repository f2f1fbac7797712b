/**
 * The per-user room-list stream (docs/PROTOCOL.md, "Room list"): room_added,
 * room_removed and room_created reach the sockets of the user they concern,
 * and nobody else; a private room is never named to a non-member.
 */

import { Check } from 'typebox/schema'
import { beforeAll, expect, it } from 'vitest'
import { ServerFrame } from '../../shared/protocol.ts'
import { createRoom, expectError, join } from '../support/api.ts'
import { type Agent, signUp, useTestApp } from '../support/app.ts'
import { describeEachEngine } from '../support/databases.ts'
import { connect, type TestSocket } from '../support/ws.ts'

/** Frames of the room-list stream a socket got, in order. */
function listFrames(socket: TestSocket) {
  return socket.frames.filter((f) => f.type === 'room_added' || f.type === 'room_removed' || f.type === 'room_created')
}

/** A ping answered after `socket`'s stream frames: what was due before it has arrived. */
async function settle(socket: TestSocket): Promise<void> {
  const id = Math.floor(Math.random() * 1e9)
  socket.send({ type: 'ping', id })
  await socket.waitFor('pong', (f) => f.id === id)
}

describeEachEngine('per-user room-list stream', (engine) => {
  const ctx = useTestApp(engine)
  let owner: Agent
  let ben: Agent
  let eve: Agent
  beforeAll(async () => {
    await ctx.app.listen({ port: 0, host: '127.0.0.1' })
    ;[owner, ben, eve] = await Promise.all([signUp(ctx.app), signUp(ctx.app), signUp(ctx.app)])
  })

  it('being added to a private room reaches only that user, with the room as they see it; others hear nothing of it', async () => {
    const [benSocket, eveSocket, ownerSocket] = await Promise.all([
      connect(ctx.app, ben),
      connect(ctx.app, eve),
      connect(ctx.app, owner),
    ])
    const room = await createRoom(owner, 'private')
    const added = await owner.request('POST', `/api/rooms/${room.id}/members`, { username: ben.user.username })
    expect(added.statusCode).toBe(201)
    const frame = await benSocket.waitFor('room_added', (f) => f.room.id === room.id)
    expect(frame.room).toMatchObject({ id: room.id, visibility: 'private', role: 'member', memberCount: 2 })
    expect(Check(ServerFrame, frame)).toBe(true)
    // The owner's own socket learns of the room it created (another device of theirs lists it too).
    await ownerSocket.waitFor('room_added', (f) => f.room.id === room.id && f.room.role === 'owner')
    await Promise.all([settle(eveSocket), settle(benSocket)])
    expect(JSON.stringify(eveSocket.frames)).not.toContain(room.id)
    // Adding someone already in the room changes nothing and says nothing.
    const before = listFrames(benSocket).length
    expect(
      (await owner.request('POST', `/api/rooms/${room.id}/members`, { username: ben.user.username })).statusCode,
    ).toBe(200)
    await settle(benSocket)
    expect(listFrames(benSocket)).toHaveLength(before)
    for (const s of [benSocket, eveSocket, ownerSocket]) s.ws.close()
  })

  it('leaving a private room: room_removed to every socket of the user, the subscription ends with not_found', async () => {
    const room = await createRoom(owner, 'private')
    await owner.request('POST', `/api/rooms/${room.id}/members`, { username: ben.user.username })
    const [phone, laptop, eveSocket] = await Promise.all([
      connect(ctx.app, ben),
      connect(ctx.app, ben),
      connect(ctx.app, eve),
    ])
    phone.send({ type: 'subscribe', rooms: [{ roomId: room.id, after: 0 }] })
    await phone.waitFor('caught_up', (f) => f.roomId === room.id)
    expect((await ben.request('POST', `/api/rooms/${room.id}/leave`)).statusCode).toBe(204)
    for (const socket of [phone, laptop]) {
      const removed = await socket.waitFor('room_removed', (f) => f.roomId === room.id)
      expect(removed.visibility).toBe('private')
    }
    await phone.waitFor('error', (f) => f.code === 'not_found' && f.roomId === room.id)
    // The stream is over: the owner's next message does not reach Ben.
    const from = phone.frames.length
    await owner.request('POST', `/api/rooms/${room.id}/messages`, { clientId: crypto.randomUUID(), body: 'after' })
    await settle(phone)
    expect(phone.frames.slice(from).some((f) => f.type === 'events')).toBe(false)
    await settle(eveSocket)
    expect(JSON.stringify(eveSocket.frames)).not.toContain(room.id)
    for (const s of [phone, laptop, eveSocket]) s.ws.close()
  })

  it('the owner removes a member from a private room: room_removed to them only, the subscription ends; others may not remove', async () => {
    const room = await createRoom(owner, 'private')
    await owner.request('POST', `/api/rooms/${room.id}/members`, { username: ben.user.username })
    await owner.request('POST', `/api/rooms/${room.id}/members`, { username: eve.user.username })
    const [benSocket, eveSocket] = await Promise.all([connect(ctx.app, ben), connect(ctx.app, eve)])
    benSocket.send({ type: 'subscribe', rooms: [{ roomId: room.id, after: 0 }] })
    await benSocket.waitFor('caught_up', (f) => f.roomId === room.id)
    // Refused: a member who is not the owner, the owner removing themself, someone not in the room, no session.
    expectError(await eve.request('DELETE', `/api/rooms/${room.id}/members/${ben.user.id}`), 403, 'forbidden')
    expectError(
      await owner.request('DELETE', `/api/rooms/${room.id}/members/${owner.user.id}`),
      409,
      'owner_cannot_leave',
    )
    const stranger = await signUp(ctx.app)
    expectError(await owner.request('DELETE', `/api/rooms/${room.id}/members/${stranger.user.id}`), 404, 'not_found')
    expectError(await stranger.request('DELETE', `/api/rooms/${room.id}/members/${ben.user.id}`), 404, 'not_found')
    expectError(await owner.request('DELETE', `/api/rooms/${room.id}/members/not-a-uuid`), 400, 'validation_failed')
    const anonymous = await ctx.app.inject({
      method: 'DELETE',
      url: `/api/rooms/${room.id}/members/${ben.user.id}`,
      headers: { 'content-type': 'application/json' },
    })
    expectError(anonymous, 401, 'unauthorized')
    await settle(benSocket)
    expect(listFrames(benSocket)).toHaveLength(0)

    const removed = await owner.request('DELETE', `/api/rooms/${room.id}/members/${ben.user.id}`)
    expect(removed.statusCode, removed.body).toBe(204)
    expect((await benSocket.waitFor('room_removed', (f) => f.roomId === room.id)).visibility).toBe('private')
    await benSocket.waitFor('error', (f) => f.code === 'not_found' && f.roomId === room.id)
    expectError(await ben.request('GET', `/api/rooms/${room.id}`), 404, 'not_found')
    await settle(eveSocket)
    expect(listFrames(eveSocket)).toHaveLength(0)
    for (const s of [benSocket, eveSocket]) s.ws.close()
  })

  it('a new public room reaches every other signed-in socket once; a private one reaches nobody else', async () => {
    const [benSocket, eveSocket, ownerSocket] = await Promise.all([
      connect(ctx.app, ben),
      connect(ctx.app, eve),
      connect(ctx.app, owner),
    ])
    const privateRoom = await createRoom(owner, 'private')
    const publicRoom = await createRoom(owner, 'public')
    for (const socket of [benSocket, eveSocket]) {
      const created = await socket.waitFor('room_created', (f) => f.room.id === publicRoom.id)
      expect(created.room).toMatchObject({ visibility: 'public', role: null, unreadCount: 0, memberCount: 1 })
    }
    await ownerSocket.waitFor('room_added', (f) => f.room.id === publicRoom.id)
    await Promise.all([settle(benSocket), settle(eveSocket), settle(ownerSocket)])
    expect(ownerSocket.frames.some((f) => f.type === 'room_created')).toBe(false)
    expect(benSocket.frames.filter((f) => f.type === 'room_created' && f.room.id === publicRoom.id)).toHaveLength(1)
    for (const socket of [benSocket, eveSocket]) expect(JSON.stringify(socket.frames)).not.toContain(privateRoom.id)
    for (const s of [benSocket, eveSocket, ownerSocket]) s.ws.close()
  })

  it('joining and leaving a public room on one device: room_added then room_removed (still readable) on the other', async () => {
    const room = await createRoom(owner, 'public')
    const other = await connect(ctx.app, eve)
    await join(eve, room.id)
    const added = await other.waitFor('room_added', (f) => f.room.id === room.id)
    expect(added.room.role).toBe('member')
    expect((await eve.request('POST', `/api/rooms/${room.id}/leave`)).statusCode).toBe(204)
    const removed = await other.waitFor('room_removed', (f) => f.roomId === room.id)
    expect(removed.visibility).toBe('public')
    const order = listFrames(other)
      .filter((f) => ('room' in f ? f.room.id : f.roomId) === room.id)
      .map((f) => f.type)
    // Connected after the room was created: no room_created, and the two changes in the order they happened.
    expect(order).toEqual(['room_added', 'room_removed'])
    other.ws.close()
  })

  it('refused requests publish nothing: a non-owner adding, a stranger joining a private room, the owner leaving', async () => {
    const room = await createRoom(owner, 'private')
    // With another member in the room, the owner may not leave (alone, leaving deletes the room).
    expect(
      (await owner.request('POST', `/api/rooms/${room.id}/members`, { username: ben.user.username })).statusCode,
    ).toBe(201)
    const watcher = await connect(ctx.app, eve)
    expect((await eve.request('POST', `/api/rooms/${room.id}/join`)).statusCode).toBe(404)
    expect(
      (await eve.request('POST', `/api/rooms/${room.id}/members`, { username: eve.user.username })).statusCode,
    ).toBe(404)
    expect((await owner.request('POST', `/api/rooms/${room.id}/leave`)).statusCode).toBe(409)
    await settle(watcher)
    expect(JSON.stringify(watcher.frames)).not.toContain(room.id)
    watcher.ws.close()
  })
})
