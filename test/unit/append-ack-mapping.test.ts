import { describe, expect, it } from 'vitest'
import { type AppendRequest, type AppendRow, decide } from '../../server/messages/append-batch.ts'

/** The database's rows come back in some order: each write's answer follows its idx, never its position. */
describe('decide: answers from ferry_append_batch rows', () => {
  const room = (n: number) => `00000000-0000-4000-8000-00000000000${n}`
  const author = '00000000-0000-4000-8000-0000000000aa'
  const client = (n: number) => `00000000-0000-4000-8000-0000000001${n}0`
  const requests: AppendRequest[] = [0, 1, 2, 3].map((i) => ({
    roomId: room(i % 2),
    authorId: author,
    authorName: 'ada',
    clientId: client(i),
    body: `write ${i}`,
    ...(i === 3 ? { afterClientId: client(9) } : {}),
  }))
  const createdAt = new Date('2026-11-23T10:00:00Z')
  const row = (idx: number, outcome: AppendRow['outcome'], seq?: number): AppendRow => ({
    idx,
    outcome,
    seq: seq === undefined ? null : String(seq),
    kind: seq === undefined ? null : 'message.created',
    client_id: seq === undefined ? null : client(idx),
    body: seq === undefined ? null : `write ${idx}`,
    target_seq: null,
    reaction: null,
    created_at: seq === undefined ? null : createdAt,
  })
  const rows = [row(0, 'created', 7), row(1, 'duplicate', 3), row(2, 'not_member'), row(3, 'out_of_order')]

  it('pairs every row with its write whatever order the rows come in; created events in queue order', () => {
    for (const order of [
      [3, 2, 1, 0],
      [1, 0, 3, 2],
      [0, 1, 2, 3],
    ]) {
      const { results, created } = decide(
        requests,
        order.map((i) => rows[i]!),
      )
      expect(results[0]).toMatchObject({
        ok: true,
        duplicate: false,
        event: { seq: 7, body: 'write 0', authorName: 'ada' },
      })
      expect(results[1]).toMatchObject({ ok: true, duplicate: true, event: { seq: 3, roomId: room(1) } })
      expect(results[2]).toMatchObject({ ok: false, code: 'not_member' })
      expect(results[3]).toMatchObject({ ok: false, code: 'out_of_order' })
      expect(created.map((e) => e.seq)).toEqual([7])
    }
  })

  it("fails loudly when a write has no row, rather than answer it with another write's outcome", () => {
    expect(() => decide(requests, rows.slice(0, 3))).toThrow(/returned no row/)
  })
})
