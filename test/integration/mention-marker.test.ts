import { randomUUID } from 'node:crypto'
import { beforeAll, expect, it } from 'vitest'
import type { Room } from '../../shared/schemas.ts'
import { createRoom, join, sendMessage } from '../support/api.ts'
import { type Agent, signUp, useTestApp } from '../support/app.ts'
import { describeEachEngine } from '../support/databases.ts'
import { connect, realtimeConfig } from '../support/ws.ts'

/**
 * The room list's `@` (issue 9 item 2): every room row says `unreadMentionSeq`, the newest message
 * by someone else after the caller's read marker that mentions them (null when none). GET
 * /api/rooms and the room-list stream's `room_added` carry it; reading past it clears it; a
 * deleted message (its mentions scrubbed) stops counting; naming someone who is not a member
 * is plain text and raises nothing for them, even after they join.
 */
describeEachEngine('unread mention marker', (engine) => {
  const ctx = useTestApp(engine, { realtime: realtimeConfig({ sendRatePerSecond: 1000, sendBurst: 1000 }) })
  let ana: Agent
  let ben: Agent
  let cy: Agent
  beforeAll(async () => {
    await ctx.app.listen({ port: 0, host: '127.0.0.1' })
    ana = await signUp(ctx.app)
    ben = await signUp(ctx.app)
    cy = await signUp(ctx.app)
  })

  async function row(agent: Agent, roomId: string): Promise<Room> {
    const response = await agent.request('GET', '/api/rooms')
    expect(response.statusCode, response.body).toBe(200)
    const found = (response.json() as { rooms: Room[] }).rooms.find((r) => r.id === roomId)
    if (!found) throw new Error('room not listed')
    return found
  }

  const read = async (agent: Agent, roomId: string, seq: number) => {
    const response = await agent.request('POST', `/api/rooms/${roomId}/read`, { seq })
    expect(response.statusCode, response.body).toBe(200)
  }

  it('names the newest unread message mentioning the caller, for them only, until they read past it', async () => {
    const { id: roomId } = await createRoom(ana)
    await join(ben, roomId) // seq 1: member.joined
    const plain = await sendMessage(ana, roomId, 'no one named')
    expect((await row(ben, roomId)).unreadMentionSeq).toBeNull()

    const first = await sendMessage(ana, roomId, `@${ben.user.username} are you in?`)
    const second = await sendMessage(ana, roomId, `and again @${ben.user.username}`)
    await sendMessage(ana, roomId, 'then chat')
    expect(await row(ben, roomId)).toMatchObject({ unreadMentionSeq: second.seq, unreadCount: 4 })
    // The author's own mention of themself, or of others, raises nothing for them.
    await sendMessage(ana, roomId, `note to self @${ana.user.username}`)
    expect((await row(ana, roomId)).unreadMentionSeq).toBeNull()

    await read(ben, roomId, first.seq)
    expect((await row(ben, roomId)).unreadMentionSeq).toBe(second.seq)
    await read(ben, roomId, second.seq)
    expect((await row(ben, roomId)).unreadMentionSeq).toBeNull()
    expect(plain.seq).toBeLessThan(first.seq)
  })

  it('a deleted message stops counting (its mentions are scrubbed with its text)', async () => {
    const { id: roomId } = await createRoom(ana)
    await join(ben, roomId)
    const mention = await sendMessage(ana, roomId, `@${ben.user.username} secret`)
    expect((await row(ben, roomId)).unreadMentionSeq).toBe(mention.seq)
    const response = await ana.request('POST', `/api/rooms/${roomId}/operations`, {
      type: 'delete',
      clientId: randomUUID(),
      targetSeq: mention.seq,
    })
    expect(response.statusCode, response.body).toBe(201)
    expect((await row(ben, roomId)).unreadMentionSeq).toBeNull()
  })

  it('naming someone not in the room is plain text: nothing for them, even once they join', async () => {
    const { id: roomId } = await createRoom(ana, 'public')
    await sendMessage(ana, roomId, `@${cy.user.username} come and see`)
    await join(cy, roomId)
    expect(await row(cy, roomId)).toMatchObject({ unreadMentionSeq: null })
  })

  it('room_added carries it (the row as the receiving member sees it)', async () => {
    const { id: roomId } = await createRoom(ana)
    await join(ben, roomId)
    const mention = await sendMessage(ana, roomId, `@${ben.user.username} look`)
    const socket = await connect(ctx.app, ben, { protocol: 2 })
    const from = socket.frames.length
    // A rename reaches every member's room list as room_added with the whole row.
    const renamed = await ana.request('PATCH', `/api/rooms/${roomId}`, { name: 'Renamed', topic: '' })
    expect(renamed.statusCode, renamed.body).toBe(200)
    const added = await socket.waitFor('room_added', (f) => f.room.id === roomId, { from })
    expect(added.room).toMatchObject({ name: 'Renamed', unreadMentionSeq: mention.seq })
    await socket.close()
  })
})
