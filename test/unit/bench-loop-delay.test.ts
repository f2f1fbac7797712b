import { describe, expect, it } from 'vitest'
import { loopDelayMs } from '../../bench/lib/stats.ts'

/**
 * Node's monitorEventLoopDelay records the whole interval between two of its
 * timer's runs, the resolution included: an idle loop sampled every 10 ms reads
 * ~10.1 ms. The benchmarks report the delay beyond the resolution, as the
 * server's append profile does (server/messages/append-profile.ts).
 */
describe('loopDelayMs', () => {
  it('subtracts the sampling resolution from a histogram reading in nanoseconds', () => {
    expect(loopDelayMs(10_182_655, 10)).toBeCloseTo(0.18, 2)
    expect(loopDelayMs(23_500_000, 10)).toBeCloseTo(13.5, 2)
  })

  it('never reports a negative delay (a timer that ran a little early)', () => {
    expect(loopDelayMs(9_990_000, 10)).toBe(0)
  })
})
