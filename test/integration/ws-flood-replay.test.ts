import { randomUUID } from 'node:crypto'
import { beforeAll, expect, it } from 'vitest'
import { CLOSE_CODES } from '../../shared/errors.ts'
import { LIMITS } from '../../shared/limits.ts'
import { type Agent, signUp, useTestApp } from '../support/app.ts'
import { describeEachEngine } from '../support/databases.ts'
import {
  connect,
  createRoom,
  isGapFree,
  joinRoom,
  realtimeConfig,
  storedEvents,
  type TestSocket,
} from '../support/ws.ts'

const MAX_BUFFERED_BYTES = 256 * 1024
const FAT_BODY = '🚢'.repeat(LIMITS.messageBodyMax)

type Paused = TestSocket & { ws: { _socket: { pause(): void; resume(): void } } }
const tcpOf = (socket: TestSocket) => (socket as Paused).ws._socket

describeEachEngine('ws replay against the send-buffer cap', (engine) => {
  const ctx = useTestApp(engine, {
    realtime: realtimeConfig({ maxBufferedBytes: MAX_BUFFERED_BYTES, sendRatePerSecond: 100_000, sendBurst: 100_000 }),
  })
  let alice: Agent
  let bob: Agent
  beforeAll(async () => {
    await ctx.app.listen({ port: 0, host: '127.0.0.1' })
    alice = await signUp(ctx.app)
    bob = await signUp(ctx.app)
  })

  it('a socket that cannot take its replay closes with 4008; resuming from what it got completes every room', async () => {
    const live = await createRoom(alice)
    const backlog = await createRoom(alice)
    // Straight through the appender: acks of fat messages would make a writing socket a slow consumer too.
    const write = async (roomId: string, count: number) => {
      for (let done = 0; done < count; done += 50) {
        await Promise.all(
          Array.from({ length: Math.min(50, count - done) }, () =>
            ctx.app.appender.append({
              roomId,
              authorId: alice.user.id,
              authorName: alice.user.username,
              clientId: randomUUID(),
              body: FAT_BODY,
            }),
          ),
        )
      }
    }
    await write(backlog, LIMITS.resumeMaxEvents)

    // The watcher sees Bob leave a quiet room; it gets none of the fat traffic, so it is never cut off itself.
    const quiet = await createRoom(alice)
    await joinRoom(bob, quiet) // presence counts members only
    const watcher = await connect(ctx.app, alice)
    await watcher.subscribe(quiet)
    const slow = await connect(ctx.app, bob)
    await slow.subscribe(quiet)
    await slow.subscribe(live)
    await watcher.waitFor('presence_join', (f) => f.roomId === quiet && f.user.userId === bob.user.id)
    tcpOf(slow).pause()
    // Its replay of the backlog (about 8 MB) stalls in the buffer; live traffic then finds the buffer full.
    slow.send({ type: 'subscribe', rooms: [{ roomId: backlog, after: 0 }] })
    let written = 0
    while (!watcher.frames.some((f) => f.type === 'presence_leave' && f.userId === bob.user.id)) {
      // The kernel holds megabytes for a paused reader before the server's own buffer fills (as in ws-liveness).
      if (written >= 6000) throw new Error('the socket that cannot take its replay was never cut off')
      await write(live, 50)
      written += 50
      // A round trip on the watcher's socket before looking (a frame can otherwise sit unread here).
      const clientId = randomUUID()
      watcher.send({ type: 'send', roomId: quiet, clientId, body: `round ${written}` })
      await watcher.waitFor('ack', (ack) => ack.clientId === clientId)
    }
    expect(watcher.isOpen).toBe(true)
    tcpOf(slow).resume()
    expect((await slow.closed).code).toBe(CLOSE_CODES.slowConsumer)

    const gotBacklog = slow.seqs(backlog)
    const gotLive = slow.seqs(live)
    expect(isGapFree(gotBacklog, 1, gotBacklog.length)).toBe(true)
    expect(gotBacklog.length).toBeLessThan(LIMITS.resumeMaxEvents)
    expect(isGapFree(gotLive, 1, gotLive.length)).toBe(true)

    const resumed = await connect(ctx.app, bob)
    resumed.send({
      type: 'subscribe',
      rooms: [
        { roomId: backlog, after: gotBacklog.length },
        { roomId: live, after: gotLive.length },
      ],
    })
    await resumed.waitFor('caught_up', (f) => f.roomId === backlog)
    await resumed.waitFor('caught_up', (f) => f.roomId === live)
    expect(isGapFree([...gotBacklog, ...resumed.seqs(backlog)], 1, LIMITS.resumeMaxEvents)).toBe(true)
    expect(isGapFree([...gotLive, ...resumed.seqs(live)], 1, written)).toBe(true)
    expect((await storedEvents(alice, live)).length).toBe(written)
    await Promise.all([resumed.close(), watcher.close()])
  })
})
