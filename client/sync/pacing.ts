/**
 * Client-side pacing of subscribe frames, mirroring the server's budgets
 * (shared/limits.ts, server/realtime/frame-limits.ts) so that a resume of many
 * rooms is paced instead of refused. The server stays the judge: another
 * device of the same user spends the same per-user budget, so a refusal can
 * still come, and the engine then retries (see SyncEngine).
 */
import { LIMITS } from '../../shared/limits.ts'

/** `burst` tokens refilled at `ratePerSecond`; a cost above the burst waits for a full bucket. */
export class CostBucket {
  private tokens: number
  private at: number

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    private readonly now: () => number,
  ) {
    this.tokens = burst
    this.at = now()
  }

  /** Milliseconds until `cost` tokens are there (0: now). */
  wait(cost: number): number {
    const missing = Math.min(cost, this.burst) - this.refill()
    return missing <= 0 ? 0 : Math.ceil((missing * 1000) / this.ratePerSecond)
  }

  take(cost: number): void {
    this.tokens = this.refill() - Math.min(cost, this.burst)
  }

  /** The server said we went too fast: start again from empty. */
  drain(): void {
    this.refill()
    this.tokens = 0
  }

  private refill(): number {
    const now = this.now()
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) * this.ratePerSecond) / 1000)
    this.at = now
    return this.tokens
  }
}

/**
 * Subscribe frames may spend at most half of a socket's control-frame budget
 * (the rest stays for pings and typing); the rooms they name spend the
 * per-user room budget, which outlives sockets.
 */
export class SubscribePacer {
  private frames: CostBucket
  private readonly rooms: CostBucket

  constructor(private readonly now: () => number = () => Date.now()) {
    this.frames = this.socketBucket()
    this.rooms = new CostBucket(LIMITS.wsSubscribeRoomsPerSecond, LIMITS.wsSubscribeRoomsBurst, now)
  }

  /** A fresh socket has a fresh per-socket budget on the server. */
  newSocket(): void {
    this.frames = this.socketBucket()
  }

  /** Milliseconds until a frame naming `rooms` rooms may go (0: now). */
  wait(rooms: number): number {
    return Math.max(this.frames.wait(1), this.rooms.wait(rooms))
  }

  take(rooms: number): void {
    this.frames.take(1)
    this.rooms.take(rooms)
  }

  /** After a refusal: wait for the budgets to refill before the next frame. */
  drain(): void {
    this.frames.drain()
    this.rooms.drain()
  }

  private socketBucket(): CostBucket {
    return new CostBucket(LIMITS.wsFrameRatePerSecond / 2, LIMITS.wsFrameBurst / 2, this.now)
  }
}
