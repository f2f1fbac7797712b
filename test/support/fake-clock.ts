import type { ExpiryClock } from '../../server/realtime/session-expiry.ts'

/** A clock with any number of one-shot timers that only move when the test says so. */
export class FakeClock implements ExpiryClock {
  #now = 1_000_000
  #next = 0
  readonly #timers = new Map<number, { at: number; callback: () => void }>()

  now(): number {
    return this.#now
  }

  setTimer(callback: () => void, ms: number): unknown {
    const id = ++this.#next
    this.#timers.set(id, { at: this.#now + ms, callback })
    return id
  }

  clearTimer(timer: unknown): void {
    this.#timers.delete(timer as number)
  }

  /** Moves time forward by `ms`, firing every timer that falls due on the way, in time order. */
  advance(ms: number): void {
    const end = this.#now + ms
    for (;;) {
      let due: [number, { at: number; callback: () => void }] | undefined
      for (const entry of this.#timers) if (entry[1].at <= end && (!due || entry[1].at < due[1].at)) due = entry
      if (!due) break
      this.#timers.delete(due[0])
      this.#now = Math.max(this.#now, due[1].at)
      due[1].callback()
    }
    this.#now = end
  }
}
