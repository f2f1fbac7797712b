/**
 * "Full jitter" backoff (AWS architecture blog): a random delay between 0 and
 * an exponentially growing ceiling, so clients that lost the same server do not
 * come back in lockstep.
 */
export function fullJitter(attempt: number, baseMs = 500, capMs = 30_000, random: () => number = Math.random): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt))
  return Math.floor(random() * ceiling)
}
