/**
 * Runs async tasks in arrival order, at most `concurrency` at a time. Tasks
 * handle their own errors; one that rejects anyway only frees its slot.
 */
export class TaskQueue {
  readonly #waiting: Array<() => Promise<void>> = []
  #running = 0

  constructor(readonly concurrency: number) {}

  run(task: () => Promise<void>): void {
    this.#waiting.push(task)
    this.#next()
  }

  /** Nothing running or waiting. */
  get idle(): boolean {
    return this.#running === 0 && this.#waiting.length === 0
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
        })
    }
  }
}
