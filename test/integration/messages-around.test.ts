/**
 * `GET /api/rooms/:roomId/messages?around=seq` (issue 12, jump to a message): the page around a
 * seq, each message with its folded state exactly as the `before=` page gives it, and whether there
 * is more on each side.
 */
import { randomUUID } from 'node:crypto'
import { expect, it } from 'vitest'
import type { Message } from '../../shared/schemas.ts'
import { createRoom, expectError, join, sendMessage } from '../support/api.ts'
import { type Agent, signUp, useTestApp } from '../support/app.ts'
import { describeEachEngine } from '../support/databases.ts'

interface Page {
  messages: Message[]
  hasMore: boolean
  hasNewer?: boolean
}

async function page(agent: Agent, roomId: string, query: string): Promise<Page> {
  const response = await agent.request('GET', `/api/rooms/${roomId}/messages${query}`)
  expect(response.statusCode, response.body).toBe(200)
  return response.json() as Page
}

const seqs = (p: Page) => p.messages.map((m) => m.seq)
const down = (from: number, to: number) => Array.from({ length: from - to + 1 }, (_, i) => from - i)

async function operate(agent: Agent, roomId: string, operation: Record<string, unknown>): Promise<number> {
  const response = await agent.request('POST', `/api/rooms/${roomId}/operations`, {
    clientId: randomUUID(),
    ...operation,
  })
  expect(response.statusCode, response.body).toBe(201)
  return response.json().event.seq
}

describeEachEngine('messages around a seq', (engine) => {
  const ctx = useTestApp(engine)

  /** A public room of `count` messages, seqs 1..count. */
  async function roomOf(count: number) {
    const alice = await signUp(ctx.app)
    const room = await createRoom(alice)
    for (let i = 1; i <= count; i++) await sendMessage(alice, room.id, `message ${i}`)
    return { alice, room }
  }

  it('answers the message, about half the page older and the rest newer, newest first, with more on both sides', async () => {
    const { alice, room } = await roomOf(30)
    const around = await page(alice, room.id, '?around=15&limit=10')
    expect(seqs(around)).toEqual(down(20, 11))
    expect(around.hasMore).toBe(true)
    expect(around.hasNewer).toBe(true)
    expect(around.messages.find((m) => m.seq === 15)?.body).toBe('message 15')
    // An odd limit: the anchor and half of the rest older.
    expect(seqs(await page(alice, room.id, '?around=15&limit=5'))).toEqual(down(17, 13))
    expect(seqs(await page(alice, room.id, '?around=15&limit=1'))).toEqual([15])
  })

  it('near either end the other side fills the page, and says there is no more there', async () => {
    const { alice, room } = await roomOf(30)
    const nearTop = await page(alice, room.id, '?around=29&limit=10')
    expect(seqs(nearTop)).toEqual(down(30, 21))
    expect(nearTop).toMatchObject({ hasMore: true, hasNewer: false })
    const nearBottom = await page(alice, room.id, '?around=2&limit=10')
    expect(seqs(nearBottom)).toEqual(down(10, 1))
    expect(nearBottom).toMatchObject({ hasMore: false, hasNewer: true })
    const whole = await page(alice, room.id, '?around=12&limit=100')
    expect(seqs(whole)).toEqual(down(30, 1))
    expect(whole).toMatchObject({ hasMore: false, hasNewer: false })
  })

  it('beyond the last seq answers the newest page; 0 the oldest; an empty room nothing', async () => {
    const { alice, room } = await roomOf(12)
    const beyond = await page(alice, room.id, '?around=1000&limit=3')
    expect(seqs(beyond)).toEqual([12, 11, 10])
    expect(beyond).toMatchObject({ hasMore: true, hasNewer: false })
    const zero = await page(alice, room.id, '?around=0&limit=3')
    expect(seqs(zero)).toEqual([3, 2, 1])
    expect(zero).toMatchObject({ hasMore: false, hasNewer: true })
    const empty = await createRoom(alice)
    expect(await page(alice, empty.id, '?around=5')).toEqual({ messages: [], hasMore: false, hasNewer: false })
  })

  it('gives each message its folded current state exactly as the before= page does; a non-message seq centres on the message below it', async () => {
    const { alice, room } = await roomOf(10)
    const bob = await signUp(ctx.app)
    await join(bob, room.id)
    const edit = await operate(alice, room.id, { type: 'edit', targetSeq: 5, body: 'message 5, edited' })
    await operate(bob, room.id, { type: 'react', targetSeq: 5, emoji: '👍', action: 'add' })
    await operate(alice, room.id, { type: 'delete', targetSeq: 6 })
    await sendMessage(bob, room.id, 'after the changes')

    const around = await page(alice, room.id, '?around=5&limit=6')
    const before = await page(alice, room.id, '?before=9&limit=6')
    expect(seqs(around)).toEqual(down(8, 3))
    expect(around.messages).toEqual(before.messages)
    const five = around.messages.find((m) => m.seq === 5)!
    expect(five.state).toMatchObject({ body: 'message 5, edited', edited: { seq: edit } })
    expect(five.state?.reactions).toEqual([
      { emoji: '👍', holders: [{ userId: bob.user.id, seq: expect.any(Number) }] },
    ])
    expect(around.messages.find((m) => m.seq === 6)?.state).toMatchObject({ body: null, deleted: { seq: edit + 2 } })

    // The edit's seq is no message: the page centres on message 10, the nearest one below it.
    const atEdit = await page(alice, room.id, `?around=${edit}&limit=3`)
    expect(seqs(atEdit)).toEqual([edit + 3, 10, 9])
    expect(atEdit).toMatchObject({ hasMore: true, hasNewer: false })
  })

  it('leaves the before= answer as it was: no hasNewer', async () => {
    const { alice, room } = await roomOf(4)
    expect(Object.keys(await page(alice, room.id, '?before=3')).sort()).toEqual(['hasMore', 'messages'])
    expect(Object.keys(await page(alice, room.id, '?limit=2')).sort()).toEqual(['hasMore', 'messages'])
  })

  it('refuses around with before, and bad values, as validation; changes nothing', async () => {
    const { alice, room } = await roomOf(3)
    for (const query of [
      '?around=2&before=3',
      '?before=3&around=2',
      '?around=-1',
      '?around=x',
      '?around=1.5',
      '?around=2&limit=0',
      '?around=2&limit=101',
      '?around=99999999999999999999',
    ]) {
      const response = await alice.request('GET', `/api/rooms/${room.id}/messages${query}`)
      expectError(response, 400, 'validation_failed')
    }
    expect(seqs(await page(alice, room.id, ''))).toEqual([3, 2, 1])
  })

  it("authz as the before= page: another's private room is not found, signed out is unauthorized", async () => {
    const { alice } = await roomOf(0)
    const secret = await createRoom(alice, 'private')
    await sendMessage(alice, secret.id, 'secret')
    const mallory = await signUp(ctx.app)
    expectError(await mallory.request('GET', `/api/rooms/${secret.id}/messages?around=1`), 404, 'not_found')
    expectError(await mallory.request('GET', `/api/rooms/${secret.id}/messages?before=2`), 404, 'not_found')
    expectError(await mallory.request('GET', `/api/rooms/${randomUUID()}/messages?around=1`), 404, 'not_found')
    const response = await ctx.app.inject({ method: 'GET', url: `/api/rooms/${secret.id}/messages?around=1` })
    expectError(response, 401, 'unauthorized')
    expect(seqs(await page(alice, secret.id, '?around=1'))).toEqual([1])
  })
})
