import { randomUUID } from 'node:crypto'
import { beforeAll, describe, expect, it } from 'vitest'
import { LIMITS } from '../../shared/limits.ts'
import type { AckFrame, ErrorFrame } from '../../shared/protocol.ts'
import { type Agent, signUp, useTestApp } from '../support/app.ts'
import { describeEachEngine } from '../support/databases.ts'
import {
  appendMessages,
  connect,
  createRoom,
  isGapFree,
  joinRoom,
  postMessage,
  realtimeConfig,
  storedEvents,
  type TestSocket,
  until,
} from '../support/ws.ts'

// Senders here are not throttled: the rate limit has its own test (ws-handshake).
const unthrottled = realtimeConfig({ sendRatePerSecond: 100_000, sendBurst: 100_000 })

describeEachEngine('ws resume and ordering', (engine) => {
  const ctx = useTestApp(engine, { realtime: unthrottled })
  let owner: Agent
  beforeAll(async () => {
    await ctx.app.listen({ port: 0, host: '127.0.0.1' })
    owner = await signUp(ctx.app)
  })

  describe('resume', () => {
    let roomId: string
    let socket: TestSocket
    beforeAll(async () => {
      roomId = await createRoom(owner)
      await appendMessages(ctx.app, owner, roomId, 10)
      socket = await connect(ctx.app, owner)
    })

    it('after = latest: caught up at once, nothing replayed', async () => {
      const { caughtUp, from } = await socket.subscribe(roomId, 10)
      expect(caughtUp).toBe(10)
      expect(socket.seqs(roomId, from)).toEqual([])
    })

    it('after = latest − 2: the last two', async () => {
      const { caughtUp, from } = await socket.subscribe(roomId, 8)
      expect(socket.seqs(roomId, from)).toEqual([9, 10])
      expect(caughtUp).toBe(10)
    })

    it('after = 0: everything, in order, with the full event shape', async () => {
      const { caughtUp, from } = await socket.subscribe(roomId, 0)
      expect(socket.seqs(roomId, from)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
      expect(caughtUp).toBe(10)
      const [first] = socket.events(roomId, from)
      expect(first).toMatchObject({ roomId, seq: 1, kind: 'message.created', authorId: owner.user.id })
      expect(Object.keys(first!).sort()).toEqual(
        [
          'authorId',
          'authorName',
          'body',
          'clientId',
          'createdAt',
          'kind',
          'reaction',
          'roomId',
          'seq',
          'targetSeq',
        ].sort(),
      )
    })

    it('after beyond latest: a reset marker with the real lastSeq, then live', async () => {
      const { caughtUp, from } = await socket.subscribe(roomId, 15)
      const reset = await socket.waitFor('reset', (f) => f.roomId === roomId, { from })
      expect(reset.lastSeq).toBe(10)
      expect(caughtUp).toBe(10)
      expect(socket.seqs(roomId, from)).toEqual([])
      expect(await postMessage(owner, roomId)).toBe(11)
      await socket.waitFor('events', (f) => f.roomId === roomId && f.events[0]!.seq === 11, { from })
    })

    it('an empty room: caught up at 0', async () => {
      const empty = await createRoom(owner)
      const { caughtUp, from } = await socket.subscribe(empty, 0)
      expect(caughtUp).toBe(0)
      expect(socket.seqs(empty, from)).toEqual([])
      expect(socket.frames.slice(from).some((f) => f.type === 'reset')).toBe(false)
    })

    it('more than 500 missed: reset with lastSeq and live from there; exactly 500 still replays', async () => {
      const big = await createRoom(owner)
      const total = LIMITS.resumeMaxEvents + 20
      await appendMessages(ctx.app, owner, big, total)

      const resetAt = await socket.subscribe(big, 19)
      const reset = await socket.waitFor('reset', (f) => f.roomId === big, { from: resetAt.from })
      expect(reset.lastSeq).toBe(total)
      expect(resetAt.caughtUp).toBe(total)
      expect(socket.seqs(big, resetAt.from)).toEqual([])
      expect(await postMessage(owner, big)).toBe(total + 1)
      await until(() => socket.seqs(big, resetAt.from).length === 1, 'the live event after the reset')
      expect(socket.seqs(big, resetAt.from)).toEqual([total + 1])

      const replay = await socket.subscribe(big, 21)
      expect(isGapFree(socket.seqs(big, replay.from), 22, total + 1)).toBe(true)
      expect(socket.frames.slice(replay.from).some((f) => f.type === 'reset')).toBe(false)
      expect(replay.caughtUp).toBe(total + 1)
    })
  })

  it('the race: subscribing while 1,000 events are appended concurrently misses and repeats nothing', async () => {
    const roomId = await createRoom(owner)
    const total = 1000
    const writers = await Promise.all(Array.from({ length: 4 }, () => signUp(ctx.app)))
    await Promise.all(writers.map((writer) => joinRoom(writer, roomId)))
    // The joins are the log's first entries (member.joined), the messages follow them.
    const last = total + writers.length
    const writerSockets = await Promise.all(writers.map((writer) => connect(ctx.app, writer)))
    const sent: string[][] = writerSockets.map(() => [])
    const acks = () => writerSockets.reduce((n, s) => n + s.frames.filter((f) => f.type === 'ack').length, 0)

    // Pipelined writes in rounds, so the readers below subscribe while the log is growing.
    const writing = (async () => {
      for (let round = 0; round < total / writerSockets.length / 25; round++) {
        for (const [i, writerSocket] of writerSockets.entries()) {
          for (let k = 0; k < 25; k++) {
            const clientId = randomUUID()
            sent[i]!.push(clientId)
            writerSocket.send({ type: 'send', roomId, clientId, body: `w${i} r${round} k${k}` })
          }
        }
        await until(() => acks() >= (round + 1) * 100 - 60, 'the writers to make progress')
      }
    })()

    const readers: Array<{ socket: TestSocket; after: number }> = []
    for (const threshold of [0, 150, 400, 650, 900]) {
      await until(() => acks() >= threshold, `${threshold} acks`)
      const socket = await connect(ctx.app, owner)
      const after = Math.max(0, acks() - 300)
      socket.send({ type: 'subscribe', rooms: [{ roomId, after }] })
      readers.push({ socket, after })
    }
    await writing
    await until(() => acks() === total, 'every ack')
    for (const { socket, after } of readers) {
      await until(() => socket.lastSeq(roomId) === last, 'the last event at every reader')
      const reset = socket.frames.find((f) => f.type === 'reset')
      const first = (reset?.type === 'reset' ? reset.lastSeq : after) + 1
      expect(isGapFree(socket.seqs(roomId), first, last)).toBe(true)
    }
    const stored = await storedEvents(owner, roomId)
    expect(
      isGapFree(
        stored.map((e) => e.seq),
        1,
        last,
      ),
    ).toBe(true)
    for (const [i, writerSocket] of writerSockets.entries()) {
      const ackSeq = new Map(
        writerSocket.frames.filter((f): f is AckFrame => f.type === 'ack').map((a) => [a.clientId, a.seq]),
      )
      const seqsInSendOrder = sent[i]!.map((clientId) => ackSeq.get(clientId)!)
      expect(seqsInSendOrder).toEqual([...seqsInSendOrder].sort((a, b) => a - b))
    }
    await Promise.all([...writerSockets, ...readers.map((r) => r.socket)].map((s) => s.close()))
  })

  it('lost ack: a resend after reconnecting stores one row and is acked with the original seq', async () => {
    const roomId = await createRoom(owner)
    await postMessage(owner, roomId)
    const clientId = randomUUID()
    const first = await connect(ctx.app, owner)
    await new Promise<void>((resolve, reject) =>
      first.ws.send(JSON.stringify({ type: 'send', roomId, clientId, body: 'once only' }), (error) =>
        error ? reject(error) : resolve(),
      ),
    )
    first.ws.terminate()
    await until(async () => (await storedEvents(owner, roomId)).some((e) => e.clientId === clientId), 'the commit')

    const second = await connect(ctx.app, owner)
    second.send({ type: 'send', roomId, clientId, body: 'once only' })
    const ack = await second.waitFor('ack', (a) => a.clientId === clientId)
    expect(ack).toMatchObject({ roomId, seq: 2, duplicate: true, message: { seq: 2, clientId, body: 'once only' } })
    const stored = await storedEvents(owner, roomId)
    expect(stored.filter((e) => e.clientId === clientId)).toHaveLength(1)
    expect(stored).toHaveLength(2)
    await second.close()
  })

  it('20 clients × 50 messages: every client sees the same gap-free sequence; each sender keeps its order', async () => {
    const roomId = await createRoom(owner)
    const senders = await Promise.all(Array.from({ length: 20 }, () => signUp(ctx.app)))
    await Promise.all(senders.map((sender) => joinRoom(sender, roomId)))
    const sockets = await Promise.all(senders.map((sender) => connect(ctx.app, sender)))
    await Promise.all(sockets.map((socket) => socket.subscribe(roomId)))

    const sent = sockets.map((socket, i) =>
      Array.from({ length: 50 }, (_, k) => {
        const clientId = randomUUID()
        socket.send({ type: 'send', roomId, clientId, body: `sender ${i} message ${k}` })
        return clientId
      }),
    )
    // 20 member.joined entries, then the messages.
    const total = 20 + 20 * 50
    for (const socket of sockets) {
      await until(() => socket.lastSeq(roomId) === total, 'every event at every client')
      await until(() => socket.frames.filter((f) => f.type === 'ack').length === 50, 'every ack')
    }

    const reference = sockets[0]!.events(roomId)
    expect(
      isGapFree(
        reference.map((e) => e.seq),
        1,
        total,
      ),
    ).toBe(true)
    for (const socket of sockets) {
      expect(socket.events(roomId).map((e) => `${e.seq}:${e.clientId}`)).toEqual(
        reference.map((e) => `${e.seq}:${e.clientId}`),
      )
    }
    const seqOf = new Map(reference.map((e) => [e.clientId, e.seq]))
    for (const [i, clientIds] of sent.entries()) {
      const seqs = clientIds.map((clientId) => seqOf.get(clientId)!)
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b))
      const acks = sockets[i]!.frames.filter((f): f is AckFrame => f.type === 'ack')
      expect(acks).toHaveLength(50)
      expect(acks.every((a) => !a.duplicate && a.seq === seqOf.get(a.clientId))).toBe(true)
      expect(sockets[i]!.frames.filter((f): f is ErrorFrame => f.type === 'error')).toEqual([])
    }
    await Promise.all(sockets.map((socket) => socket.close()))
  })
})
