import { randomUUID } from 'node:crypto'
import { sql } from 'kysely'
import { beforeAll, expect, it } from 'vitest'
import { Appender, type AppendRequest } from '../../server/messages/appender.ts'
import { LocalBus } from '../../server/realtime/bus.ts'
import { expectError } from '../support/api.ts'
import { type Agent, signUp, TEST_ORIGIN, uniqueName, useTestApp } from '../support/app.ts'
import { describeEachEngine } from '../support/databases.ts'
import { connect, createRoom, joinRoom, storedEvents } from '../support/ws.ts'

/** Text PostgreSQL cannot hold as sent: NUL is refused by `text`; a lone surrogate would be stored as U+FFFD. */
const UNSTORABLE = ['nul \u0000 inside', 'lone \ud800 high', 'lone \udc00 low', 'swapped \udc00\ud800']

describeEachEngine('append: poison input and batch isolation', (engine) => {
  const ctx = useTestApp(engine)
  let alice: Agent
  let bob: Agent
  let carol: Agent
  beforeAll(async () => {
    await ctx.app.listen({ port: 0, host: '127.0.0.1' })
    ;[alice, bob, carol] = [await signUp(ctx.app), await signUp(ctx.app), await signUp(ctx.app)]
  })

  const json = (url: string, payload: unknown, cookie?: string) =>
    ctx.app.inject({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/json', origin: TEST_ORIGIN, ...(cookie ? { cookie } : {}) },
      payload: JSON.stringify(payload),
    })

  it('refuses unstorable characters in every text field with 400 validation_failed, storing nothing', async () => {
    const roomId = await createRoom(alice)
    const roomIds = async () =>
      ((await alice.request('GET', '/api/rooms')).json().rooms as Array<{ id: string }>).map((room) => room.id).sort()
    const roomsBefore = await roomIds()
    for (const bad of UNSTORABLE) {
      expectError(
        await alice.request('POST', `/api/rooms/${roomId}/messages`, { clientId: randomUUID(), body: bad }),
        400,
        'validation_failed',
      )
      expectError(
        await alice.request('POST', '/api/rooms', { name: bad, visibility: 'public' }),
        400,
        'validation_failed',
      )
      expectError(
        await alice.request('POST', `/api/rooms/${roomId}/members`, { username: `x${bad}` }),
        400,
        'validation_failed',
      )
      expectError(
        await json('/api/auth/signup', { username: `u${bad}`, password: 'correct horse battery' }),
        400,
        'validation_failed',
      )
      expectError(
        await json('/api/auth/signup', { username: uniqueName(), password: `password ${bad}` }),
        400,
        'validation_failed',
      )
    }
    // Login too: a NUL reaching the user lookup would be a 500, not "wrong password".
    expectError(
      await json('/api/auth/login', { username: 'a\u0000b', password: 'correct horse battery' }),
      400,
      'validation_failed',
    )
    expectError(
      await json('/api/auth/login', { username: alice.user.username, password: 'x\u0000' }),
      400,
      'validation_failed',
    )
    expect(await storedEvents(alice, roomId)).toEqual([])
    expect(await roomIds()).toEqual(roomsBefore)
  })

  it('keeps emoji and other well-formed text, astral characters included', async () => {
    const roomId = await createRoom(alice)
    const body = 'ship 🚢, é, 漢字, \u2028 and \ufffd'
    const response = await alice.request('POST', `/api/rooms/${roomId}/messages`, { clientId: randomUUID(), body })
    expect(response.statusCode).toBe(201)
    expect(response.json().message.body).toBe(body)
  })

  it('answers an unstorable send frame with a validation_failed error frame, storing nothing', async () => {
    const roomId = await createRoom(alice)
    const socket = await connect(ctx.app, alice)
    for (const bad of UNSTORABLE) {
      const clientId = randomUUID()
      socket.send({ type: 'send', roomId, clientId, body: bad })
      const refused = await socket.waitFor('error', (f) => f.clientId === clientId)
      expect(refused.code).toBe('validation_failed')
    }
    const clientId = randomUUID()
    socket.send({ type: 'send', roomId, clientId, body: 'fine' })
    expect((await socket.waitFor('ack', (f) => f.clientId === clientId)).seq).toBe(1)
    expect((await storedEvents(alice, roomId)).map((e) => e.clientId)).toEqual([clientId])
    await socket.close()
  })

  it('isolates a write the database refuses: co-batched writes of others are stored and acked, it gets not_storable', async () => {
    const roomId = await createRoom(alice)
    for (const agent of [bob, carol]) await joinRoom(agent, roomId)
    // One lane, so every write below goes through one queue; the first one's
    // transaction is under way while the others queue up into the next batch.
    const appender = new Appender(ctx.database.db, new LocalBus(), { lanes: 1 })
    const write = (agent: Agent, body: string): AppendRequest => ({
      roomId,
      authorId: agent.user.id,
      authorName: agent.user.username,
      clientId: randomUUID(),
      body,
    })
    // Bypasses validation, as a rule the schemas do not know about would.
    const writes = [
      write(alice, 'first, alone in its batch'),
      write(bob, 'bob before'),
      write(carol, 'carol before'),
      write(alice, 'poison \u0000'),
      write(bob, 'bob after'),
      write(carol, 'carol after'),
    ]
    const results = await Promise.all(writes.map((w) => appender.append(w)))
    // Seqs 1 and 2 are bob's and carol's member.joined.
    expect(results.map((r) => (r.ok ? r.event.seq : r.code))).toEqual([3, 4, 5, 'not_storable', 6, 7])
    const stored = (await storedEvents(alice, roomId)).filter((e) => e.kind === 'message.created')
    expect(stored.map((e) => e.body)).toEqual([
      'first, alone in its batch',
      'bob before',
      'carol before',
      'bob after',
      'carol after',
    ])

    // The refusal is permanent and stays isolated on a resend.
    const again = await Promise.all([appender.append(write(bob, 'bob later')), appender.append(writes[3]!)])
    expect(again.map((r) => (r.ok ? r.event.seq : r.code))).toEqual([8, 'not_storable'])
    await appender.drain()
  })

  it('tells data errors from transient ones: a trigger refusal is isolated, an internal error fails the batch and what follows it', async () => {
    const roomId = await createRoom(alice)
    await joinRoom(bob, roomId)
    await sql`
      CREATE FUNCTION refuse_marked() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.body = 'refused as data' THEN RAISE EXCEPTION 'refused' USING ERRCODE = 'check_violation'; END IF;
        IF NEW.body = 'refused as internal' THEN RAISE EXCEPTION 'refused' USING ERRCODE = 'internal_error'; END IF;
        RETURN NEW;
      END $$`.execute(ctx.database.db)
    await sql`CREATE TRIGGER refuse_marked BEFORE INSERT ON room_events FOR EACH ROW EXECUTE FUNCTION refuse_marked()`.execute(
      ctx.database.db,
    )
    try {
      const appender = new Appender(ctx.database.db, new LocalBus(), { lanes: 1 })
      const write = (agent: Agent, body: string): AppendRequest => ({
        roomId,
        authorId: agent.user.id,
        authorName: agent.user.username,
        clientId: randomUUID(),
        body,
      })
      const outcome = (writes: AppendRequest[]) =>
        Promise.all(
          writes.map((w) =>
            appender.append(w).then(
              (r) => (r.ok ? r.event.seq : r.code),
              () => 'rejected',
            ),
          ),
        )

      expect(
        await outcome([write(alice, 'a'), write(bob, 'b'), write(alice, 'refused as data'), write(bob, 'c')]),
        // Seq 1 is bob's member.joined.
      ).toEqual([2, 3, 'not_storable', 4])
      // A transient failure is not the write's fault: no isolation, nothing of the batch stored, all answered as failed.
      expect(
        await outcome([write(alice, 'd'), write(bob, 'e'), write(alice, 'refused as internal'), write(bob, 'f')]),
      ).toEqual([5, 'rejected', 'rejected', 'rejected'])
      expect((await storedEvents(alice, roomId)).map((e) => e.body)).toEqual([null, 'a', 'b', 'c', 'd'])
      await appender.drain()
    } finally {
      await sql`DROP TRIGGER refuse_marked ON room_events`.execute(ctx.database.db)
    }
  })
})
