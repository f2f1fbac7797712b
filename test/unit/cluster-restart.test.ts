import { describe, expect, it } from 'vitest'
import { RestartBackoff } from '../../server/cluster/restart-backoff.ts'

describe('RestartBackoff (a crashed worker is restarted, a crash loop does not spin)', () => {
  const options = { baseMs: 500, maxMs: 30_000, stableMs: 30_000 }

  it('restarts at once after a worker that had been running a while', () => {
    const backoff = new RestartBackoff(options)
    expect(backoff.delayAfterExit(60_000)).toBe(0)
    expect(backoff.delayAfterExit(45_000)).toBe(0)
  })

  it('doubles the wait for each crash at start in a row, up to the maximum', () => {
    const backoff = new RestartBackoff(options)
    const delays = Array.from({ length: 9 }, () => backoff.delayAfterExit(200))
    expect(delays).toEqual([500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000])
  })

  it('forgets the crash loop once a worker stays up', () => {
    const backoff = new RestartBackoff(options)
    backoff.delayAfterExit(100)
    backoff.delayAfterExit(100)
    expect(backoff.delayAfterExit(30_000)).toBe(0)
    expect(backoff.delayAfterExit(100)).toBe(500)
  })
})
