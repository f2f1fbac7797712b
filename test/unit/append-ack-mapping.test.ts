import { describe, expect, it } from 'vitest'
import { inPlannedOrder } from '../../server/messages/append-batch.ts'

/** `INSERT … RETURNING` promises no row order: acks must follow the key, not the index. */
describe('inPlannedOrder', () => {
  const room = (n: number) => `00000000-0000-4000-8000-00000000000${n}`
  const planned = [
    { room_id: room(1), seq: 7 },
    { room_id: room(2), seq: 1 },
    { room_id: room(1), seq: 8 },
    { room_id: room(3), seq: 41 },
  ]
  // As the database returns them: seq as bigint text, in some other order.
  const returned = (order: number[]) =>
    order.map((i) => ({ room_id: planned[i]!.room_id, seq: String(planned[i]!.seq), body: `write ${i}` }))

  it('pairs every returned row with the write it stores, whatever order the rows come in', () => {
    for (const order of [
      [3, 2, 1, 0],
      [1, 0, 3, 2],
      [2, 3, 0, 1],
      [0, 1, 2, 3],
    ]) {
      expect(inPlannedOrder(planned, returned(order)).map((row) => row.body)).toEqual([
        'write 0',
        'write 1',
        'write 2',
        'write 3',
      ])
    }
  })

  it('fails loudly when a planned row was not returned, rather than acking the wrong write', () => {
    expect(() => inPlannedOrder(planned, returned([0, 1, 2]))).toThrow(/not returned/)
  })
})
