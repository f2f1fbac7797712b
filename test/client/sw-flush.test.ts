import { describe, expect, it } from 'vitest'
import { newestEntries } from '../../client/db/messages.ts'
import { enqueue, listOutbox } from '../../client/outbox/store.ts'
import { flushOutboxOverHttp } from '../../client/sw/flush.ts'
import { freshDb, message, ROOM_A, ROOM_B } from './support.ts'

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } })
}

describe('background sync flush over HTTP', () => {
  it('posts each waiting message with its clientId, in order, and settles it', async () => {
    const db = await freshDb()
    await enqueue(db, ROOM_A, 'a1')
    await enqueue(db, ROOM_B, 'b1')
    await enqueue(db, ROOM_A, 'a2')
    const calls: Array<{ url: string; body: { clientId: string; body: string } }> = []
    const seqs: Record<string, number> = {}
    const fakeFetch = (async (url: string, init: RequestInit) => {
      const body = JSON.parse(String(init.body))
      calls.push({ url, body })
      const roomId = url.split('/')[3]!
      seqs[roomId] = (seqs[roomId] ?? 0) + 1
      return json(201, { message: message(roomId, seqs[roomId]!, body.clientId, body.body) })
    }) as typeof fetch
    expect(await flushOutboxOverHttp(db, fakeFetch)).toBe(3)
    expect(calls.map((c) => c.body.body)).toEqual(['a1', 'b1', 'a2'])
    expect(calls[0]!.url).toBe(`/api/rooms/${ROOM_A}/messages`)
    expect(await listOutbox(db)).toHaveLength(0)
    expect((await newestEntries(db, ROOM_A, 5)).map((e) => e.body)).toEqual(['a1', 'a2'])
  })

  it('marks refused messages failed, holds back a room on transient errors and asks to be retried', async () => {
    const db = await freshDb()
    const bad = await enqueue(db, ROOM_A, 'refused')
    await enqueue(db, ROOM_A, 'fine')
    await enqueue(db, ROOM_B, 'b1')
    await enqueue(db, ROOM_B, 'b2')
    const posted: string[] = []
    const fakeFetch = (async (_url: string, init: RequestInit) => {
      const body = JSON.parse(String(init.body))
      posted.push(body.body)
      if (body.clientId === bad.clientId) return json(403, { error: { code: 'forbidden', message: 'Not a member' } })
      if (body.body === 'b1') return json(429, { error: { code: 'rate_limited', message: 'Slow down' } })
      return json(201, { message: message(ROOM_A, 1, body.clientId, body.body) })
    }) as typeof fetch
    await expect(flushOutboxOverHttp(db, fakeFetch)).rejects.toThrow()
    expect(posted).toEqual(['refused', 'fine', 'b1'])
    const left = await listOutbox(db)
    expect(left.map((i) => [i.body, i.state])).toEqual([
      ['refused', 'failed'],
      ['b1', 'waiting'],
      ['b2', 'waiting'],
    ])
  })
})
