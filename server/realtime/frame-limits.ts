import { LIMITS } from '../../shared/limits.ts'

/** Milliseconds on a monotonic clock; injected so tests can move time. */
export type Clock = () => number

/** `burst` tokens, refilled at `ratePerSecond`. */
export class TokenBucket {
  #tokens: number
  #at: number

  constructor(
    readonly ratePerSecond: number,
    readonly burst: number,
    readonly now: Clock,
  ) {
    this.#tokens = burst
    this.#at = now()
  }

  /** Milliseconds until `cost` tokens are there (0: now). A cost above the burst waits for a full bucket. */
  wait(cost: number): number {
    const missing = Math.min(cost, this.burst) - this.#refill()
    return missing <= 0 ? 0 : Math.ceil((missing * 1000) / this.ratePerSecond)
  }

  take(cost: number): void {
    this.#tokens = this.#refill() - Math.min(cost, this.burst)
  }

  get full(): boolean {
    return this.#refill() >= this.burst
  }

  #refill(): number {
    const now = this.now()
    this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#at) * this.ratePerSecond) / 1000)
    this.#at = now
    return this.#tokens
  }
}

interface UserBuckets {
  frames: TokenBucket
  rooms: TokenBucket
}

/**
 * Budgets for the control frames (subscribe, unsubscribe, typing, ping):
 * one bucket per socket, and per user (across all of their sockets on this
 * node) one for frames and one for the rooms their subscribes name. Only
 * counts; a refused frame does nothing. `send` has its own limiter.
 */
export class FrameLimits {
  readonly #users = new Map<string, UserBuckets>()

  constructor(readonly now: Clock = performance.now.bind(performance)) {}

  socketBucket(): TokenBucket {
    return new TokenBucket(LIMITS.wsFrameRatePerSecond, LIMITS.wsFrameBurst, this.now)
  }

  /**
   * Admits one control frame naming `rooms` rooms (0 for frames other than
   * subscribe): 0 when admitted (tokens taken from every bucket), else the
   * milliseconds to wait, and nothing is taken.
   */
  admit(socket: TokenBucket, userId: string, rooms: number): number {
    let user = this.#users.get(userId)
    if (!user) {
      user = {
        frames: new TokenBucket(LIMITS.wsUserFrameRatePerSecond, LIMITS.wsUserFrameBurst, this.now),
        rooms: new TokenBucket(LIMITS.wsSubscribeRoomsPerSecond, LIMITS.wsSubscribeRoomsBurst, this.now),
      }
      this.#users.set(userId, user)
    }
    const retryAfterMs = Math.max(socket.wait(1), user.frames.wait(1), rooms > 0 ? user.rooms.wait(rooms) : 0)
    if (retryAfterMs > 0) return retryAfterMs
    socket.take(1)
    user.frames.take(1)
    if (rooms > 0) user.rooms.take(rooms)
    return 0
  }

  /** Forgets users whose buckets are full again: a full bucket and no bucket are the same state. */
  sweep(): void {
    for (const [userId, user] of this.#users) {
      if (user.frames.full && user.rooms.full) this.#users.delete(userId)
    }
  }
}
