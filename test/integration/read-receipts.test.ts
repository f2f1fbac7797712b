import type { FastifyBaseLogger } from 'fastify'
import { beforeAll, expect, it } from 'vitest'
import { ReadMarkers } from '../../server/rooms/read-markers.ts'
import { type Agent, signUp, useTestApp } from '../support/app.ts'
import { describeEachEngine } from '../support/databases.ts'
import { appendMessages, connect, createRoom, joinRoom, realtimeConfig, type TestSocket, until } from '../support/ws.ts'

const quiet = () => {}
const quietLog = { error: quiet, warn: quiet, info: quiet, debug: quiet } as unknown as FastifyBaseLogger

/**
 * Read receipts (docs/PROTOCOL.md, "Read receipts"): `read` frames only raise
 * an in-memory marker; one flush writes them all in one statement and
 * broadcasts what moved: `receipts` to the room, `read_marker` to the
 * reader's sockets. The timer is set far out so each test flushes by hand:
 * what a flush carries is then exact, not a matter of timing.
 */
describeEachEngine('read receipts', (engine) => {
  const ctx = useTestApp(engine, { realtime: realtimeConfig({ readMarkerFlushMs: 3_600_000 }) })
  let ana: Agent
  let ben: Agent
  let cy: Agent
  beforeAll(async () => {
    await ctx.app.listen({ port: 0, host: '127.0.0.1' })
    ana = await signUp(ctx.app)
    ben = await signUp(ctx.app)
    cy = await signUp(ctx.app)
  })

  const lastReadSeq = async (roomId: string, userId: string) =>
    Number(
      (
        await ctx.app.db
          .selectFrom('room_members')
          .select('last_read_seq')
          .where('room_id', '=', roomId)
          .where('user_id', '=', userId)
          .executeTakeFirstOrThrow()
      ).last_read_seq,
    )

  /** A room of Ana's with Ben in it (his member.joined is seq 1) and `messages` messages from Ben (seqs 2…). */
  async function roomWithMessages(messages: number): Promise<string> {
    const roomId = await createRoom(ana)
    await joinRoom(ben, roomId)
    await appendMessages(ctx.app, ben, roomId, messages)
    return roomId
  }

  /** A ping answered means every frame sent before it has been handled. */
  async function settled(socket: TestSocket, id: number): Promise<void> {
    const from = socket.frames.length
    socket.send({ type: 'ping', id })
    await socket.waitFor('pong', (f) => f.id === id, { from })
  }

  it('coalesces many reads into one write and one receipts frame, forward only, capped at the last seq', async () => {
    const roomId = await roomWithMessages(8)
    const benSocket = await connect(ctx.app, ben, { protocol: 2 })
    await benSocket.subscribe(roomId)
    const anaPhone = await connect(ctx.app, ana, { protocol: 2 })
    // Subscribed: its reads are raised as they arrive (an unsubscribed socket's wait for a membership read first).
    await anaPhone.subscribe(roomId)
    const anaLaptop = await connect(ctx.app, ana, { protocol: 2 })
    await anaLaptop.subscribe(roomId)

    const from = benSocket.frames.length
    const laptopFrom = anaLaptop.frames.length
    for (const seq of [1, 2, 3, 6, 5, 4, 999]) anaPhone.send({ type: 'read', roomId, seq })
    await settled(anaPhone, 1)
    expect(await lastReadSeq(roomId, ana.user.id), 'nothing is written before the flush').toBe(0)

    await ctx.app.readMarkers.flush()
    const receipts = await benSocket.waitFor('receipts', (f) => f.roomId === roomId, { from })
    expect(receipts.readers).toEqual([{ userId: ana.user.id, lastReadSeq: 9 }])
    const marker = await anaLaptop.waitFor('read_marker', (f) => f.roomId === roomId, { from: laptopFrom })
    expect(marker).toEqual({ type: 'read_marker', roomId, lastReadSeq: 9, unreadCount: 0 })
    expect(await lastReadSeq(roomId, ana.user.id)).toBe(9)

    // A lower marker later changes nothing and is not broadcast.
    anaPhone.send({ type: 'read', roomId, seq: 3 })
    await settled(anaPhone, 2)
    await ctx.app.readMarkers.flush()
    await settled(benSocket, 3)
    expect(benSocket.frames.slice(from).filter((f) => f.type === 'receipts')).toHaveLength(1)
    expect(await lastReadSeq(roomId, ana.user.id)).toBe(9)
    await Promise.all([benSocket.close(), anaPhone.close(), anaLaptop.close()])
  })

  it("a read on one device tells the reader's other devices the unread count", async () => {
    const roomId = await roomWithMessages(5)
    const phone = await connect(ctx.app, ana, { protocol: 2 })
    const laptop = await connect(ctx.app, ana, { protocol: 2 })
    await phone.subscribe(roomId)
    const from = laptop.frames.length
    phone.send({ type: 'read', roomId, seq: 3 })
    await settled(phone, 1)
    await ctx.app.readMarkers.flush()
    const marker = await laptop.waitFor('read_marker', (f) => f.roomId === roomId, { from })
    expect(marker).toMatchObject({ lastReadSeq: 3, unreadCount: 3 })
    await Promise.all([phone.close(), laptop.close()])
  })

  it('POST /read writes at once and is broadcast like a coalesced one', async () => {
    const roomId = await roomWithMessages(4)
    const benSocket = await connect(ctx.app, ben, { protocol: 2 })
    await benSocket.subscribe(roomId)
    const laptop = await connect(ctx.app, ana, { protocol: 2 })
    const from = benSocket.frames.length
    const response = await ana.request('POST', `/api/rooms/${roomId}/read`, { seq: 4 })
    expect(response.json()).toEqual({ lastReadSeq: 4, unreadCount: 1 })
    const receipts = await benSocket.waitFor('receipts', (f) => f.roomId === roomId, { from })
    expect(receipts.readers).toEqual([{ userId: ana.user.id, lastReadSeq: 4 }])
    await laptop.waitFor('read_marker', (f) => f.roomId === roomId && f.lastReadSeq === 4 && f.unreadCount === 1)
    await Promise.all([benSocket.close(), laptop.close()])
  })

  it("a subscriber gets the room's markers after presence, the most advanced first", async () => {
    const roomId = await roomWithMessages(6)
    await ana.request('POST', `/api/rooms/${roomId}/read`, { seq: 4 })
    await ben.request('POST', `/api/rooms/${roomId}/read`, { seq: 6 })
    const socket = await connect(ctx.app, ana, { protocol: 2 })
    const { from } = await socket.subscribe(roomId)
    const presenceAt = socket.frames.findIndex((f, i) => i >= from && f.type === 'presence')
    const snapshot = await socket.waitFor('receipts', (f) => f.roomId === roomId, { from })
    expect(socket.frames.indexOf(snapshot)).toBeGreaterThan(presenceAt)
    expect(snapshot.readers).toEqual([
      { userId: ben.user.id, lastReadSeq: 6 },
      { userId: ana.user.id, lastReadSeq: 4 },
    ])
    await socket.close()
  })

  it('a client that did not ask for protocol 2 never gets receipts or read_marker', async () => {
    const roomId = await roomWithMessages(3)
    await ben.request('POST', `/api/rooms/${roomId}/read`, { seq: 2 })
    const old = await connect(ctx.app, ana)
    await old.subscribe(roomId)
    const anaNew = await connect(ctx.app, ana, { protocol: 2 })
    await anaNew.subscribe(roomId)
    anaNew.send({ type: 'read', roomId, seq: 3 })
    await settled(anaNew, 1)
    await ctx.app.readMarkers.flush()
    await anaNew.waitFor('read_marker', (f) => f.roomId === roomId && f.lastReadSeq === 3)
    await settled(old, 2)
    expect(old.frames.filter((f) => f.type === 'receipts' || f.type === 'read_marker')).toEqual([])
    await Promise.all([old.close(), anaNew.close()])
  })

  it('refuses reads of rooms one is not a member of, with a typed error, writing nothing', async () => {
    const publicRoom = await createRoom(ana, 'public')
    const privateRoom = await createRoom(ana, 'private')
    await appendMessages(ctx.app, ana, publicRoom, 2)
    const socket = await connect(ctx.app, cy, { protocol: 2 })
    socket.send({ type: 'read', roomId: publicRoom, seq: 2 })
    socket.send({ type: 'read', roomId: privateRoom, seq: 1 })
    socket.send({ type: 'read', roomId: '00000000-0000-4000-8000-000000000000', seq: 1 })
    const notMember = await socket.waitFor('error', (f) => f.roomId === publicRoom)
    expect(notMember.code).toBe('not_member')
    expect((await socket.waitFor('error', (f) => f.roomId === privateRoom)).code).toBe('not_found')
    expect((await socket.waitFor('error', (f) => f.roomId === '00000000-0000-4000-8000-000000000000')).code).toBe(
      'not_found',
    )
    await ctx.app.readMarkers.flush()
    const rows = await ctx.app.db
      .selectFrom('room_members')
      .select('user_id')
      .where('user_id', '=', cy.user.id)
      .execute()
    expect(rows).toEqual([])
    await socket.close()
  })

  it('refuses malformed read frames with validation_failed', async () => {
    const roomId = await roomWithMessages(1)
    const socket = await connect(ctx.app, ana, { protocol: 2 })
    for (const bad of [
      { type: 'read', roomId, seq: -1 },
      { type: 'read', roomId, seq: 1.5 },
      { type: 'read', roomId, seq: '1' },
      { type: 'read', roomId },
      { type: 'read', roomId: 'not-a-uuid', seq: 1 },
      { type: 'read', roomId, seq: 1, extra: true },
      { type: 'read', roomId: `${roomId}\u0000`, seq: 1 },
      { type: 'read', roomId, seq: 1, '\u0000': 1 },
      { type: 'read', roomId, seq: Number.MAX_SAFE_INTEGER + 2 },
    ]) {
      const from = socket.frames.length
      socket.send(bad)
      const error = await socket.waitFor('error', () => true, { from })
      expect(error.code, JSON.stringify(bad)).toBe('validation_failed')
    }
    await ctx.app.readMarkers.flush()
    expect(await lastReadSeq(roomId, ana.user.id)).toBe(0)
    await socket.close()
  })

  it('a member removed before the flush has nothing written', async () => {
    const roomId = await roomWithMessages(3)
    const socket = await connect(ctx.app, ben, { protocol: 2 })
    await socket.subscribe(roomId)
    socket.send({ type: 'read', roomId, seq: 3 })
    await settled(socket, 1)
    await ben.request('POST', `/api/rooms/${roomId}/leave`)
    await ctx.app.readMarkers.flush()
    const row = await ctx.app.db
      .selectFrom('room_members')
      .select('user_id')
      .where('room_id', '=', roomId)
      .where('user_id', '=', ben.user.id)
      .executeTakeFirst()
    expect(row).toBeUndefined()
    await socket.close()
  })

  it('flushes at once when readMarkersPendingMax markers are raised (bounded memory)', async () => {
    const rooms = [await roomWithMessages(2), await roomWithMessages(2)]
    const markers = new ReadMarkers(ctx.app.db, ctx.app.bus, ctx.app.log, { flushMs: 3_600_000, pendingMax: 2 })
    try {
      markers.raise(rooms[0]!, ana.user.id, 2)
      expect(await lastReadSeq(rooms[0]!, ana.user.id)).toBe(0)
      markers.raise(rooms[1]!, ana.user.id, 1)
      await until(async () => (await lastReadSeq(rooms[1]!, ana.user.id)) === 1, 'the forced flush')
      expect(await lastReadSeq(rooms[0]!, ana.user.id)).toBe(2)
    } finally {
      await markers.close()
    }
  })

  it('keeps the markers of a flush the database refused, for the next one', async () => {
    const roomId = await roomWithMessages(3)
    const markers = new ReadMarkers(ctx.app.db, ctx.app.bus, quietLog, { flushMs: 3_600_000 })
    try {
      markers.raise(roomId, ana.user.id, 2)
      await ctx.app.db.schema.alterTable('room_members').renameColumn('last_read_seq', 'moved_away').execute()
      try {
        await markers.flush()
      } finally {
        await ctx.app.db.schema.alterTable('room_members').renameColumn('moved_away', 'last_read_seq').execute()
      }
      expect(await lastReadSeq(roomId, ana.user.id)).toBe(0)
      await markers.flush()
      expect(await lastReadSeq(roomId, ana.user.id)).toBe(2)
    } finally {
      await markers.close()
    }
  })
})
