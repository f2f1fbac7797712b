import { describe, expect, it } from 'vitest'
import { TokenBucket } from '../../client/outbox/token-bucket.ts'

describe('TokenBucket', () => {
  it('paces to the burst and the rate, and tells how long to wait', () => {
    let now = 0
    const bucket = new TokenBucket(10, 3, () => now)
    expect([bucket.take(), bucket.take(), bucket.take(), bucket.take()]).toEqual([true, true, true, false])
    expect(bucket.wait()).toBe(100)
    now += 100
    expect(bucket.take()).toBe(true)
  })

  it('adopts the limits announced in hello without handing back spent tokens', () => {
    let now = 0
    const bucket = new TokenBucket(10, 30, () => now)
    for (let i = 0; i < 30; i++) bucket.take()
    bucket.configure(1000, 200)
    expect(bucket.take()).toBe(false)
    now += 200
    let sent = 0
    while (bucket.take()) sent++
    expect(sent).toBe(200)
  })

  it('a lower announced burst caps what is left', () => {
    const bucket = new TokenBucket(10, 30, () => 0)
    bucket.configure(10, 2)
    expect([bucket.take(), bucket.take(), bucket.take()]).toEqual([true, true, false])
  })
})
