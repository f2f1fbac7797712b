import { randomUUID } from 'node:crypto'
import { Compile } from 'typebox/compile'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { LIMITS } from '../../shared/limits.ts'
import { PushPayload } from '../../shared/push/contract.ts'
import type { RoomEvent } from '../../shared/schemas.ts'
import { createRoom, join, sendMessage } from '../support/api.ts'
import { type Agent, signUp, testConfig, useTestApp } from '../support/app.ts'
import { describeEachEngine } from '../support/databases.ts'
import { type Device, decrypt, newDevice, PushReceiver } from '../support/push-receiver.ts'
import { connect, realtimeConfig, type TestSocket, until } from '../support/ws.ts'

const payloadSchema = Compile(PushPayload)

/**
 * Issue 10, the sender (docs/PUSH.md): a committed message is pushed, encrypted aes128gcm with
 * VAPID, to each away member's devices, once; never to its author, to someone looking at the room
 * (`focus`), or against the member's notify level. 404/410 deletes the subscription, 429/500 are
 * retried, a hanging push service delays neither acks nor fan-out. The push service is a local
 * receiver that decrypts with the device's keys (PUSH_ALLOW_PRIVATE_ENDPOINTS on, for it).
 */
describeEachEngine('push delivery', (engine) => {
  const receiver = new PushReceiver()
  const ctx = useTestApp(engine, {
    realtime: realtimeConfig({ sendRatePerSecond: 1000, sendBurst: 1000 }),
    push: {
      ...testConfig().push,
      allowPrivateEndpoints: true,
      // Room for the six hanging requests of the last test at once; the default 10 s timeout, so that a slow
      // answer on a loaded machine is never retried (which would break "exactly once").
      concurrency: 8,
      retryBaseMs: 20,
      retryMaxMs: 200,
    },
  })
  let ana: Agent
  let ben: Agent
  let publicKey: string
  beforeAll(async () => {
    await receiver.start()
    await ctx.app.listen({ port: 0, host: '127.0.0.1' })
    ana = await signUp(ctx.app)
    ben = await signUp(ctx.app)
    publicKey = (await ana.request('GET', '/api/push/key')).json().publicKey
  })
  afterAll(() => receiver.close())

  /** Registers a new device of `agent` on the receiver; returns its endpoint and keys. */
  async function subscribe(agent: Agent): Promise<{ endpoint: string; device: Device; id: string }> {
    const device = newDevice()
    const endpoint = receiver.endpoint(randomUUID())
    const response = await agent.request('POST', '/api/push/subscriptions', {
      endpoint,
      keys: { p256dh: device.p256dh, auth: device.auth },
    })
    expect(response.statusCode, response.body).toBe(201)
    return { endpoint, device, id: response.json().subscription.id }
  }

  const settled = () => ctx.app.pushSender.idle()
  const payloadOf = (body: Buffer, device: Device): PushPayload => {
    const payload = JSON.parse(decrypt(body, device))
    expect(payloadSchema.Check(payload), JSON.stringify([...payloadSchema.Errors(payload)])).toBe(true)
    return payload
  }
  async function setLevel(agent: Agent, roomId: string, level: 'all' | 'mentions' | 'none') {
    const response = await agent.request('PUT', `/api/rooms/${roomId}/notifications`, { level })
    expect(response.statusCode, response.body).toBe(200)
  }
  async function storedEvent(agent: Agent, roomId: string, seq: number): Promise<RoomEvent> {
    const page = (await agent.request('GET', `/api/rooms/${roomId}/events?after=${seq - 1}&limit=1`)).json()
    return page.events[0]
  }

  it('pushes a message to the away member exactly once, decryptable, with the right content; never to its author', async () => {
    const room = await createRoom(ana, 'public', 'Harbour')
    await join(ben, room.id)
    const bens = await subscribe(ben)
    const anas = await subscribe(ana)
    const first = await sendMessage(ana, room.id, 'the ferry leaves at nine')
    await settled()

    expect(receiver.to(anas.endpoint)).toHaveLength(0)
    const received = receiver.to(bens.endpoint)
    expect(received).toHaveLength(1)
    const push = received[0]!
    expect(push.headers).toMatchObject({
      'content-encoding': 'aes128gcm',
      ttl: String(24 * 3600),
      topic: room.id.replaceAll('-', ''),
      urgency: 'normal',
    })
    expect(push.headers.authorization).toMatch(new RegExp(`^vapid t=[\\w-]+\\.[\\w-]+\\.[\\w-]+, k=${publicKey}$`))
    const payload = payloadOf(push.body, bens.device)
    expect(payload).toEqual({
      v: 1,
      roomId: room.id,
      roomName: 'Harbour',
      seq: first.seq,
      authorName: ana.user.username,
      preview: 'the ferry leaves at nine',
      mention: false,
      unread: 1,
      sentAt: first.createdAt,
      event: await storedEvent(ana, room.id, first.seq),
    })

    // A long message: the preview is its first 140 characters, the entry stays out (over 3 KB), unread counts on.
    const long = `${'ü'.repeat(LIMITS.pushPreviewMax)}${'x'.repeat(3000)}`
    const second = await sendMessage(ana, room.id, long)
    await settled()
    expect(receiver.to(bens.endpoint)).toHaveLength(2)
    const big = payloadOf(receiver.to(bens.endpoint)[1]!.body, bens.device)
    expect(big).toMatchObject({ seq: second.seq, preview: 'ü'.repeat(LIMITS.pushPreviewMax), unread: 2 })
    expect(big.event).toBeUndefined()
    expect(receiver.to(anas.endpoint)).toHaveLength(0)
  })

  it('a burst over two rooms: each message pushed at most once, the last of each room always, unread as of that message', async () => {
    const harbour = await createRoom(ana)
    const pier = await createRoom(ana)
    const eve = await signUp(ctx.app)
    await join(eve, harbour.id)
    await join(eve, pier.id)
    const eves = await subscribe(eve)
    const coalescedBefore = ctx.app.pushSender.stats.coalesced
    const sent = await Promise.all(
      Array.from({ length: 12 }, (_, i) => sendMessage(ana, i % 2 === 0 ? harbour.id : pier.id, `burst ${i}`)),
    )
    await settled()
    const payloads = receiver.to(eves.endpoint).map((r) => payloadOf(r.body, eves.device))
    // Waiting pushes for the same device and room are replaced by newer ones (the push service keeps one per topic).
    expect(payloads.length + ctx.app.pushSender.stats.coalesced - coalescedBefore).toBe(12)
    for (const room of [harbour, pier]) {
      const mine = payloads.filter((p) => p.roomId === room.id).sort((a, b) => a.seq - b.seq)
      expect(new Set(mine.map((p) => p.seq)).size).toBe(mine.length)
      const last = Math.max(...sent.filter((m) => m.roomId === room.id).map((m) => m.seq))
      expect(mine.at(-1)?.seq).toBe(last)
      // The room's log: seq 1 is eve's join, then six messages by ana; unread counts messages by others up to that one.
      for (const p of mine) expect(p.unread).toBe(p.seq - 1)
      expect(mine.map((p) => p.event?.seq)).toEqual(mine.map((p) => p.seq))
    }
  })

  it('a mention is flagged and urgent; mute levels: `none` never, `mentions` only when mentioned', async () => {
    const room = await createRoom(ana)
    await join(ben, room.id)
    const bens = await subscribe(ben)
    await setLevel(ben, room.id, 'none')
    await sendMessage(ana, room.id, 'plain')
    await sendMessage(ana, room.id, `@${ben.user.username} even this`)
    await settled()
    expect(receiver.to(bens.endpoint)).toHaveLength(0)

    await setLevel(ben, room.id, 'mentions')
    await sendMessage(ana, room.id, 'plain again')
    const mention = await sendMessage(ana, room.id, `look @${ben.user.username}`)
    await settled()
    const received = receiver.to(bens.endpoint)
    expect(received).toHaveLength(1)
    expect(received[0]!.headers.urgency).toBe('high')
    expect(payloadOf(received[0]!.body, bens.device)).toMatchObject({ seq: mention.seq, mention: true, unread: 4 })

    await setLevel(ben, room.id, 'all')
    await sendMessage(ana, room.id, 'all again')
    await settled()
    expect(receiver.to(bens.endpoint)).toHaveLength(2)
  })

  it('no push while one of the member’s sockets is focused on the room; again once it is not', async () => {
    const room = await createRoom(ana)
    const other = await createRoom(ana)
    await join(ben, room.id)
    await join(ben, other.id)
    const bens = await subscribe(ben)
    const socket = await connect(ctx.app, ben)
    const focused = () => ctx.app.focus.isFocused(room.id, ben.user.id)
    try {
      socket.send({ type: 'focus', roomId: room.id })
      await until(focused, 'the focus')
      await sendMessage(ana, room.id, 'you are looking')
      await sendMessage(ana, other.id, 'but not here')
      await settled()
      const received = receiver.to(bens.endpoint).map((r) => payloadOf(r.body, bens.device).roomId)
      expect(received).toEqual([other.id])

      socket.send({ type: 'focus', roomId: null })
      await until(() => !focused(), 'the focus to end')
      await sendMessage(ana, room.id, 'now you are away')
      await settled()
      expect(receiver.to(bens.endpoint)).toHaveLength(2)

      // Closing the socket ends its focus.
      socket.send({ type: 'focus', roomId: room.id })
      await until(focused, 'the focus')
    } finally {
      await socket.close()
    }
    await until(() => !focused(), 'the focus to end with the socket')
    await sendMessage(ana, room.id, 'gone')
    await settled()
    expect(receiver.to(bens.endpoint)).toHaveLength(3)
  })

  it('a bad focus frame is answered with a typed error and focuses nothing', async () => {
    const socket = await connect(ctx.app, ben)
    try {
      for (const frame of [
        { type: 'focus', roomId: 'not-a-uuid' },
        { type: 'focus' },
        { type: 'focus', roomId: randomUUID(), extra: 1 },
        { type: 'focus', roomId: 5 },
      ]) {
        const from = socket.frames.length
        socket.send(frame)
        expect(await socket.waitFor('error', () => true, { from })).toMatchObject({ code: 'validation_failed' })
      }
    } finally {
      await socket.close()
    }
  })

  it('410 from the push service deletes the subscription; 500 and 429 are retried until delivered', async () => {
    const dee = await signUp(ctx.app)
    const room = await createRoom(ana)
    await join(dee, room.id)
    const gone = await subscribe(dee)
    const flaky = await subscribe(dee)
    receiver.answer(gone.endpoint, { status: 410 })
    receiver.answer(flaky.endpoint, { status: 500 }, { status: 429, headers: { 'retry-after': '0' } }, { status: 201 })
    const before = ctx.app.pushSender.stats
    const message = await sendMessage(ana, room.id, 'are you there')
    await settled()

    expect(receiver.to(gone.endpoint)).toHaveLength(1)
    const left = await ctx.app.db
      .selectFrom('push_subscriptions')
      .select('id')
      .where('id', 'in', [gone.id, flaky.id])
      .execute()
    expect(left.map((r) => r.id)).toEqual([flaky.id])
    const tries = receiver.to(flaky.endpoint)
    expect(tries).toHaveLength(3)
    // Every try carries the same message (encrypted afresh or not, it decrypts to the same payload).
    for (const t of tries) expect(payloadOf(t.body, flaky.device).seq).toBe(message.seq)
    const after = ctx.app.pushSender.stats
    expect(after.gone - before.gone).toBe(1)
    expect(after.retried - before.retried).toBe(2)
    expect(after.sent - before.sent).toBe(1)

    await sendMessage(ana, room.id, 'again')
    await settled()
    expect(receiver.to(gone.endpoint)).toHaveLength(1)
    expect(receiver.to(flaky.endpoint)).toHaveLength(4)
  })

  it('logging out removes the device: no more pushes to it', async () => {
    const cy = await signUp(ctx.app)
    const room = await createRoom(ana)
    await join(cy, room.id)
    const cys = await subscribe(cy)
    await sendMessage(ana, room.id, 'one')
    await settled()
    expect(receiver.to(cys.endpoint)).toHaveLength(1)
    expect((await cy.request('POST', '/api/auth/logout')).statusCode).toBe(204)
    await sendMessage(ana, room.id, 'two')
    await settled()
    expect(receiver.to(cys.endpoint)).toHaveLength(1)
  })

  it('a hanging push service delays neither acks nor fan-out (ack latency printed, not asserted)', async () => {
    const room = await createRoom(ana)
    const listener = await signUp(ctx.app)
    await join(listener, room.id)
    const away: string[] = []
    for (let i = 0; i < 6; i++) {
      const member = await signUp(ctx.app)
      await join(member, room.id)
      const { endpoint } = await subscribe(member)
      receiver.answer(endpoint, 'hang')
      away.push(endpoint)
    }
    const sender = await connect(ctx.app, ana)
    const watcher = await connect(ctx.app, listener)
    await watcher.subscribe(room.id)
    try {
      const measure = async (label: string, count: number) => {
        const latencies: number[] = []
        for (let i = 0; i < count; i++) {
          const clientId = randomUUID()
          const from = sender.frames.length
          const watched = watcher.frames.length
          const startedAt = performance.now()
          sender.send({ type: 'send', roomId: room.id, clientId, body: `${label} ${i}` })
          const ack = await sender.waitFor('ack', (a) => a.clientId === clientId, { from })
          latencies.push(performance.now() - startedAt)
          await watcher.waitFor('events', (f) => f.events.some((e) => e.seq === ack.seq), { from: watched })
        }
        latencies.sort((a, b) => a - b)
        const p = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!.toFixed(1)
        console.log(
          `[push ${engine}] ack latency ${label}: p50 ${p(0.5)} ms, p95 ${p(0.95)} ms, max ${p(1)} ms (${count} sends)`,
        )
        return latencies
      }
      // First with every member muted (no push due), then with the six away members due one each per message.
      const muted = await ctx.app.db
        .updateTable('room_members')
        .set({ notify_level: 'none' })
        .where('room_id', '=', room.id)
        .executeTakeFirst()
      expect(Number(muted.numUpdatedRows)).toBeGreaterThan(0)
      await measure('without pushes', 20)
      await ctx.app.db.updateTable('room_members').set({ notify_level: 'all' }).where('room_id', '=', room.id).execute()
      const acks = await measure('with a hanging push service', 20)
      expect(acks).toHaveLength(20)
      // The pushes are under way (hanging) or queued, not lost: the receiver got the first ones.
      await until(() => away.every((endpoint) => receiver.to(endpoint).length > 0), 'the hanging requests')
    } finally {
      await sender.close()
      await watcher.close()
    }
  })
})
