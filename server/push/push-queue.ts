/** A try's result: done (sent, gone or failed for good), or worth another try later. */
export type Attempt = { retry: false } | { retry: true; afterMs?: number | undefined }

export interface PushQueueOptions {
  /** Jobs running at once. */
  concurrency: number
  /** Jobs waiting (queued or between retries); past it the oldest non-mention goes. */
  max: number
  /** Tries per job, the first included. */
  maxAttempts: number
  retryBaseMs: number
  retryMaxMs: number
}

export interface PushQueueStats {
  enqueued: number
  /** Jobs dropped because the queue was full (the oldest non-mention first). */
  dropped: number
  /** Retries scheduled. */
  retried: number
  /** Jobs that still wanted a retry after their last try. */
  exhausted: number
}

interface Entry<J> {
  job: J
  attempts: number
}

/**
 * A bounded queue with bounded concurrency for push deliveries: mentions
 * first, retries with exponential backoff (or the push service's
 * Retry-After), and when full the oldest non-mention is dropped (counted),
 * so memory stays bounded whatever the push services do. The worker gets an
 * AbortSignal that fires on close, so shutdown never waits for a hanging
 * push service.
 */
export class PushQueue<J extends { mention: boolean }> {
  readonly stats: PushQueueStats = { enqueued: 0, dropped: 0, retried: 0, exhausted: 0 }
  readonly #mentions: Entry<J>[] = []
  readonly #others: Entry<J>[] = []
  readonly #retrying = new Set<ReturnType<typeof setTimeout>>()
  readonly #abort = new AbortController()
  #running = 0
  #closed = false
  #idle: Array<() => void> = []

  constructor(
    readonly worker: (job: J, signal: AbortSignal) => Promise<Attempt>,
    readonly options: PushQueueOptions,
    readonly onError: (error: unknown) => void,
  ) {}

  /** Jobs queued or waiting for a retry (not those running). */
  get size(): number {
    return this.#mentions.length + this.#others.length + this.#retrying.size
  }

  enqueue(job: J): void {
    if (this.#closed) return
    this.stats.enqueued++
    this.#admit({ job, attempts: 0 })
  }

  /** Resolves once nothing is queued, waiting for a retry or running (tests, benchmarks). */
  idle(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve()
    return new Promise((resolve) => this.#idle.push(resolve))
  }

  /** Drops what waits and aborts what runs. */
  close(): void {
    this.#closed = true
    this.#mentions.length = 0
    this.#others.length = 0
    for (const timer of this.#retrying) clearTimeout(timer)
    this.#retrying.clear()
    this.#abort.abort()
    this.#wakeIdle()
  }

  #admit(entry: Entry<J>): void {
    if (this.size >= this.options.max) {
      // Full: the oldest waiting non-mention makes room; a non-mention arriving with none to displace is itself dropped.
      if (this.#others.length > 0) this.#others.shift()
      else if (!entry.job.mention) {
        this.stats.dropped++
        return
      } else if (this.#mentions.length > 0) this.#mentions.shift()
      else {
        this.stats.dropped++
        return
      }
      this.stats.dropped++
    }
    ;(entry.job.mention ? this.#mentions : this.#others).push(entry)
    this.#pump()
  }

  #pump(): void {
    while (!this.#closed && this.#running < this.options.concurrency) {
      const entry = this.#mentions.shift() ?? this.#others.shift()
      if (!entry) break
      this.#running++
      // Each job starts in a task of its own: its encryption (synchronous CPU) never runs back to back with
      // fifteen others, so acks and fan-out that are waiting get the event loop in between.
      setImmediate(() => void this.#run(entry))
    }
    this.#wakeIdle()
  }

  async #run(entry: Entry<J>): Promise<void> {
    if (this.#closed) {
      this.#running--
      this.#wakeIdle()
      return
    }
    entry.attempts++
    let attempt: Attempt
    try {
      attempt = await this.worker(entry.job, this.#abort.signal)
    } catch (error) {
      this.onError(error)
      attempt = { retry: false }
    }
    this.#running--
    if (attempt.retry && !this.#closed) {
      if (entry.attempts >= this.options.maxAttempts) this.stats.exhausted++
      else this.#retryLater(entry, attempt.afterMs)
    }
    this.#pump()
  }

  #retryLater(entry: Entry<J>, afterMs: number | undefined): void {
    const { retryBaseMs, retryMaxMs } = this.options
    const backoff = retryBaseMs * 2 ** (entry.attempts - 1)
    // Jitter spreads retries of one burst (one push service's outage) over time.
    const delay = Math.min(retryMaxMs, afterMs ?? backoff * (0.5 + Math.random() / 2))
    this.stats.retried++
    const timer = setTimeout(() => {
      this.#retrying.delete(timer)
      this.#admit(entry)
    }, delay)
    timer.unref()
    this.#retrying.add(timer)
  }

  #isIdle(): boolean {
    return this.#running === 0 && this.size === 0
  }

  #wakeIdle(): void {
    if (this.#isIdle() || this.#closed) for (const resolve of this.#idle.splice(0)) resolve()
  }
}
