/**
 * Runs async tasks in arrival order, at most `concurrency` at a time. Tasks
 * handle their own errors; one that rejects anyway only frees its slot.
 * `onIdle` runs when the last task has finished and none waits.
 */
export class TaskQueue {
  readonly #waiting: Array<() => Promise<void>> = []
  #running = 0

  constructor(
    readonly concurrency: number,
    readonly onIdle?: () => void,
  ) {}

  run(task: () => Promise<void>): void {
    this.#waiting.push(task)
    this.#next()
  }

  /** Drops the tasks not started yet (the socket closed). */
  clear(): void {
    this.#waiting.length = 0
  }

  #next(): void {
    while (this.#running < this.concurrency && this.#waiting.length > 0) {
      const task = this.#waiting.shift()!
      this.#running++
      Promise.resolve()
        .then(task)
        .catch(() => {})
        .finally(() => {
          this.#running--
          this.#next()
          if (this.#running === 0) this.onIdle?.()
        })
    }
  }
}
