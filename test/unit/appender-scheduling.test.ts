import type { Kysely } from 'kysely'
import { describe, expect, it } from 'vitest'
import type { DB } from '../../server/db/schema.ts'
import type { AppendRequest, AppendResult } from '../../server/messages/appender.ts'
import { Appender } from '../../server/messages/appender.ts'
import { LocalBus } from '../../server/realtime/bus.ts'
import type { RoomEvent } from '../../shared/schemas.ts'

/**
 * Issue 14: how the appender starts transactions. A write may start as soon as fewer than
 * `lanes` transactions are under way and its room has none under way; writes of one room keep
 * their queue order, and a room's exclusive task runs with nothing else of that room under way.
 * The database is a gate (`commitBatch`), so what runs when is observed, not timed.
 */
function gatedAppender(options: { lanes: number; maxBatch?: number }) {
  const started: string[][] = []
  const release: Array<() => void> = []
  const appender = new Appender({} as Kysely<DB>, new LocalBus(), {
    ...options,
    commitBatch: async (requests: readonly AppendRequest[]) => {
      started.push(requests.map((r) => r.body ?? ''))
      await new Promise<void>((resolve) => release.push(resolve))
      const results: AppendResult[] = requests.map((r, i) => ({
        ok: true,
        duplicate: false,
        event: { roomId: r.roomId, seq: i + 1 } as RoomEvent,
      }))
      return { results, created: [] }
    },
  })
  const settle = () => new Promise((resolve) => setImmediate(resolve))
  const next = async () => {
    await settle()
    release.shift()!()
    await settle()
  }
  return { appender, started, next, settle }
}

const write = (roomId: string, body: string): AppendRequest => ({
  roomId,
  authorId: '00000000-0000-4000-8000-000000000001',
  authorName: 'ana',
  clientId: crypto.randomUUID(),
  body,
})

describe('Appender scheduling', () => {
  it('starts a write of another room while one room’s batch is under way, whichever rooms they are', async () => {
    const { appender, started, next, settle } = gatedAppender({ lanes: 2 })
    // Rooms are no longer tied to a lane: under the old hash lanes some pairs waited for each other.
    for (let i = 0; i < 20; i++) {
      const a = appender.append(write(crypto.randomUUID(), `a${i}`))
      const b = appender.append(write(crypto.randomUUID(), `b${i}`))
      await settle()
      expect(started.slice(-2)).toEqual([[`a${i}`], [`b${i}`]])
      await next()
      await next()
      await Promise.all([a, b])
    }
  })

  it('never more than `lanes` transactions at once; what waits goes in the next batch', async () => {
    const { appender, started, next, settle } = gatedAppender({ lanes: 2 })
    const answers = ['r1', 'r2', 'r3', 'r4', 'r3'].map((room, i) => appender.append(write(room, `w${i}`)))
    await settle()
    expect(started).toEqual([['w0'], ['w1']])
    await next() // a slot frees: everything waiting goes in one batch, each room's writes in their order
    expect(started.at(-1)).toEqual(['w2', 'w4', 'w3'])
    expect(started).toHaveLength(3)
    await next()
    await next()
    await Promise.all(answers)
    await appender.drain()
  })

  it('a room’s writes wait for its batch under way and keep their order; other rooms pass them', async () => {
    const { appender, started, next, settle } = gatedAppender({ lanes: 2 })
    const answers = [appender.append(write('hot', 'h0'))]
    await settle()
    answers.push(appender.append(write('hot', 'h1')), appender.append(write('hot', 'h2')))
    answers.push(appender.append(write('cold', 'c0')))
    await settle()
    expect(started).toEqual([['h0'], ['c0']])
    await next() // h0 done: h1 and h2 go together, in order
    expect(started.at(-1)).toEqual(['h1', 'h2'])
    await next()
    await next()
    await Promise.all(answers)
  })

  it('a room’s exclusive task waits for the room’s batch under way, and the room’s later writes wait for it', async () => {
    const { appender, started, next, settle } = gatedAppender({ lanes: 3 })
    const order: string[] = []
    const answers = [appender.append(write('r', 'before'))]
    await settle()
    const task = appender.exclusive('r', async () => {
      order.push('task')
      return { result: 'done', created: [] }
    })
    answers.push(appender.append(write('r', 'after')))
    answers.push(appender.append(write('other', 'elsewhere')))
    await settle()
    expect(started).toEqual([['before'], ['elsewhere']])
    expect(order).toEqual([])
    await next() // 'before' commits: the task runs, then 'after'
    await expect(task).resolves.toBe('done')
    await settle()
    expect(started.at(-1)).toEqual(['after'])
    await next()
    await next()
    await Promise.all(answers)
    await appender.drain()
  })
})
