import { randomUUID } from 'node:crypto'
import { sql } from 'kysely'
import { beforeAll, expect, it } from 'vitest'
import type { OperationAckFrame } from '../../shared/conversation/requests.ts'
import type { ErrorCode } from '../../shared/errors.ts'
import { LIMITS } from '../../shared/limits.ts'
import type { RoomEvent } from '../../shared/schemas.ts'
import { expectError } from '../support/api.ts'
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

/**
 * Edit, delete and react (issue 9, docs/PROTOCOL.md "Conversation events"):
 * log entries written through the one append path, over the socket and HTTP,
 * answered with the stored entry, deduped forever, kept in the sender's
 * chain, checked against their target, and carried by every catch-up.
 */
describeEachEngine('conversation operations', (engine) => {
  const ctx = useTestApp(engine, { realtime: realtimeConfig({ sendRatePerSecond: 1000, sendBurst: 1000 }) })
  let ana: Agent
  let ben: Agent
  let cai: Agent
  beforeAll(async () => {
    await ctx.app.listen({ port: 0, host: '127.0.0.1' })
    ana = await signUp(ctx.app)
    ben = await signUp(ctx.app)
    cai = await signUp(ctx.app)
  })

  /**
   * A room owned by ana with ben in it, with a message by each (seq 1 ana's, seq 2 ben's). Ben's
   * membership row is inserted directly, without the member.joined entry a join writes
   * (test/integration/members.test.ts covers those), so the seqs these tests name stay the messages'.
   */
  async function roomWithMessages() {
    const roomId = await createRoom(ana)
    await ctx.app.db
      .insertInto('room_members')
      .values({ room_id: roomId, user_id: ben.user.id, role: 'member' })
      .execute()
    const anas = randomUUID()
    const bens = randomUUID()
    expect((await send(ana, roomId, { clientId: anas, body: 'from ana' })).statusCode).toBe(201)
    expect((await send(ben, roomId, { clientId: bens, body: 'from ben' })).statusCode).toBe(201)
    return { roomId, anas, bens }
  }

  const send = (agent: Agent, roomId: string, body: Record<string, unknown>) =>
    agent.request('POST', `/api/rooms/${roomId}/messages`, body)
  const operate = (agent: Agent, roomId: string, body: Record<string, unknown>) =>
    agent.request('POST', `/api/rooms/${roomId}/operations`, body)
  const edit = (targetSeq: number, body: string, extra: Record<string, unknown> = {}) => ({
    type: 'edit',
    clientId: randomUUID(),
    targetSeq,
    body,
    ...extra,
  })
  const del = (targetSeq: number, extra: Record<string, unknown> = {}) => ({
    type: 'delete',
    clientId: randomUUID(),
    targetSeq,
    ...extra,
  })
  const react = (targetSeq: number, emoji: string, action = 'add', extra: Record<string, unknown> = {}) => ({
    type: 'react',
    clientId: randomUUID(),
    targetSeq,
    emoji,
    action,
    ...extra,
  })

  /** What a refusal must leave alone: every row of the log, of reactions, and each room's last seq. */
  async function snapshot() {
    const db = ctx.database.db
    const events = await sql`SELECT * FROM room_events ORDER BY room_id, seq`.execute(db)
    const reactions = await sql`SELECT * FROM message_reactions ORDER BY room_id, message_seq, emoji, user_id`.execute(
      db,
    )
    const rooms = await sql`SELECT id, last_seq FROM rooms ORDER BY id`.execute(db)
    return { events: events.rows, reactions: reactions.rows, rooms: rooms.rows }
  }

  /** The first answer (ack or error) to a frame with this clientId. */
  async function answerTo(socket: TestSocket, clientId: string, from: number) {
    for (;;) {
      const frame = socket.frames
        .slice(from)
        .find((f) => (f.type === 'ack' || f.type === 'error') && 'clientId' in f && f.clientId === clientId)
      if (frame) return frame as unknown as OperationAckFrame | { type: 'error'; code: ErrorCode; clientId: string }
      if (!socket.isOpen) throw new Error('socket closed')
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  }

  async function sendFrame(socket: TestSocket, frame: Record<string, unknown>) {
    const from = socket.frames.length
    socket.send(frame)
    return answerTo(socket, frame.clientId as string, from)
  }

  it('writes each kind over HTTP, and every catch-up carries it: events?after, subscribe after=N', async () => {
    const { roomId } = await roomWithMessages()
    const edited = await operate(ana, roomId, edit(1, '  from ana, edited  '))
    expect(edited.statusCode, edited.body).toBe(201)
    expect(edited.json().event).toMatchObject({
      kind: 'message.edited',
      seq: 3,
      targetSeq: 1,
      body: 'from ana, edited',
      authorId: ana.user.id,
      authorName: ana.user.username,
      reaction: null,
    })
    const added = await operate(ben, roomId, react(1, '👍'))
    expect(added.statusCode, added.body).toBe(201)
    expect(added.json().event).toMatchObject({ kind: 'reaction.added', seq: 4, targetSeq: 1, reaction: '👍' })
    const removed = await operate(ben, roomId, react(1, '👍', 'remove'))
    expect(removed.json().event).toMatchObject({ kind: 'reaction.removed', seq: 5, targetSeq: 1, reaction: '👍' })
    const deleted = await operate(ben, roomId, del(2))
    expect(deleted.statusCode, deleted.body).toBe(201)
    expect(deleted.json().event).toMatchObject({ kind: 'message.deleted', seq: 6, targetSeq: 2, body: null })

    const all = await storedEvents(cai, roomId)
    expect(
      isGapFree(
        all.map((e) => e.seq),
        1,
        6,
      ),
    ).toBe(true)
    expect(all.map((e) => [e.seq, e.kind])).toEqual([
      [1, 'message.created'],
      [2, 'message.created'],
      [3, 'message.edited'],
      [4, 'reaction.added'],
      [5, 'reaction.removed'],
      [6, 'message.deleted'],
    ])
    // The deleted message's text is gone from its row.
    expect(all[1]).toMatchObject({ kind: 'message.created', body: null })
    expect(all[2]).toMatchObject({ body: 'from ana, edited' })

    const page = await cai.request('GET', `/api/rooms/${roomId}/events?after=2`)
    expect(page.json().events.map((e: RoomEvent) => e.seq)).toEqual([3, 4, 5, 6])

    const socket = await connect(ctx.app, cai)
    const { from } = await socket.subscribe(roomId, 2)
    expect(socket.events(roomId, from)).toEqual(all.slice(2))
    await socket.close()
  })

  it('answers each frame with one ack carrying the stored entry, fans it out live, and a resend is a duplicate', async () => {
    const { roomId, anas } = await roomWithMessages()
    const anaSocket = await connect(ctx.app, ana)
    const watcher = await connect(ctx.app, cai)
    const { from } = await watcher.subscribe(roomId, 2)

    const frames = [
      { ...edit(1, 'edited over the socket'), roomId },
      { ...react(2, '🎉'), roomId },
      { ...react(2, '🎉', 'remove'), roomId },
      { type: 'delete', roomId, clientId: randomUUID(), targetClientId: anas },
    ]
    const acks: OperationAckFrame[] = []
    for (const frame of frames) {
      const answer = await sendFrame(anaSocket, frame)
      expect(answer.type, JSON.stringify(answer)).toBe('ack')
      acks.push(answer as OperationAckFrame)
    }
    expect(acks.map((a) => [a.seq, a.duplicate, a.event.kind, a.event.targetSeq])).toEqual([
      [3, false, 'message.edited', 1],
      [4, false, 'reaction.added', 2],
      [5, false, 'reaction.removed', 2],
      [6, false, 'message.deleted', 1],
    ])
    for (const [i, ack] of acks.entries()) {
      expect(ack.roomId).toBe(roomId)
      expect(ack.clientId).toBe(frames[i]!.clientId)
      expect(ack.event.clientId).toBe(frames[i]!.clientId)
    }

    await watcher.waitFor('events', (f) => f.roomId === roomId && f.events.some((e) => e.seq === 6), { from })
    expect(watcher.events(roomId, from).map((e) => [e.seq, e.kind])).toEqual(
      acks.map((a) => [a.event.seq, a.event.kind]),
    )

    // Permanent dedupe for each kind: the original entry, nothing stored. (The edit's text was
    // scrubbed by the deletion since: the resend gets the entry as it is now.)
    const before = await snapshot()
    for (const [i, frame] of frames.entries()) {
      const again = (await sendFrame(anaSocket, frame)) as OperationAckFrame
      expect(again.type).toBe('ack')
      expect(again.duplicate).toBe(true)
      expect(again.seq).toBe(acks[i]!.seq)
      expect({ ...again.event, body: null }).toEqual({ ...acks[i]!.event, body: null })
    }
    const http = await operate(ana, roomId, { ...frames[1], roomId: undefined })
    expect(http.statusCode).toBe(200)
    expect(http.json().event).toEqual(acks[1]!.event)
    expect(await snapshot()).toEqual(before)
    await anaSocket.close()
    await watcher.close()
  })

  it('refuses an edit chained after its not-yet-stored message with out_of_order, then stores it', async () => {
    const roomId = await createRoom(ana)
    const socket = await connect(ctx.app, ana)
    const message = randomUUID()
    const editFrame = {
      type: 'edit',
      roomId,
      clientId: randomUUID(),
      afterClientId: message,
      targetClientId: message,
      body: 'better text',
    }
    const before = await snapshot()
    const early = await sendFrame(socket, editFrame)
    expect(early).toMatchObject({ type: 'error', code: 'out_of_order', clientId: editFrame.clientId })
    expect(await snapshot()).toEqual(before)

    expect(await sendFrame(socket, { type: 'send', roomId, clientId: message, body: 'first text' })).toMatchObject({
      type: 'ack',
      seq: 1,
    })
    const later = (await sendFrame(socket, editFrame)) as OperationAckFrame
    expect(later).toMatchObject({ type: 'ack', seq: 2, duplicate: false })
    expect(later.event).toMatchObject({ kind: 'message.edited', targetSeq: 1, body: 'better text' })
    await socket.close()
  })

  it('stores a chain of message and operations pipelined in one go, in order', async () => {
    const roomId = await createRoom(ana)
    const socket = await connect(ctx.app, ana)
    const [m, e, r] = [randomUUID(), randomUUID(), randomUUID()]
    const from = socket.frames.length
    socket.send({ type: 'send', roomId, clientId: m, body: 'hello' })
    socket.send({ type: 'edit', roomId, clientId: e, afterClientId: m, targetClientId: m, body: 'hello there' })
    socket.send({ type: 'react', roomId, clientId: r, afterClientId: e, targetClientId: m, emoji: '👋', action: 'add' })
    const answers = [await answerTo(socket, m, from), await answerTo(socket, e, from), await answerTo(socket, r, from)]
    expect(answers.map((a) => [a.type, 'seq' in a ? a.seq : null])).toEqual([
      ['ack', 1],
      ['ack', 2],
      ['ack', 3],
    ])
    await socket.close()
  })

  it('concurrent edit and delete of one message from two sessions: one wins, the other is refused, the log gap-free', async () => {
    for (let round = 0; round < 4; round++) {
      const roomId = await createRoom(ana)
      const message = randomUUID()
      expect((await send(ana, roomId, { clientId: message, body: 'contested' })).statusCode).toBe(201)
      const [phone, laptop] = [await connect(ctx.app, ana), await connect(ctx.app, ana)]
      const editFrame = { ...edit(1, 'edited text'), roomId }
      const deleteFrame = { ...del(1), roomId }
      const [fromPhone, fromLaptop] = [phone.frames.length, laptop.frames.length]
      phone.send(editFrame)
      laptop.send(deleteFrame)
      const edited = await answerTo(phone, editFrame.clientId, fromPhone)
      const deleted = await answerTo(laptop, deleteFrame.clientId, fromLaptop)
      // The deletion always lands (nothing refuses deleting an edited message); the edit lands only before it.
      expect(deleted.type).toBe('ack')
      const events = await storedEvents(ana, roomId)
      expect(
        isGapFree(
          events.map((e) => e.seq),
          1,
          events.length,
        ),
      ).toBe(true)
      if (edited.type === 'ack') {
        expect(events.map((e) => e.kind)).toEqual(['message.created', 'message.edited', 'message.deleted'])
        // Scrubbed with its message.
        expect(events[1]!.body).toBeNull()
      } else {
        expect(edited).toMatchObject({ type: 'error', code: 'target_deleted' })
        expect(events.map((e) => e.kind)).toEqual(['message.created', 'message.deleted'])
      }
      expect(events[0]!.body).toBeNull()
      await phone.close()
      await laptop.close()
    }
  })

  it('concurrent deletions of one message (its author and the owner, two sessions): exactly one wins, the other is target_deleted, the log gap-free', async () => {
    // The edit above may land before the deletion (then both are right to succeed); two deletions
    // can never both: this race always has a loser, and it must be typed and change nothing.
    for (let round = 0; round < 3; round++) {
      const { roomId } = await roomWithMessages()
      const [owner, author] = [await connect(ctx.app, ana), await connect(ctx.app, ben)]
      const byOwner = { ...del(2), roomId }
      const byAuthor = { ...del(2), roomId }
      const [fromOwner, fromAuthor] = [owner.frames.length, author.frames.length]
      owner.send(byOwner)
      author.send(byAuthor)
      const answers = [
        await answerTo(owner, byOwner.clientId, fromOwner),
        await answerTo(author, byAuthor.clientId, fromAuthor),
      ]
      expect(answers.filter((a) => a.type === 'ack')).toHaveLength(1)
      expect(answers.filter((a) => a.type === 'error')).toEqual([
        expect.objectContaining({ type: 'error', code: 'target_deleted' }),
      ])
      const winner = answers.find((a) => a.type === 'ack') as OperationAckFrame
      const events = await storedEvents(cai, roomId)
      expect(
        isGapFree(
          events.map((e) => e.seq),
          1,
          3,
        ),
      ).toBe(true)
      expect(events.map((e) => e.kind)).toEqual(['message.created', 'message.created', 'message.deleted'])
      expect(events[2]).toMatchObject({ targetSeq: 2, authorId: winner.event.authorId, seq: winner.seq })
      await Promise.all([owner.close(), author.close()])
    }
  })

  it('rights: edit is the author only, delete the author or the owner, react any member', async () => {
    const { roomId } = await roomWithMessages()
    const before = await snapshot()
    expectError(await operate(ana, roomId, edit(2, 'not mine')), 403, 'forbidden')
    expectError(await operate(ben, roomId, edit(1, 'not mine either')), 403, 'forbidden')
    expectError(await operate(ben, roomId, del(1)), 403, 'forbidden')
    expect(await snapshot()).toEqual(before)

    expect((await operate(ben, roomId, react(1, '❤️'))).statusCode).toBe(201)
    expect((await operate(ana, roomId, react(2, '❤️'))).statusCode).toBe(201)
    // The owner deletes ben's message; ben deletes his own... which is now deleted.
    const byOwner = await operate(ana, roomId, del(2))
    expect(byOwner.statusCode).toBe(201)
    expect(byOwner.json().event).toMatchObject({ kind: 'message.deleted', targetSeq: 2, authorId: ana.user.id })
    expectError(await operate(ben, roomId, del(2)), 409, 'target_deleted')
    expect((await operate(ana, roomId, del(1))).statusCode).toBe(201)

    // A non-member may not act at all; in a private room they are told nothing exists.
    expectError(await operate(cai, roomId, react(1, '👍')), 403, 'not_member')
    const secret = await createRoom(ana, 'private')
    expect((await send(ana, secret, { clientId: randomUUID(), body: 'secret' })).statusCode).toBe(201)
    expectError(await operate(cai, secret, react(1, '👍')), 404, 'not_found')
  })

  it('a deletion scrubs the message, its edits and its reactions; reactions keep one per emoji per person', async () => {
    const { roomId } = await roomWithMessages()
    expect((await operate(ana, roomId, edit(1, 'second text'))).statusCode).toBe(201)
    expect((await operate(ana, roomId, edit(1, 'third text'))).statusCode).toBe(201)
    expect((await operate(ben, roomId, react(1, '👍'))).statusCode).toBe(201)
    // Adding again is stored (acked, a no-op for the state), not an error.
    expect((await operate(ben, roomId, react(1, '👍'))).statusCode).toBe(201)
    expect((await operate(ana, roomId, react(1, '👍'))).statusCode).toBe(201)
    const db = ctx.database.db
    const holders = async () =>
      (
        await sql<{ user_id: string; seq: string }>`
          SELECT user_id, seq FROM message_reactions WHERE room_id = ${roomId} ORDER BY seq`.execute(db)
      ).rows.map((r) => [r.user_id, Number(r.seq)])
    expect(await holders()).toEqual([
      [ben.user.id, 5],
      [ana.user.id, 7],
    ])
    const row = async (seq: number) =>
      (
        await sql<Record<string, unknown>>`
          SELECT body, mentions, edited_seq, deleted_seq, deleted_by FROM room_events
          WHERE room_id = ${roomId} AND seq = ${seq}`.execute(db)
      ).rows[0]
    expect(await row(1)).toMatchObject({ body: 'from ana', edited_seq: '4', deleted_seq: null })

    expect((await operate(ana, roomId, del(1))).statusCode).toBe(201)
    expect(await row(1)).toMatchObject({ body: null, edited_seq: null, deleted_seq: '8', deleted_by: ana.user.id })
    expect((await row(3))!.body).toBeNull()
    expect((await row(4))!.body).toBeNull()
    expect(await holders()).toEqual([])
    // Ben's message is untouched.
    expect((await row(2))!.body).toBe('from ben')
  })

  it('bad targets: a seq that does not exist, another kind, another room, a deleted message — typed, nothing changes', async () => {
    const { roomId, bens } = await roomWithMessages()
    const other = await roomWithMessages()
    expect((await operate(ana, roomId, react(1, '👍'))).statusCode).toBe(201) // seq 3: a reaction
    expect((await operate(ben, roomId, del(2))).statusCode).toBe(201) // seq 4: deletes 2
    const before = await snapshot()
    const socket = await connect(ctx.app, ana)
    const cases: Array<[Record<string, unknown>, ErrorCode]> = [
      [edit(99, 'no such seq'), 'target_not_found'],
      [react(99, '👍'), 'target_not_found'],
      [del(99), 'target_not_found'],
      [edit(3, 'a reaction is not a message'), 'target_not_found'],
      [react(3, '👍'), 'target_not_found'],
      // Another room's message by client id (ana's in the other room), and one not hers.
      [{ type: 'edit', clientId: randomUUID(), targetClientId: other.anas, body: 'elsewhere' }, 'target_not_found'],
      [{ type: 'delete', clientId: randomUUID(), targetClientId: bens }, 'target_not_found'],
      [react(2, '👍'), 'target_deleted'],
      [react(2, '👍', 'remove'), 'target_deleted'],
      [del(2), 'target_deleted'],
      [react(1, 'not an emoji'), 'invalid_reaction'],
      [react(1, '👍👍'), 'invalid_reaction'],
      [react(1, 'a'), 'invalid_reaction'],
      [react(1, '👨‍👩‍👧‍👦👨‍👩‍👧‍👦'), 'invalid_reaction'], // two, and over 32 bytes
      [react(1, '👩🏽‍👩🏽‍👧🏽‍👦🏽'), 'invalid_reaction'], // one emoji of 41 bytes
      [edit(1, '   '), 'message_empty'],
      [edit(1, 'x'.repeat(4001)), 'message_too_long'],
      [{ ...edit(1, 'both'), targetClientId: randomUUID() }, 'validation_failed'],
      [{ type: 'delete', clientId: randomUUID() }, 'validation_failed'],
    ]
    const status: Partial<Record<ErrorCode, number>> = {
      target_not_found: 404,
      target_deleted: 409,
      invalid_reaction: 400,
      message_empty: 400,
      message_too_long: 400,
      validation_failed: 400,
    }
    for (const [body, code] of cases) {
      expectError(await operate(ana, roomId, body), status[code]!, code)
      const answer = await sendFrame(socket, { ...body, roomId })
      expect(answer, JSON.stringify(body)).toMatchObject({ type: 'error', code, clientId: body.clientId })
    }
    // Edit of ben's deleted message by ben.
    expectError(await operate(ben, roomId, edit(2, 'revive')), 409, 'target_deleted')
    expect(await snapshot()).toEqual(before)
    await socket.close()
  })

  it('wrong types, unknown fields and NUL in every new frame and body: validation_failed, nothing changes', async () => {
    const { roomId } = await roomWithMessages()
    const before = await snapshot()
    const socket = await connect(ctx.app, ana)
    const valid = [edit(1, 'text'), del(1), react(1, '👍')]
    const broken: Record<string, unknown>[] = []
    for (const body of valid) {
      broken.push(
        { ...body, targetSeq: '1' },
        { ...body, targetSeq: 0 },
        { ...body, targetSeq: 1.5 },
        { ...body, clientId: 'not-a-uuid' },
        { ...body, afterClientId: 42 },
        { ...body, extra: true },
        { ...body, targetClientId: null },
      )
    }
    broken.push(
      { ...edit(1, 'nul \u0000 in text') },
      { ...edit(1, 'lone \ud800 surrogate') },
      { ...react(1, '\u0000') },
      { ...react(1, '👍', 'toggle') },
      { ...edit(1, 'text'), body: 7 },
      { type: 'rename', clientId: randomUUID(), targetSeq: 1 },
    )
    for (const body of broken) {
      expectError(await operate(ana, roomId, body), 400, 'validation_failed')
      const from = socket.frames.length
      socket.send({ ...body, roomId })
      const answer = await socket.waitFor('error', () => true, { from })
      expect(answer.code, JSON.stringify(body)).toBe(body.type === 'rename' ? 'unknown_frame' : 'validation_failed')
      // A valid frame between them, so the socket is not closed for too many invalid frames in a row.
      socket.send({ type: 'ping', id: from })
      await socket.waitFor('pong', (f) => f.id === from, { from })
    }
    // A frame without its room.
    const from = socket.frames.length
    socket.send(edit(1, 'no room'))
    expect((await socket.waitFor('error', () => true, { from })).code).toBe('validation_failed')
    expect(await snapshot()).toEqual(before)
    await socket.close()
  })

  it('regression (found by the HTTP fuzz): over HTTP an operation naming itself in another letter case is validation_failed', async () => {
    // Was: the body (a union of three objects) kept its ids as sent, so the "not itself" rules compared
    // strings that differed in case: out_of_order (transient, resent forever) and target_not_found.
    const { roomId } = await roomWithMessages()
    const before = await snapshot()
    const id = randomUUID()
    const itselfAfter = { ...del(1), clientId: id.toUpperCase(), afterClientId: id }
    const itselfTarget = { type: 'delete', clientId: id, targetClientId: id.toUpperCase() }
    for (const body of [itselfAfter, itselfTarget]) {
      expectError(await operate(ana, roomId, body), 400, 'validation_failed')
    }
    expect(await snapshot()).toEqual(before)
    // The same id in any case is the same operation: stored once, then a duplicate.
    const stored = await operate(ana, roomId, react(1, '👍', 'add', { clientId: id.toUpperCase() }))
    expect(stored.statusCode, stored.body).toBe(201)
    expect(stored.json().event.clientId).toBe(id)
    const again = await operate(ana, roomId, react(1, '👍', 'add', { clientId: id }))
    expect(again.statusCode).toBe(200)
    expect(again.json().event).toEqual(stored.json().event)
  })

  it('replies: by seq or by own clientId, to a deleted message too; the entry carries replyTo', async () => {
    const { roomId, anas } = await roomWithMessages()
    const bySeq = randomUUID()
    expect((await send(ben, roomId, { clientId: bySeq, body: 'answer', replyTo: 1 })).statusCode).toBe(201)
    const socket = await connect(ctx.app, ana)
    const byClientId = randomUUID()
    expect(
      await sendFrame(socket, { type: 'send', roomId, clientId: byClientId, body: 'me again', replyToClientId: anas }),
    ).toMatchObject({ type: 'ack', seq: 4 })
    expect((await operate(ana, roomId, del(2))).statusCode).toBe(201) // seq 5
    const toDeleted = randomUUID()
    expect((await send(ana, roomId, { clientId: toDeleted, body: 'still answering', replyTo: 2 })).statusCode).toBe(201)
    const events = await storedEvents(cai, roomId)
    expect(events.map((e) => [e.seq, e.kind, e.replyTo ?? null])).toEqual([
      [1, 'message.created', null],
      [2, 'message.created', null],
      [3, 'message.created', 1],
      [4, 'message.created', 1],
      [5, 'message.deleted', null],
      [6, 'message.created', 2],
    ])
    // A resend is the original entry, replyTo included.
    const again = await send(ben, roomId, { clientId: bySeq, body: 'answer', replyTo: 1 })
    expect(again.statusCode).toBe(200)
    expect(again.json().message.seq).toBe(3)
    // Live subscribers get it too.
    const { from } = await socket.subscribe(roomId, 5)
    expect(socket.events(roomId, from)).toEqual([events[5]])
    await socket.close()
  })

  it('a send’s ack and HTTP answer carry what was stored: replyTo (resolved from a clientId too) and only the mentions kept', async () => {
    const { roomId, anas } = await roomWithMessages()
    const outsider = cai.user.username
    // Over HTTP: a reply by seq mentioning a member and a non-member (dropped: plain text).
    const byHttp = { clientId: randomUUID(), body: `@${ben.user.username} and @${outsider}`, replyTo: 2 }
    const created = await send(ana, roomId, byHttp)
    expect(created.statusCode, created.body).toBe(201)
    expect(created.json().message).toMatchObject({ seq: 3, replyTo: 2, mentions: [ben.user.id], body: byHttp.body })
    // Over the socket: a reply by clientId (the ack names the seq the server resolved) mentioning only a non-member.
    const socket = await connect(ctx.app, ana)
    const byFrame = { type: 'send', roomId, clientId: randomUUID(), body: `only @${outsider}`, replyToClientId: anas }
    const ack = (await sendFrame(socket, byFrame)) as unknown as { type: string; message: Record<string, unknown> }
    expect(ack).toMatchObject({ type: 'ack', seq: 4, message: { seq: 4, replyTo: 1 } })
    // Absent means none, as on a log entry.
    expect(Object.keys(ack.message)).not.toContain('mentions')
    // A plain message's answer is as before issue 9: neither field.
    const plain = await send(ana, roomId, { clientId: randomUUID(), body: 'plain' })
    expect(Object.keys(plain.json().message).sort()).toEqual(
      ['authorId', 'authorName', 'body', 'clientId', 'createdAt', 'roomId', 'seq'].sort(),
    )
    // What the answers carried is what the log holds, and a resend answers the same.
    const stored = await storedEvents(ana, roomId)
    expect(stored[2]).toMatchObject({ replyTo: 2, mentions: [ben.user.id] })
    expect(stored[3]).toMatchObject({ replyTo: 1 })
    expect(stored[3]!.mentions).toBeUndefined()
    const again = await send(ana, roomId, byHttp)
    expect(again.statusCode).toBe(200)
    expect(again.json().message).toEqual(created.json().message)
    const ackAgain = (await sendFrame(socket, byFrame)) as unknown as { duplicate: boolean; message: unknown }
    expect(ackAgain).toMatchObject({ duplicate: true, message: ack.message })
    // A resend whose body says something else (here a plain one: no reply, no @name) is answered with
    // the original as stored, its reply and mentions too. Found by the HTTP fuzz: the plain append
    // path answered a duplicate without them.
    const plainAgain = await send(ana, roomId, { clientId: byHttp.clientId, body: 'plain now' })
    expect(plainAgain.statusCode).toBe(200)
    expect(plainAgain.json().message).toEqual(created.json().message)
    const plainAck = (await sendFrame(socket, { type: 'send', roomId, clientId: byFrame.clientId, body: 'plain' })) as {
      message?: unknown
    }
    expect(plainAck).toMatchObject({ type: 'ack', duplicate: true, message: ack.message })
    await socket.close()
  })

  it('a reply pointing elsewhere is refused with target_not_found (or validation_failed), storing nothing', async () => {
    const { roomId, bens } = await roomWithMessages()
    const other = await roomWithMessages()
    expect((await operate(ana, roomId, react(1, '👍'))).statusCode).toBe(201) // seq 3: not a message
    const before = await snapshot()
    const socket = await connect(ctx.app, ana)
    const cases: Array<[Record<string, unknown>, ErrorCode, number]> = [
      [{ replyTo: 99 }, 'target_not_found', 404],
      [{ replyTo: 3 }, 'target_not_found', 404],
      [{ replyToClientId: other.anas }, 'target_not_found', 404], // hers, but another room's
      [{ replyToClientId: bens }, 'target_not_found', 404], // not hers
      [{ replyTo: 1, replyToClientId: randomUUID() }, 'validation_failed', 400],
      [{ replyTo: 0 }, 'validation_failed', 400],
      [{ replyTo: '1' }, 'validation_failed', 400],
      [{ replyToClientId: 'nope' }, 'validation_failed', 400],
      [{ replyToClientId: `${bens}\u0000` }, 'validation_failed', 400],
      [{ replyTo: null }, 'validation_failed', 400],
      // The server finds the mentions; a client cannot name them.
      [{ mentions: [ben.user.id] }, 'validation_failed', 400],
    ]
    for (const [fields, code, status] of cases) {
      const body = { clientId: randomUUID(), body: 'a reply', ...fields }
      expectError(await send(ana, roomId, body), status, code)
      const answer = await sendFrame(socket, { type: 'send', roomId, ...body })
      expect(answer, JSON.stringify(fields)).toMatchObject({ type: 'error', code })
      socket.send({ type: 'ping', id: socket.frames.length })
    }
    const self = randomUUID()
    expectError(
      await send(ana, roomId, { clientId: self, body: 'me', replyToClientId: self }),
      400,
      'validation_failed',
    )
    expect(await snapshot()).toEqual(before)
    await socket.close()
  })

  it('mentions: @names of room members become user ids, in order, once; others stay plain text', async () => {
    const { roomId } = await roomWithMessages()
    const outsider = cai.user.username
    const body = `hi @${ben.user.username.toUpperCase()} and @${outsider}, @nobody_here, mail ${ana.user.username}@example.com, @${ana.user.username} @${ben.user.username}`
    const sent = await send(ana, roomId, { clientId: randomUUID(), body })
    expect(sent.statusCode).toBe(201)
    const edited = await operate(ana, roomId, edit(3, `now only @${ana.user.username}`))
    expect(edited.json().event.mentions).toEqual([ana.user.id])
    const plain = await send(ana, roomId, { clientId: randomUUID(), body: `@${outsider} is not here` })
    expect(plain.statusCode).toBe(201)

    const events = await storedEvents(ana, roomId)
    expect(events[2]!.mentions).toEqual([ben.user.id, ana.user.id])
    expect(events[2]!.body).toBe(body)
    expect(events[3]!.mentions).toEqual([ana.user.id])
    expect(events[4]!.mentions).toBeUndefined()
    // Once cai joins, the same text mentions them.
    await joinRoom(cai, roomId)
    const later = await send(ana, roomId, { clientId: randomUUID(), body: `@${outsider} welcome` })
    expect(later.statusCode).toBe(201)
    expect((await storedEvents(ana, roomId)).at(-1)!.mentions).toEqual([cai.user.id])
  })

  it('mentions: at most mentionsMax members are recorded, the first mentioned', async () => {
    const roomId = await createRoom(ana)
    const db = ctx.database.db
    const prefix = `m${randomUUID().slice(0, 8)}`
    const names = Array.from({ length: LIMITS.mentionsMax + 5 }, (_, i) => `${prefix}_${i}`)
    const { rows } = await sql<{ id: string; username: string }>`
      INSERT INTO users (username, password_hash) SELECT unnest(${names}::text[]), 'x' RETURNING id, username`.execute(
      db,
    )
    await sql`
      INSERT INTO room_members (room_id, user_id, role)
      SELECT ${roomId}, unnest(${rows.map((r) => r.id)}::uuid[]), 'member'`.execute(db)
    const idOf = new Map(rows.map((r) => [r.username, r.id]))
    const body = names.map((name) => `@${name}`).join(' ')
    expect(body.length).toBeLessThanOrEqual(LIMITS.messageBodyMax)
    const sent = await send(ana, roomId, { clientId: randomUUID(), body })
    expect(sent.statusCode, sent.body).toBe(201)
    const [event] = await storedEvents(ana, roomId)
    expect(event!.mentions).toEqual(names.slice(0, LIMITS.mentionsMax).map((name) => idOf.get(name)))
  })
})
