import { describe, expect, it } from 'vitest'
import { FrameLimits, TokenBucket } from '../../server/realtime/frame-limits.ts'
import { TaskQueue } from '../../server/realtime/task-queue.ts'
import { LIMITS } from '../../shared/limits.ts'

/** A clock the test moves by hand. */
function manualClock() {
  let now = 1_000
  return {
    now: () => now,
    advance: (ms: number) => {
      now += ms
    },
  }
}

describe('TokenBucket', () => {
  it('gives the burst at once, then says exactly how long until the next token', () => {
    const clock = manualClock()
    const bucket = new TokenBucket(10, 3, clock.now)
    for (let i = 0; i < 3; i++) {
      expect(bucket.wait(1)).toBe(0)
      bucket.take(1)
    }
    expect(bucket.wait(1)).toBe(100)
    clock.advance(40)
    expect(bucket.wait(1)).toBe(60)
    clock.advance(60)
    expect(bucket.wait(1)).toBe(0)
  })

  it('weighs a cost, refills no further than the burst, and treats a cost above the burst as a full bucket', () => {
    const clock = manualClock()
    const bucket = new TokenBucket(50, 200, clock.now)
    bucket.take(150)
    expect(bucket.wait(100)).toBe(1000)
    clock.advance(60_000)
    expect(bucket.full).toBe(true)
    expect(bucket.wait(10_000)).toBe(0)
    bucket.take(10_000)
    expect(bucket.wait(1)).toBe(20)
  })
})

describe('FrameLimits', () => {
  it('admits a frame only when every bucket has the tokens, and then takes from all of them', () => {
    const clock = manualClock()
    const limits = new FrameLimits(clock.now)
    const socket = limits.socketBucket()
    const roomsBurst = LIMITS.wsSubscribeRoomsBurst
    // Ten subscribes of 200 rooms spend the user's room budget; the eleventh is refused and takes nothing.
    for (let i = 0; i < roomsBurst / 200; i++) expect(limits.admit(socket, 'u1', 200)).toBe(0)
    const retry = limits.admit(socket, 'u1', 200)
    expect(retry).toBe(Math.ceil((200 * 1000) / LIMITS.wsSubscribeRoomsPerSecond))
    // The refused subscribe took no frame token: the socket still has the rest of its burst for pings.
    const left = LIMITS.wsFrameBurst - roomsBurst / 200
    for (let i = 0; i < left; i++) expect(limits.admit(socket, 'u1', 0)).toBe(0)
    expect(limits.admit(socket, 'u1', 0)).toBe(Math.ceil(1000 / LIMITS.wsFrameRatePerSecond))
    clock.advance(retry)
    expect(limits.admit(limits.socketBucket(), 'u1', 200)).toBe(0)
  })

  it("counts a user's sockets together, and other users apart", () => {
    const clock = manualClock()
    const limits = new FrameLimits(clock.now)
    const sockets = Array.from({ length: 4 }, () => limits.socketBucket())
    let admitted = 0
    for (let i = 0; i < 200; i++) if (limits.admit(sockets[i % 4]!, 'u1', 0) === 0) admitted++
    expect(admitted).toBe(LIMITS.wsUserFrameBurst)
    expect(limits.admit(limits.socketBucket(), 'u2', 0)).toBe(0)
  })

  it('sweep forgets users whose buckets are full again', () => {
    const clock = manualClock()
    const limits = new FrameLimits(clock.now)
    const socket = limits.socketBucket()
    for (let i = 0; i < LIMITS.wsUserFrameBurst; i++) limits.admit(limits.socketBucket(), 'u1', 0)
    expect(limits.admit(socket, 'u1', 0)).toBeGreaterThan(0)
    limits.sweep()
    expect(limits.admit(socket, 'u1', 0)).toBeGreaterThan(0)
    clock.advance(60_000)
    limits.sweep()
    expect(limits.admit(socket, 'u1', 0)).toBe(0)
  })
})

describe('TaskQueue', () => {
  it('runs tasks in order, never more than its concurrency at once, and a failing task frees its slot', async () => {
    const queue = new TaskQueue(2)
    let running = 0
    let most = 0
    const order: number[] = []
    const done = Array.from({ length: 6 }, (_, i) => {
      let finish!: () => void
      const finished = new Promise<void>((resolve) => {
        finish = resolve
      })
      queue.run(async () => {
        running++
        most = Math.max(most, running)
        order.push(i)
        await new Promise((resolve) => setTimeout(resolve, 5))
        running--
        finish()
        if (i === 1) throw new Error('a task that fails')
      })
      return finished
    })
    await Promise.all(done)
    expect(order).toEqual([0, 1, 2, 3, 4, 5])
    expect(most).toBe(2)
  })

  it('says when it is idle: the last task finished and none waits', async () => {
    let idle = 0
    const queue = new TaskQueue(1, () => idle++)
    const releases: Array<() => void> = []
    const task = () =>
      new Promise<void>((resolve) => {
        releases.push(resolve)
      })
    queue.run(task)
    queue.run(task)
    await new Promise((resolve) => setTimeout(resolve, 0))
    releases[0]!()
    await new Promise((resolve) => setTimeout(resolve, 0))
    expect(idle).toBe(0)
    releases[1]!()
    await new Promise((resolve) => setTimeout(resolve, 0))
    expect(idle).toBe(1)
  })

  it('clear drops the tasks not started', async () => {
    const queue = new TaskQueue(1)
    const ran: number[] = []
    let release!: () => void
    queue.run(
      () =>
        new Promise<void>((resolve) => {
          ran.push(0)
          release = resolve
        }),
    )
    queue.run(async () => {
      ran.push(1)
    })
    await new Promise((resolve) => setTimeout(resolve, 0))
    queue.clear()
    release()
    await new Promise((resolve) => setTimeout(resolve, 5))
    expect(ran).toEqual([0])
  })
})
