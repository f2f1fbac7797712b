export interface RestartBackoffOptions {
  /** The wait after the first crash at start. */
  baseMs: number
  /** The longest wait between two starts. */
  maxMs: number
  /** A worker that ran this long was not crashing at start: its exit restarts at once and clears the count. */
  stableMs: number
}

export const RESTART_BACKOFF: RestartBackoffOptions = { baseMs: 500, maxMs: 30_000, stableMs: 30_000 }

/**
 * When to start a worker again after its predecessor in the same slot exited.
 * A crash under way (kill -9, out of memory) is restarted at once; a worker
 * that keeps dying soon after it starts (a bad deploy, a missing file) waits
 * twice as long each time, so the primary does not spin forking it.
 */
export class RestartBackoff {
  #quickExits = 0

  constructor(readonly options: RestartBackoffOptions = RESTART_BACKOFF) {}

  /** The worker exited after running `livedMs`; returns the milliseconds to wait before the next start. */
  delayAfterExit(livedMs: number): number {
    const { baseMs, maxMs, stableMs } = this.options
    if (livedMs >= stableMs) {
      this.#quickExits = 0
      return 0
    }
    this.#quickExits++
    return Math.min(maxMs, baseMs * 2 ** (this.#quickExits - 1))
  }
}
