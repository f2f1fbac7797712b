/**
 * Client-side pacing that mirrors the server's per-user send limit, so a long
 * queue drains at the allowed rate instead of being refused (a refusal in the
 * middle of a pipeline is what could reorder a room).
 */
export class TokenBucket {
  private tokens: number
  private last: number

  constructor(
    private ratePerSecond: number,
    private burst: number,
    private readonly now: () => number = () => Date.now(),
  ) {
    this.tokens = burst
    this.last = now()
  }

  /** Adopts the limits the server announced in `hello`; tokens already spent stay spent. */
  configure(ratePerSecond: number, burst: number): void {
    this.refill()
    this.ratePerSecond = ratePerSecond
    this.burst = burst
    this.tokens = Math.min(this.tokens, burst)
  }

  private refill(): void {
    const t = this.now()
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) / 1000) * this.ratePerSecond)
    this.last = t
  }

  take(): boolean {
    this.refill()
    if (this.tokens < 1) return false
    this.tokens -= 1
    return true
  }

  /** Milliseconds until one token is available. */
  wait(): number {
    this.refill()
    return this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) / this.ratePerSecond) * 1000)
  }

  /** The server said we went too fast: start again from empty. */
  drain(): void {
    this.refill()
    this.tokens = 0
  }
}
