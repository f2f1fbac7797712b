import { randomUUID } from 'node:crypto'
import { beforeAll, expect, it } from 'vitest'
import { CLOSE_CODES } from '../../shared/errors.ts'
import { LIMITS } from '../../shared/limits.ts'
import { type Agent, signUp, useTestApp } from '../support/app.ts'
import { describeEachEngine } from '../support/databases.ts'
import { connect, createRoom, isGapFree, joinRoom, realtimeConfig, storedEvents, until } from '../support/ws.ts'

const TYPING_TTL_MS = 400

describeEachEngine('ws liveness, backpressure, presence and typing', (engine) => {
  const ctx = useTestApp(engine, {
    realtime: realtimeConfig({
      maxBufferedBytes: 64 * 1024,
      typingTtlMs: TYPING_TTL_MS,
      sendRatePerSecond: 100_000,
      sendBurst: 100_000,
    }),
  })
  let alice: Agent
  let bob: Agent
  beforeAll(async () => {
    await ctx.app.listen({ port: 0, host: '127.0.0.1' })
    alice = await signUp(ctx.app)
    bob = await signUp(ctx.app)
  })

  it('a slow consumer is closed with 4008 and resumes from its last seq without loss', async () => {
    const roomId = await createRoom(alice)
    await joinRoom(bob, roomId)
    const slow = await connect(ctx.app, bob)
    await slow.subscribe(roomId)
    const watcher = await connect(ctx.app, alice)
    await watcher.subscribe(roomId)
    await watcher.waitFor('presence', (f) => f.roomId === roomId && f.users.length === 2)

    // Bob's socket stops reading; Alice writes big messages until the server cuts Bob off (his presence ends).
    ;(slow.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause()
    const body = '🚢'.repeat(LIMITS.messageBodyMax)
    let written = 0
    const writeRound = async () => {
      for (let i = 0; i < 25; i++) watcher.send({ type: 'send', roomId, clientId: randomUUID(), body })
      written += 25
      await until(() => watcher.lastSeq(roomId) >= written, 'the writes to be delivered to the watcher')
    }
    while (!watcher.frames.some((f) => f.type === 'presence_leave' && f.userId === bob.user.id)) {
      if (written >= 3000) throw new Error('the slow consumer was never cut off')
      await writeRound()
    }
    await writeRound() // missed while disconnected
    ;(slow.ws as unknown as { _socket: { resume(): void } })._socket.resume()
    expect((await slow.closed).code).toBe(CLOSE_CODES.slowConsumer)

    const received = slow.seqs(roomId)
    expect(isGapFree(received, 1, received.length)).toBe(true)
    expect(received.length).toBeLessThan(written)
    const resumed = await connect(ctx.app, bob)
    await resumed.subscribe(roomId, received.length)
    const rest = resumed.seqs(roomId)
    // Seq 1 is bob's member.joined, then the messages.
    expect(isGapFree([...received, ...rest], 1, written + 1)).toBe(true)
    expect((await storedEvents(alice, roomId)).length).toBe(written + 1)
    await Promise.all([watcher.close(), resumed.close()])
  })

  it('presence: snapshot on subscribe, join and leave deltas, two tabs of one user counted once, members only', async () => {
    const roomId = await createRoom(alice)
    await joinRoom(bob, roomId)
    const bobSocket = await connect(ctx.app, bob)
    const first = await bobSocket.subscribe(roomId)
    const bobSnapshot = await bobSocket.waitFor('presence', (f) => f.roomId === roomId, { from: first.from })
    expect(bobSnapshot.users).toEqual([{ userId: bob.user.id, username: bob.user.username }])

    const tab1 = await connect(ctx.app, alice)
    const tab1Subscribed = await tab1.subscribe(roomId)
    const tab1Snapshot = await tab1.waitFor('presence', (f) => f.roomId === roomId, { from: tab1Subscribed.from })
    expect(tab1Snapshot.users.map((u) => u.userId).sort()).toEqual([alice.user.id, bob.user.id].sort())
    await bobSocket.waitFor('presence_join', (f) => f.user.userId === alice.user.id)

    const tab2 = await connect(ctx.app, alice)
    const tab2Subscribed = await tab2.subscribe(roomId)
    const tab2Snapshot = await tab2.waitFor('presence', (f) => f.roomId === roomId, { from: tab2Subscribed.from })
    expect(tab2Snapshot.users).toHaveLength(2)
    await tab1.close()
    // Carol follows the public room without joining: she sees who is here, and is not counted.
    const carol = await signUp(ctx.app)
    const carolSocket = await connect(ctx.app, carol)
    const carolSubscribed = await carolSocket.subscribe(roomId)
    const carolSnapshot = await carolSocket.waitFor('presence', () => true, { from: carolSubscribed.from })
    expect(carolSnapshot.users.map((u) => u.userId).sort()).toEqual([alice.user.id, bob.user.id].sort())
    const bobAgain = await connect(ctx.app, bob)
    const again = await bobAgain.subscribe(roomId)
    const afterCarol = await bobAgain.waitFor('presence', (f) => f.roomId === roomId, { from: again.from })
    expect(afterCarol.users.map((u) => u.userId).sort()).toEqual([alice.user.id, bob.user.id].sort())
    await bobAgain.close()
    // Once she joins, the socket she already has counts her.
    await joinRoom(carol, roomId)
    await bobSocket.waitFor('presence_join', (f) => f.user.userId === carol.user.id)

    await tab2.close()
    await bobSocket.waitFor('presence_leave', (f) => f.userId === alice.user.id)
    await carolSocket.close()
    await bobSocket.waitFor('presence_leave', (f) => f.userId === carol.user.id)
    const aboutAlice = bobSocket.frames.filter(
      (f) =>
        (f.type === 'presence_join' && f.user.userId === alice.user.id) ||
        (f.type === 'presence_leave' && f.userId === alice.user.id),
    )
    expect(aboutAlice.map((f) => f.type)).toEqual(['presence_join', 'presence_leave'])
    await bobSocket.close()
  })

  it('typing is relayed to the others in the room and expires without renewal', async () => {
    const roomId = await createRoom(alice)
    await joinRoom(bob, roomId)
    const aliceSocket = await connect(ctx.app, alice)
    const bobSocket = await connect(ctx.app, bob)
    await aliceSocket.subscribe(roomId)
    const { from } = await bobSocket.subscribe(roomId)

    aliceSocket.send({ type: 'typing', roomId })
    const started = await bobSocket.waitFor('typing', () => true, { from })
    expect(started).toEqual({
      type: 'typing',
      roomId,
      userId: alice.user.id,
      username: alice.user.username,
      expiresInMs: TYPING_TTL_MS,
    })
    const stopped = await bobSocket.waitFor('typing', (f) => f.expiresInMs === 0, { from })
    expect(stopped.userId).toBe(alice.user.id)
    expect(aliceSocket.frames.some((f) => f.type === 'typing')).toBe(false)
    // Nothing stored but Bob's join notice: typing never reaches the log.
    expect((await storedEvents(alice, roomId)).map((e) => e.kind)).toEqual(['member.joined'])
    await Promise.all([aliceSocket.close(), bobSocket.close()])
  })
})

describeEachEngine('ws ping', (engine) => {
  const ctx = useTestApp(engine, { realtime: realtimeConfig({ pingIntervalMs: 150 }) })
  let alice: Agent
  beforeAll(async () => {
    await ctx.app.listen({ port: 0, host: '127.0.0.1' })
    alice = await signUp(ctx.app)
  })

  it('a socket that stops answering pings is terminated; one that answers stays', async () => {
    const silent = await connect(ctx.app, alice, { autoPong: false })
    const answering = await connect(ctx.app, alice)
    let pings = 0
    silent.ws.on('ping', () => pings++)
    const closed = await silent.closed
    expect(closed.code).toBe(1006)
    expect(pings).toBeGreaterThanOrEqual(2)
    expect(answering.isOpen).toBe(true)
    const roomId = await createRoom(alice)
    await answering.subscribe(roomId)
    await answering.close()
  })
})
