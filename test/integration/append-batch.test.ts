import { randomUUID } from 'node:crypto'
import { sql } from 'kysely'
import { beforeAll, expect, it } from 'vitest'
import { createDatabase, type Database } from '../../server/db/database.ts'
import { Appender } from '../../server/messages/appender.ts'
import { LocalBus } from '../../server/realtime/bus.ts'
import { type Agent, signUp, useTestApp } from '../support/app.ts'
import { appendInOneBatch, appendRequest as write } from '../support/append.ts'
import { describeEachEngine, TEST_DATABASE_URL } from '../support/databases.ts'
import { createRoom, isGapFree, joinRoom, storedEvents } from '../support/ws.ts'

/**
 * Every outcome of `ferry_append_batch` in one batch, decided in queue order:
 * the common case is one INSERT per write (membership and dedupe checked by
 * it), the refusal probes run only for what it did not store, and the answers
 * and seqs are those the promises name (docs/PROTOCOL.md).
 */
describeEachEngine('append: one batch, every outcome', (engine) => {
  const ctx = useTestApp(engine)
  let alice: Agent
  let bob: Agent
  beforeAll(async () => {
    alice = await signUp(ctx.app)
    bob = await signUp(ctx.app)
  })

  const batch = (requests: Parameters<typeof appendInOneBatch>[1]) => appendInOneBatch(ctx.database.db, requests)

  it('answers created, duplicate, not_member, not_found and out_of_order in queue order, with gap-free seqs', async () => {
    const roomId = await createRoom(alice)
    await joinRoom(bob, roomId)
    const [bobsOld, first, second] = [randomUUID(), randomUUID(), randomUUID()]
    expect((await batch([write(bob, roomId, bobsOld)])).results[0]).toMatchObject({ ok: true, duplicate: false })
    expect((await bob.request('POST', `/api/rooms/${roomId}/leave`)).statusCode).toBe(204)

    const { results, created } = await batch([
      write(alice, roomId, first),
      write(alice, roomId, first), // earlier in this batch
      write(bob, roomId, randomUUID()), // left the room
      write(alice, randomUUID(), randomUUID()), // no such room
      write(bob, roomId, bobsOld), // stored while a member: dedupe is permanent
      write(alice, roomId, randomUUID(), randomUUID()), // predecessor never stored
      write(bob, roomId, randomUUID(), randomUUID()), // membership is decided before order
      write(alice, roomId, second, first),
    ])
    // Seqs 1 and 3 are bob's member.joined and member.left.
    expect(results.map((r) => (r.ok ? `${r.duplicate ? 'duplicate' : 'created'} ${r.event.seq}` : r.code))).toEqual([
      'created 4',
      'duplicate 4',
      'not_member',
      'not_found',
      'duplicate 2',
      'out_of_order',
      'not_member',
      'created 5',
    ])
    expect(created.map((e) => e.clientId)).toEqual([first, second])
    expect((await storedEvents(alice, roomId)).map((e) => [e.seq, e.kind, e.clientId])).toEqual([
      [1, 'member.joined', null],
      [2, 'message.created', bobsOld],
      [3, 'member.left', null],
      [4, 'message.created', first],
      [5, 'message.created', second],
    ])
    // The next batch continues the room's seq (last_seq moved once, to 5).
    const next = await batch([write(alice, roomId, randomUUID())])
    expect(next.results[0]).toMatchObject({ ok: true, event: { seq: 6 } })
  })

  it('a batch that stores fewer writes than it holds leaves last_seq at its last stored seq (small, one-room and many-room batches)', async () => {
    // The append may move last_seq before it knows what it stores (docs/DEVELOPING.md):
    // whatever it did not store must not leave a gap.
    const roomId = await createRoom(alice)
    const other = await createRoom(alice)
    await joinRoom(bob, roomId)
    expect((await bob.request('POST', `/api/rooms/${roomId}/leave`)).statusCode).toBe(204)
    const lastSeq = async (id: string) =>
      Number(
        (await ctx.database.db.selectFrom('rooms').select('last_seq').where('id', '=', id).executeTakeFirstOrThrow())
          .last_seq,
      )
    const outcomes = (r: Awaited<ReturnType<typeof batch>>) =>
      r.results.map((x) => (x.ok ? `${x.duplicate ? 'duplicate' : 'created'} ${x.event.seq}` : x.code))
    const kept = randomUUID()
    // Seqs 1 and 2 are bob's member.joined and member.left. Three writes, one room.
    expect(
      outcomes(await batch([write(alice, roomId, kept), write(bob, roomId, randomUUID()), write(alice, roomId, kept)])),
    ).toEqual(['created 3', 'not_member', 'duplicate 3'])
    expect(await lastSeq(roomId)).toBe(3)
    // Nothing stored at all: last_seq stays.
    expect(outcomes(await batch([write(alice, roomId, kept), write(bob, roomId, randomUUID())]))).toEqual([
      'duplicate 3',
      'not_member',
    ])
    expect(await lastSeq(roomId)).toBe(3)
    // Six writes of one room, two not stored, one in the middle.
    const six = await batch([
      write(alice, roomId, randomUUID()),
      write(alice, roomId, randomUUID(), randomUUID()),
      write(alice, roomId, randomUUID()),
      write(bob, roomId, randomUUID()),
      write(alice, roomId, randomUUID()),
      write(alice, roomId, randomUUID()),
    ])
    expect(outcomes(six)).toEqual(['created 4', 'out_of_order', 'created 5', 'not_member', 'created 6', 'created 7'])
    expect(await lastSeq(roomId)).toBe(7)
    // Six writes over two rooms (and one that does not exist), some refused in each.
    const mixed = await batch([
      write(alice, other, randomUUID()),
      write(bob, other, randomUUID()),
      write(alice, roomId, randomUUID()),
      write(alice, randomUUID(), randomUUID()),
      write(alice, other, randomUUID()),
      write(bob, roomId, randomUUID()),
    ])
    expect(outcomes(mixed)).toEqual(['created 1', 'not_member', 'created 8', 'not_found', 'created 2', 'not_member'])
    expect([await lastSeq(roomId), await lastSeq(other)]).toEqual([8, 2])
    expect(outcomes(await batch([write(alice, roomId, randomUUID()), write(alice, other, randomUUID())]))).toEqual([
      'created 9',
      'created 3',
    ])
    expect(
      isGapFree(
        (await storedEvents(alice, roomId)).map((e) => e.seq),
        1,
        9,
      ),
    ).toBe(true)
  })

  it('two appenders on two pools (two nodes) writing one room keep seqs gap-free and each clientId stored once', async () => {
    const roomId = await createRoom(alice)
    await joinRoom(bob, roomId)
    // PostgreSQL: a second pool on the same schema, as a second node would have; PGlite is one connection.
    let second: Database | undefined
    if (engine === 'postgres') {
      const { rows } = await sql<{ schema: string }>`SELECT current_schema() AS schema`.execute(ctx.database.db)
      second = await createDatabase({ databaseUrl: TEST_DATABASE_URL, schema: rows[0]!.schema, poolSize: 4 })
    }
    try {
      const nodes = [ctx.database.db, (second ?? ctx.database).db].map(
        (db) => new Appender(db, new LocalBus(), { lanes: 2, maxBatch: 7 }),
      )
      const writes = Array.from({ length: 60 }, (_, i) => write(i % 2 ? alice : bob, roomId, randomUUID()))
      // Every write is sent to both nodes (a resend that reached the other node), interleaved.
      const answers = await Promise.all(writes.flatMap((request) => nodes.map((node) => node.append(request))))
      const seqs = answers.map((answer) => (answer.ok ? answer.event.seq : Number.NaN))
      for (let i = 0; i < writes.length; i++) {
        // Both nodes answer one write with the same event: one created, the other its duplicate.
        expect(seqs[2 * i]).toBe(seqs[2 * i + 1])
      }
      // Seq 1 is bob's member.joined.
      const stored = await storedEvents(alice, roomId)
      expect(stored).toHaveLength(writes.length + 1)
      expect(
        isGapFree(
          stored.map((e) => e.seq),
          1,
          writes.length + 1,
        ),
      ).toBe(true)
      const messages = stored.filter((e) => e.kind === 'message.created')
      expect(new Set(messages.map((e) => e.clientId))).toEqual(new Set(writes.map((w) => w.clientId)))
    } finally {
      await second?.close()
    }
  })

  it('room_events has no foreign key (issue 14); the append still stores nothing for a room that is gone', async () => {
    // The decision: the append function and changeRoom guard what the four
    // foreign keys guarded, at a quarter to a third less database CPU per write
    // (migration 2026-12-07T15-00-00, docs/BENCHMARKS.md).
    const { rows } = await sql<{ conname: string }>`
      SELECT conname FROM pg_constraint WHERE conrelid = 'room_events'::regclass AND contype = 'f'`.execute(
      ctx.database.db,
    )
    expect(rows).toEqual([])
    const roomId = await createRoom(alice)
    expect((await batch([write(alice, roomId, randomUUID())])).results[0]).toMatchObject({ ok: true })
    // Alone, the owner leaving deletes the room, and its log with it.
    expect((await alice.request('POST', `/api/rooms/${roomId}/leave`)).statusCode).toBe(204)
    const late = await batch([write(alice, roomId, randomUUID())])
    expect(late.results[0]).toMatchObject({ ok: false, code: 'not_found' })
    const left = await ctx.database.db.selectFrom('room_events').select('seq').where('room_id', '=', roomId).execute()
    expect(left).toEqual([])
  })
})
