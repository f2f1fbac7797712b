import { describe, expect, it, vi } from 'vitest'
import { newestEntries } from '../../client/db/messages.ts'
import { enqueue, listOutbox, markFailed, retry } from '../../client/outbox/store.ts'
import { flushOutboxOverHttp } from '../../client/sw/flush.ts'
import type { TabMessage } from '../../client/tabs/messages.ts'
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

  it('tells the open tabs what it settled or refused: a tab open meanwhile (one it did not see, or opened during the pass) shows it', async () => {
    const db = await freshDb()
    const a1 = await enqueue(db, ROOM_A, 'a1')
    const bad = await enqueue(db, ROOM_B, 'refused')
    const fakeFetch = (async (url: string, init: RequestInit) => {
      const body = JSON.parse(String(init.body))
      if (body.clientId === bad.clientId) return json(403, { error: { code: 'not_member', message: 'Join first' } })
      return json(201, { message: message(url.split('/')[3]!, 7, body.clientId, body.body) })
    }) as typeof fetch
    const told: TabMessage[] = []
    await flushOutboxOverHttp(
      db,
      fakeFetch,
      () => Date.now(),
      (m) => told.push(m),
    )
    expect(told.filter((m) => m.type === 'events')).toEqual([
      {
        type: 'events',
        roomId: ROOM_A,
        events: [expect.objectContaining({ seq: 7, clientId: a1.clientId, body: 'a1' })],
      },
    ])
    // The outbox changed: a tab reads it again (the settled one gone, the refused one failed), after the last change.
    expect(told.at(-1)).toEqual({ type: 'outbox-changed' })
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

  it('names the nearest earlier message of the room still waiting in afterClientId (none once it is stored)', async () => {
    const db = await freshDb()
    const a0 = await enqueue(db, ROOM_A, 'a0')
    await markFailed(db, a0.clientId, { code: 'not_member', message: 'Join first' })
    await enqueue(db, ROOM_A, 'a1')
    await enqueue(db, ROOM_A, 'a2')
    const posted: Array<[string, string | undefined]> = []
    let seq = 0
    const fakeFetch = (async (_url: string, init: RequestInit) => {
      const body = JSON.parse(String(init.body))
      posted.push([body.body, body.afterClientId])
      // While a1 is on its way, a tab puts the failed a0 back in line: a2 must come after it.
      if (body.body === 'a1') await retry(db, a0.clientId)
      return json(201, { message: message(ROOM_A, ++seq, body.clientId, body.body) })
    }) as typeof fetch
    expect(await flushOutboxOverHttp(db, fakeFetch)).toBe(2)
    expect(posted).toEqual([
      ['a1', undefined],
      ['a2', a0.clientId],
    ])
  })

  it('409 out_of_order holds back its room (order kept) and unmarks it; other rooms go on; retried later', async () => {
    const db = await freshDb()
    const a1 = await enqueue(db, ROOM_A, 'a1')
    await enqueue(db, ROOM_A, 'a2')
    await enqueue(db, ROOM_B, 'b1')
    const posted: string[] = []
    const fakeFetch = (async (_url: string, init: RequestInit) => {
      const body = JSON.parse(String(init.body))
      posted.push(body.body)
      if (body.clientId === a1.clientId) return json(409, { error: { code: 'out_of_order', message: 'after x' } })
      return json(201, { message: message(ROOM_B, 1, body.clientId, body.body) })
    }) as typeof fetch
    await expect(flushOutboxOverHttp(db, fakeFetch)).rejects.toThrow()
    expect(posted).toEqual(['a1', 'b1'])
    const left = await listOutbox(db)
    expect(left.map((i) => [i.body, i.state, i.sentAt])).toEqual([
      ['a1', 'waiting', undefined],
      ['a2', 'waiting', undefined],
    ])
  })

  it('503 overloaded (or 429) stops the whole pass: the same answer would come for every room', async () => {
    const db = await freshDb()
    await enqueue(db, ROOM_A, 'a1')
    await enqueue(db, ROOM_B, 'b1')
    const posted: string[] = []
    const fakeFetch = (async (_url: string, init: RequestInit) => {
      posted.push(JSON.parse(String(init.body)).body)
      return json(503, { error: { code: 'overloaded', message: 'Busy' } })
    }) as typeof fetch
    await expect(flushOutboxOverHttp(db, fakeFetch)).rejects.toThrow()
    expect(posted).toEqual(['a1'])
    expect((await listOutbox(db)).map((i) => [i.body, i.sentAt])).toEqual([
      ['a1', undefined],
      ['b1', undefined],
    ])
  })

  it('keeps the sent mark when the outcome is unknown (no answer, or not a Ferry answer)', async () => {
    const db = await freshDb()
    await enqueue(db, ROOM_A, 'a1')
    await enqueue(db, ROOM_B, 'b1')
    const fakeFetch = (async (url: string) => {
      if (url.includes(ROOM_A)) return new Response('<html>Bad gateway</html>', { status: 502 })
      throw new TypeError('Failed to fetch')
    }) as typeof fetch
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined)
    await expect(flushOutboxOverHttp(db, fakeFetch, () => 42)).rejects.toThrow('Failed to fetch')
    expect(warn).toHaveBeenCalledTimes(2)
    warn.mockRestore()
    expect((await listOutbox(db)).map((i) => [i.body, i.sentAt])).toEqual([
      ['a1', 42],
      ['b1', 42],
    ])
  })
})
