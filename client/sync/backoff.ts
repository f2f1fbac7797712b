/**
 * "Full jitter" backoff (AWS architecture blog): a random delay between 0 and
 * an exponentially growing ceiling, so clients that lost the same server do not
 * come back in lockstep.
 */
export function fullJitter(attempt: number, baseMs = 500, capMs = 30_000, random: () => number = Math.random): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt))
  return Math.floor(random() * ceiling)
}

export interface RetryOptions {
  /** Tries in all, the first included. */
  attempts: number
  baseMs?: number
  capMs?: number
  random?: () => number
  /** Whether this failure is worth another try (e.g. no answer, 5xx). */
  retryable: (error: unknown) => boolean
  /** Checked before every retry: false stops (e.g. the socket went away and the resume will redo this). */
  keepGoing?: () => boolean
}

/** Runs `task`, retrying retryable failures with full-jitter pauses; the last failure is thrown. */
export async function retrying<T>(task: () => Promise<T>, options: RetryOptions): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await task()
    } catch (error) {
      const last = attempt + 1 >= options.attempts
      if (last || !options.retryable(error) || options.keepGoing?.() === false) throw error
      const delay = fullJitter(attempt, options.baseMs, options.capMs, options.random)
      await new Promise((resolve) => setTimeout(resolve, delay))
      if (options.keepGoing?.() === false) throw error
    }
  }
}
