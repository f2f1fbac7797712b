import { describe, expect, it } from 'vitest'
import { type Attempt, PushQueue } from '../../server/push/push-queue.ts'

interface Job {
  name: string
  mention: boolean
  key?: string
  order?: number
}

const options = { concurrency: 1, max: 3, maxAttempts: 3, retryBaseMs: 1, retryMaxMs: 5, ratePerSecond: 0 }

/** A worker that holds each job until released, recording the order jobs start in. */
function gatedWorker() {
  const started: string[] = []
  const release: Array<(attempt: Attempt) => void> = []
  const worker = (job: Job) =>
    new Promise<Attempt>((resolve) => {
      started.push(job.name)
      release.push(resolve)
    })
  const next = async (attempt: Attempt = { retry: false }) => {
    while (release.length === 0) await new Promise((r) => setTimeout(r, 1))
    release.shift()!(attempt)
  }
  return { started, worker, next }
}

describe('PushQueue', () => {
  it('runs mentions first, and when full drops the oldest non-mention (counted)', async () => {
    const { started, worker, next } = gatedWorker()
    const queue = new PushQueue<Job>(worker, options, (e) => {
      throw e
    })
    queue.enqueue({ name: 'busy', mention: false }) // runs at once, holding the only slot
    queue.enqueue({ name: 'a', mention: false })
    queue.enqueue({ name: 'b', mention: false })
    queue.enqueue({ name: 'm1', mention: true })
    queue.enqueue({ name: 'm2', mention: true }) // full (3 waiting): 'a' goes
    expect(queue.stats).toMatchObject({ enqueued: 5, dropped: 1 })
    for (let i = 0; i < 4; i++) await next()
    await queue.idle()
    expect(started).toEqual(['busy', 'm1', 'm2', 'b'])
  })

  it('a full queue of mentions drops an arriving non-mention, and the oldest mention for a new one', async () => {
    const { started, worker, next } = gatedWorker()
    const queue = new PushQueue<Job>(worker, options, () => {})
    queue.enqueue({ name: 'busy', mention: false })
    for (const name of ['m1', 'm2', 'm3']) queue.enqueue({ name, mention: true })
    queue.enqueue({ name: 'plain', mention: false })
    queue.enqueue({ name: 'm4', mention: true })
    expect(queue.stats.dropped).toBe(2)
    for (let i = 0; i < 4; i++) await next()
    await queue.idle()
    expect(started).toEqual(['busy', 'm2', 'm3', 'm4'])
  })

  it('retries up to maxAttempts, then counts the job exhausted; a worker that throws is reported, not retried', async () => {
    let tries = 0
    const errors: unknown[] = []
    const queue = new PushQueue<Job>(
      async (job) => {
        if (job.name === 'throws') throw new Error('boom')
        tries++
        return { retry: true, afterMs: 1 }
      },
      options,
      (error) => errors.push(error),
    )
    queue.enqueue({ name: 'flaky', mention: false })
    queue.enqueue({ name: 'throws', mention: false })
    await queue.idle()
    expect(tries).toBe(3)
    expect(queue.stats).toMatchObject({ retried: 2, exhausted: 1 })
    expect(errors).toHaveLength(1)
  })

  it('close aborts what runs and drops what waits', async () => {
    let aborted = false
    const queue = new PushQueue<Job>(
      (_job, signal) =>
        new Promise<Attempt>((resolve) => {
          signal.addEventListener('abort', () => {
            aborted = true
            resolve({ retry: true })
          })
        }),
      options,
      () => {},
    )
    queue.enqueue({ name: 'hangs', mention: false })
    queue.enqueue({ name: 'waits', mention: false })
    await new Promise((resolve) => setImmediate(resolve)) // the first job has started
    const idle = queue.idle()
    queue.close()
    await idle
    expect(aborted).toBe(true)
    expect(queue.size).toBe(0)
    queue.enqueue({ name: 'late', mention: false })
    expect(queue.size).toBe(0)
  })

  it('coalesces a waiting job with a newer one of the same key, never losing a mention', async () => {
    const { started, worker, next } = gatedWorker()
    const queue = new PushQueue<Job>(worker, { ...options, max: 10 }, () => {})
    queue.enqueue({ name: 'busy', mention: false })
    queue.enqueue({ name: 'room1 a', mention: false, key: 'dev:room1' })
    queue.enqueue({ name: 'room2 a', mention: false, key: 'dev:room2' })
    queue.enqueue({ name: 'room1 b', mention: false, key: 'dev:room1' }) // replaces 'room1 a' in its place
    queue.enqueue({ name: 'room2 @', mention: true, key: 'dev:room2' }) // replaces and moves to the mentions
    queue.enqueue({ name: 'room2 c', mention: false, key: 'dev:room2' }) // a plain one never replaces a mention
    expect(queue.stats.coalesced).toBe(2)
    for (let i = 0; i < 4; i++) await next()
    await queue.idle()
    expect(started).toEqual(['busy', 'room2 @', 'room1 b', 'room2 c'])
  })

  it('drops a retry once a newer job of its key has started (the device must not end on the older message)', async () => {
    const { started, worker, next } = gatedWorker()
    const queue = new PushQueue<Job>(worker, { ...options, concurrency: 2, max: 10, retryBaseMs: 20 }, () => {})
    queue.enqueue({ name: 'seq 1', mention: false, key: 'dev:room1', order: 1 })
    await next({ retry: true }) // the push service failed: a retry waits ~10–20 ms
    queue.enqueue({ name: 'seq 2', mention: false, key: 'dev:room1', order: 2 })
    queue.enqueue({ name: 'other room', mention: false, key: 'dev:room2', order: 1 })
    await next()
    await next()
    await queue.idle()
    expect(started).toEqual(['seq 1', 'seq 2', 'other room'])
    expect(queue.stats).toMatchObject({ retried: 1, superseded: 1 })
  })

  // The recipients of one lookup come back in no particular order: seq 7's job may be queued before seq 6's.
  // The device must still end on seq 7 (a CI run once ended on 6: the older job replaced the newer one).
  it('an older job never replaces a newer waiting one of its key, nor follows a newer one that started', async () => {
    const { started, worker, next } = gatedWorker()
    const queue = new PushQueue<Job>(worker, { ...options, max: 10 }, () => {})
    queue.enqueue({ name: 'busy', mention: false })
    queue.enqueue({ name: 'seq 7', mention: false, key: 'dev:room1', order: 7 })
    queue.enqueue({ name: 'seq 6', mention: false, key: 'dev:room1', order: 6 }) // older: dropped, 7 stays
    await next() // 'busy' ends, 'seq 7' starts
    queue.enqueue({ name: 'seq 5', mention: false, key: 'dev:room1', order: 5 }) // older than the one under way
    await next()
    await queue.idle()
    expect(queue.size).toBe(0)
    expect(started).toEqual(['busy', 'seq 7'])
    expect(queue.stats).toMatchObject({ coalesced: 1, superseded: 1 })
  })

  it('an older mention is still delivered, before the newer plain job of its key that waits', async () => {
    const { started, worker, next } = gatedWorker()
    const queue = new PushQueue<Job>(worker, { ...options, max: 10 }, () => {})
    queue.enqueue({ name: 'busy', mention: false })
    queue.enqueue({ name: 'seq 7', mention: false, key: 'dev:room1', order: 7 })
    queue.enqueue({ name: 'seq 6 @', mention: true, key: 'dev:room1', order: 6 }) // must neither replace 7 nor be lost
    for (let i = 0; i < 3; i++) await next()
    await queue.idle()
    expect(started).toEqual(['busy', 'seq 6 @', 'seq 7'])
    expect(queue.stats.coalesced).toBe(0)
  })

  it('starts at most ratePerSecond jobs at once (a one-second burst), then paces the rest', async () => {
    const started: string[] = []
    const queue = new PushQueue<Job>(
      async (job) => {
        started.push(job.name)
        return { retry: false }
      },
      { ...options, concurrency: 10, max: 10, ratePerSecond: 2 },
      () => {},
    )
    for (const name of ['a', 'b', 'c']) queue.enqueue({ name, mention: false })
    await new Promise((resolve) => setImmediate(resolve))
    await new Promise((resolve) => setImmediate(resolve))
    expect(started).toEqual(['a', 'b'])
    await queue.idle()
    expect(started).toEqual(['a', 'b', 'c'])
  })
})
