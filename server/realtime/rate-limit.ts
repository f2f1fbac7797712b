interface Bucket {
  tokens: number
  at: number
}

/**
 * A token bucket per user, shared by all of that user's sockets on this node.
 * Only counts: nothing is stored, and a refused send never reaches the appender.
 */
export class SendRateLimiter {
  readonly #buckets = new Map<string, Bucket>()
  readonly #perMs: number

  constructor(
    readonly ratePerSecond: number,
    readonly burst: number,
    readonly now: () => number = performance.now.bind(performance),
  ) {
    this.#perMs = ratePerSecond / 1000
  }

  /** Takes a token: 0 when the send may go ahead, else the milliseconds until one is available. */
  take(userId: string): number {
    const now = this.now()
    const tokens = this.#tokens(this.#buckets.get(userId), now)
    if (tokens >= 1) {
      this.#buckets.set(userId, { tokens: tokens - 1, at: now })
      return 0
    }
    this.#buckets.set(userId, { tokens, at: now })
    return Math.ceil((1 - tokens) / this.#perMs)
  }

  /** Forgets refilled buckets: a full bucket and no bucket are the same state. */
  sweep(): void {
    const now = this.now()
    for (const [userId, bucket] of this.#buckets) {
      if (this.#tokens(bucket, now) >= this.burst) this.#buckets.delete(userId)
    }
  }

  #tokens(bucket: Bucket | undefined, now: number): number {
    if (!bucket) return this.burst
    return Math.min(this.burst, bucket.tokens + (now - bucket.at) * this.#perMs)
  }
}
