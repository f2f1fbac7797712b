import { randomUUID } from 'node:crypto'
import { beforeAll, describe, expect, it } from 'vitest'
import { createSession, SESSION_COOKIE } from '../../server/auth/sessions.ts'
import { CLOSE_CODES } from '../../shared/errors.ts'
import { LIMITS } from '../../shared/limits.ts'
import type { AckFrame, ErrorFrame } from '../../shared/protocol.ts'
import { type Agent, signUp, TEST_ORIGIN, useTestApp } from '../support/app.ts'
import { describeEachEngine } from '../support/databases.ts'
import {
  connect,
  createRoom,
  postMessage,
  refusedUpgrade,
  storedEvents,
  type TestSocket,
  until,
} from '../support/ws.ts'

describeEachEngine('ws guards', (engine) => {
  const ctx = useTestApp(engine)
  let owner: Agent
  let stranger: Agent
  let publicRoom: string
  let privateRoom: string
  beforeAll(async () => {
    await ctx.app.listen({ port: 0, host: '127.0.0.1' })
    owner = await signUp(ctx.app)
    stranger = await signUp(ctx.app)
    publicRoom = await createRoom(owner, 'public')
    privateRoom = await createRoom(owner, 'private')
  })

  describe('handshake', () => {
    it('refuses an upgrade without a session (401) and with an unknown cookie', async () => {
      const none = await refusedUpgrade(ctx.app, { origin: TEST_ORIGIN })
      expect(none).toEqual({ status: 401, body: { error: { code: 'unauthorized', message: expect.any(String) } } })
      const forged = await refusedUpgrade(ctx.app, { origin: TEST_ORIGIN, cookie: `${SESSION_COOKIE}=forged` })
      expect(forged.status).toBe(401)
    })

    it('refuses a foreign Origin before upgrading (403), even with a valid session', async () => {
      const refused = await refusedUpgrade(ctx.app, { origin: 'https://evil.example', cookie: owner.cookie })
      expect(refused).toEqual({ status: 403, body: { error: { code: 'forbidden', message: expect.any(String) } } })
    })

    it('greets with hello; a client without an Origin (not a browser) is accepted', async () => {
      const socket = await connect(ctx.app, owner, { origin: null })
      expect(socket.frames[0]).toMatchObject({
        type: 'hello',
        userId: owner.user.id,
        username: owner.user.username,
        limits: { sendRatePerSecond: 10, sendBurst: 30 },
      })
      await socket.close()
    })
  })

  describe('bad frames', () => {
    let socket: TestSocket
    let healthy: TestSocket
    beforeAll(async () => {
      socket = await connect(ctx.app, owner)
      healthy = await connect(ctx.app, owner)
      await healthy.subscribe(publicRoom)
    })

    const roomId = randomUUID()
    const clientId = randomUUID()
    const cases: Array<[string, string, Partial<ErrorFrame>]> = [
      ['malformed JSON', '{"type": "send",', { code: 'bad_request' }],
      ['a JSON array', '[1, 2]', { code: 'bad_request' }],
      ['a JSON string', '"subscribe"', { code: 'bad_request' }],
      ['null', 'null', { code: 'bad_request' }],
      ['no type', JSON.stringify({ roomId }), { code: 'unknown_frame', roomId }],
      ['an unknown type', JSON.stringify({ type: 'delete_everything', clientId }), { code: 'unknown_frame', clientId }],
      ['a server frame type', JSON.stringify({ type: 'ack', clientId }), { code: 'unknown_frame', clientId }],
      ['a prototype type', JSON.stringify({ type: 'constructor' }), { code: 'unknown_frame' }],
      [
        'a wrong field type',
        JSON.stringify({ type: 'subscribe', rooms: [{ roomId, after: 'ten' }] }),
        { code: 'validation_failed' },
      ],
      [
        'a negative seq',
        JSON.stringify({ type: 'subscribe', rooms: [{ roomId, after: -1 }] }),
        { code: 'validation_failed' },
      ],
      [
        'a bad uuid',
        JSON.stringify({ type: 'send', roomId: 'nope', clientId, body: 'x' }),
        { code: 'validation_failed', clientId },
      ],
      [
        'an extra field',
        JSON.stringify({ type: 'send', roomId, clientId, body: 'x', admin: true }),
        { code: 'validation_failed', clientId, roomId },
      ],
      ['a missing field', JSON.stringify({ type: 'send', roomId, clientId }), { code: 'validation_failed', clientId }],
      [
        'a __proto__ key',
        `{"type":"send","roomId":"${roomId}","clientId":"${clientId}","body":"x","__proto__":{"polluted":true}}`,
        { code: 'bad_request' },
      ],
      [
        'a nested constructor key',
        JSON.stringify({ type: 'subscribe', rooms: [{ roomId, after: 0, constructor: { prototype: {} } }] }),
        { code: 'bad_request' },
      ],
      ['an empty room list', JSON.stringify({ type: 'subscribe', rooms: [] }), { code: 'validation_failed' }],
    ]
    for (const [name, text, expected] of cases) {
      it(`${name} → error ${expected.code}, socket still usable`, async () => {
        const from = socket.frames.length
        socket.send(text)
        const error = await socket.waitFor('error', () => true, { from })
        expect(error).toMatchObject(expected)
        if (!expected.clientId) expect(error.clientId).toBeUndefined()
        expect(({} as Record<string, unknown>).polluted).toBeUndefined()
      })
    }

    it('the socket that sent all of them still works, and the one alongside saw nothing', async () => {
      const { caughtUp } = await socket.subscribe(publicRoom)
      const seq = await postMessage(owner, publicRoom)
      expect(seq).toBe(caughtUp + 1)
      await until(() => socket.lastSeq(publicRoom) === seq && healthy.lastSeq(publicRoom) === seq, 'the live event')
      expect(healthy.frames.filter((f) => f.type === 'error')).toEqual([])
    })

    it('a binary frame closes with 1003', async () => {
      const binary = await connect(ctx.app, owner)
      binary.ws.send(Buffer.from([1, 2, 3]))
      expect((await binary.closed).code).toBe(CLOSE_CODES.unsupportedData)
    })

    it('a frame over 64 KiB closes with 1009', async () => {
      const big = await connect(ctx.app, owner)
      big.send({ type: 'send', roomId: publicRoom, clientId: randomUUID(), body: 'x'.repeat(LIMITS.wsMaxFrameBytes) })
      expect((await big.closed).code).toBe(CLOSE_CODES.messageTooBig)
    })

    it(`${LIMITS.wsMaxInvalidFrames} invalid frames in a row close with 1008; fewer, broken by a valid one, do not`, async () => {
      const garbage = await connect(ctx.app, owner)
      for (let i = 0; i < LIMITS.wsMaxInvalidFrames - 1; i++) garbage.send('nonsense')
      await garbage.subscribe(publicRoom)
      for (let i = 0; i < LIMITS.wsMaxInvalidFrames - 1; i++) garbage.send('nonsense')
      await garbage.subscribe(publicRoom)
      expect(garbage.isOpen).toBe(true)
      for (let i = 0; i < LIMITS.wsMaxInvalidFrames; i++) garbage.send('nonsense')
      expect((await garbage.closed).code).toBe(CLOSE_CODES.policyViolation)
    })

    it('after all that the server is up and the healthy socket still gets live events', async () => {
      expect((await ctx.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200)
      const seq = await postMessage(owner, publicRoom)
      await until(() => healthy.lastSeq(publicRoom) === seq, 'the live event at the healthy socket')
      expect(healthy.isOpen).toBe(true)
    })
  })

  describe('authorization per frame', () => {
    let socket: TestSocket
    let watcher: TestSocket
    beforeAll(async () => {
      socket = await connect(ctx.app, stranger)
      watcher = await connect(ctx.app, owner)
      await watcher.subscribe(publicRoom)
      await watcher.subscribe(privateRoom)
    })

    it('a private room is invisible to a non-member: subscribe answers not_found, as for no room at all', async () => {
      let from = socket.frames.length
      socket.send({ type: 'subscribe', rooms: [{ roomId: privateRoom, after: 0 }] })
      expect(await socket.waitFor('error', () => true, { from })).toMatchObject({
        code: 'not_found',
        roomId: privateRoom,
      })
      const missing = randomUUID()
      from = socket.frames.length
      socket.send({ type: 'subscribe', rooms: [{ roomId: missing, after: 0 }] })
      expect(await socket.waitFor('error', () => true, { from })).toMatchObject({ code: 'not_found', roomId: missing })
      await postMessage(owner, privateRoom)
      await socket.subscribe(publicRoom)
      expect(socket.frames.some((f) => 'roomId' in f && f.roomId === privateRoom && f.type !== 'error')).toBe(false)
    })

    it('a public room is readable by a non-member, but sending is refused and stores and broadcasts nothing', async () => {
      const before = (await storedEvents(owner, publicRoom)).length
      const clientId = randomUUID()
      const from = socket.frames.length
      socket.send({ type: 'send', roomId: publicRoom, clientId, body: 'let me in' })
      expect(await socket.waitFor('error', (e) => e.clientId === clientId, { from })).toMatchObject({
        code: 'not_member',
        roomId: publicRoom,
        clientId,
      })
      const privateClientId = randomUUID()
      socket.send({ type: 'send', roomId: privateRoom, clientId: privateClientId, body: 'psst' })
      expect(await socket.waitFor('error', (e) => e.clientId === privateClientId, { from })).toMatchObject({
        code: 'not_found',
        roomId: privateRoom,
      })
      const next = await postMessage(owner, publicRoom)
      expect(next).toBe(before + 1)
      await until(() => watcher.lastSeq(publicRoom) === next, 'the next legitimate event')
      expect(watcher.events(publicRoom).some((e) => e.clientId === clientId)).toBe(false)
      expect((await storedEvents(owner, publicRoom)).some((e) => e.clientId === clientId)).toBe(false)
    })

    it('leaving a private room stops its live events on an open socket at once', async () => {
      const room = await createRoom(owner, 'private')
      const member = await signUp(ctx.app)
      expect(
        (await owner.request('POST', `/api/rooms/${room}/members`, { username: member.user.username })).statusCode,
      ).toBe(201)
      const memberSocket = await connect(ctx.app, member)
      await memberSocket.subscribe(room)
      const seen = await postMessage(owner, room, 'before leaving')
      await until(() => memberSocket.lastSeq(room) === seen, 'the message before leaving')

      const from = memberSocket.frames.length
      expect((await member.request('POST', `/api/rooms/${room}/leave`)).statusCode).toBe(204)
      expect(await memberSocket.waitFor('error', (e) => e.roomId === room, { from })).toMatchObject({
        code: 'not_found',
        roomId: room,
      })
      const after = await postMessage(owner, room, 'after leaving')
      // The owner's own socket gets it, so it was published; the one who left does not.
      await watcher.subscribe(room)
      await until(() => watcher.lastSeq(room) === after, 'the message after leaving, on the owner socket')
      // Their own member.left (committed before their access ended) is the last they get; nothing after it.
      expect(memberSocket.events(room).map((e) => [e.seq, e.kind])).toEqual([
        [seen - 1, 'member.joined'],
        [seen, 'message.created'],
        [seen + 1, 'member.left'],
      ])
      expect(memberSocket.isOpen).toBe(true)
      await memberSocket.close()
    })

    it('bodies are checked as over HTTP: empty and too long are refused with the clientId', async () => {
      const empty = randomUUID()
      const long = randomUUID()
      const from = socket.frames.length
      watcher.send({ type: 'send', roomId: publicRoom, clientId: empty, body: '   ' })
      watcher.send({ type: 'send', roomId: publicRoom, clientId: long, body: 'y'.repeat(LIMITS.messageBodyMax + 1) })
      expect(await watcher.waitFor('error', (e) => e.clientId === empty)).toMatchObject({ code: 'message_empty' })
      expect(await watcher.waitFor('error', (e) => e.clientId === long)).toMatchObject({ code: 'message_too_long' })
      expect(socket.frames.length).toBe(from)
    })
  })

  it('rate limit: over the burst, sends are refused with rate_limited and a retry hint, and nothing is stored', async () => {
    const roomId = await createRoom(owner)
    const tabs = [await connect(ctx.app, owner), await connect(ctx.app, owner)]
    const clientIds = Array.from({ length: LIMITS.sendBurst + 10 }, () => randomUUID())
    for (const [i, clientId] of clientIds.entries()) {
      tabs[i % 2]!.send({ type: 'send', roomId, clientId, body: `burst ${i}` })
    }
    const answered = () => tabs.flatMap((t) => t.frames).filter((f) => f.type === 'ack' || f.type === 'error')
    await until(() => answered().length === clientIds.length, 'an answer to every send')
    const limited = answered().filter((f): f is ErrorFrame => f.type === 'error')
    expect(limited.length).toBeGreaterThanOrEqual(5)
    for (const error of limited) {
      expect(error).toMatchObject({ code: 'rate_limited', roomId, clientId: expect.any(String) })
      expect(error.retryAfterMs).toBeGreaterThan(0)
    }
    const stored = await storedEvents(owner, roomId)
    expect(stored).toHaveLength(clientIds.length - limited.length)
    expect(stored.some((e) => limited.some((l) => l.clientId === e.clientId))).toBe(false)

    // Resent after its hint, as a client does, it is stored. A hint is not a reservation: sends
    // accepted after this refusal (the bucket refilling while the burst was read) may have taken
    // the token first, so a refused resend waits its new hint (bounded).
    const retry = limited[0]!
    let hint = retry.retryAfterMs!
    for (let attempt = 1; ; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, hint + 50))
      const from = tabs[0]!.frames.length
      tabs[0]!.send({ type: 'send', roomId, clientId: retry.clientId!, body: 'again' })
      const answerOf = () =>
        tabs[0]!.frames
          .slice(from)
          .find(
            (f): f is AckFrame | ErrorFrame =>
              (f.type === 'ack' || f.type === 'error') && f.clientId === retry.clientId,
          )
      await until(() => answerOf() !== undefined, 'an answer to the resend')
      const answer = answerOf()!
      if (answer.type === 'ack') break
      expect(answer).toMatchObject({ code: 'rate_limited' })
      expect(attempt, 'still refused after 5 resends at its hints').toBeLessThan(5)
      hint = answer.retryAfterMs!
    }
    await Promise.all(tabs.map((t) => t.close()))
  })

  describe('typing refusals', () => {
    it('typing needs a subscription, and membership', async () => {
      const socket = await connect(ctx.app, stranger)
      socket.send({ type: 'typing', roomId: publicRoom })
      expect(await socket.waitFor('error')).toMatchObject({ code: 'bad_request', roomId: publicRoom })
      const { from } = await socket.subscribe(publicRoom)
      socket.send({ type: 'typing', roomId: publicRoom })
      expect(await socket.waitFor('error', () => true, { from })).toMatchObject({
        code: 'not_member',
        roomId: publicRoom,
      })
      await socket.close()
    })
  })

  describe('session end', () => {
    it('logout closes that session’s sockets with 4001; another session of the same user stays', async () => {
      const user = await signUp(ctx.app)
      const login = await ctx.app.inject({
        method: 'POST',
        url: '/api/auth/login',
        headers: { 'content-type': 'application/json' },
        payload: { username: user.user.username, password: 'correct horse battery' },
      })
      const otherCookie = login.cookies.map((c) => `${c.name}=${c.value}`).join('; ')
      const tabs = [await connect(ctx.app, user), await connect(ctx.app, user)]
      const otherDevice = await connect(ctx.app, null, { cookie: otherCookie })
      expect((await user.request('POST', '/api/auth/logout')).statusCode).toBe(204)
      for (const tab of tabs) expect((await tab.closed).code).toBe(CLOSE_CODES.sessionEnded)
      await otherDevice.subscribe(publicRoom)
      expect(otherDevice.isOpen).toBe(true)
      await otherDevice.close()
    })

    it('session expiry closes the socket with 4001', async () => {
      const user = await signUp(ctx.app)
      const { token } = await createSession(ctx.app.db, user.user.id, 1500)
      const socket = await connect(ctx.app, null, { cookie: `${SESSION_COOKIE}=${token}` })
      expect((await socket.closed).code).toBe(CLOSE_CODES.sessionEnded)
      expect(
        (await refusedUpgrade(ctx.app, { origin: TEST_ORIGIN, cookie: `${SESSION_COOKIE}=${token}` })).status,
      ).toBe(401)
    })
  })
})

describeEachEngine('ws graceful shutdown', (engine) => {
  const ctx = useTestApp(engine)
  it('closing the app closes every socket with 1001', async () => {
    await ctx.app.listen({ port: 0, host: '127.0.0.1' })
    const agent = await signUp(ctx.app)
    const roomId = await createRoom(agent)
    const sockets = [await connect(ctx.app, agent), await connect(ctx.app, agent)]
    await sockets[0]!.subscribe(roomId)
    await ctx.app.close()
    for (const socket of sockets) expect((await socket.closed).code).toBe(CLOSE_CODES.goingAway)
  })
})
