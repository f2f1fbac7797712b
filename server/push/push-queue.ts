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
  /** Jobs started per second at most (a token bucket with a one-second burst); 0: no limit. */
  ratePerSecond: number
}

export interface PushQueueStats {
  enqueued: number
  /** Jobs dropped because the queue was full (the oldest non-mention first). */
  dropped: number
  /** Retries scheduled. */
  retried: number
  /** Jobs that still wanted a retry after their last try. */
  exhausted: number
  /** Jobs replaced by a newer one with the same key while waiting (the push service would collapse them anyway). */
  coalesced: number
  /** Retries dropped because a newer job of their key had started meanwhile (the device keeps the newest). */
  superseded: number
}

interface Entry<J> {
  job: J
  attempts: number
}

/** `a` is about a later message of its key than `b` (both ordered). */
function newer(a: { order?: number }, b: { order?: number }): boolean {
  return a.order !== undefined && b.order !== undefined && a.order > b.order
}

/**
 * A bounded queue with bounded concurrency for push deliveries: mentions
 * first, retries with exponential backoff (or the push service's
 * Retry-After), and when full the oldest non-mention is dropped (counted),
 * so memory stays bounded whatever the push services do. The worker gets an
 * AbortSignal that fires on close, so shutdown never waits for a hanging
 * push service.
 */
export class PushQueue<J extends { mention: boolean; key?: string; order?: number }> {
  readonly stats: PushQueueStats = { enqueued: 0, dropped: 0, retried: 0, exhausted: 0, coalesced: 0, superseded: 0 }
  /**
   * The newest `order` (the message's seq) started per key, so a retry of an
   * older message is not sent after a newer one: the notification would go
   * back to the older message. Bounded like the queue (oldest keys forgotten).
   */
  readonly #newestStarted = new Map<string, number>()
  /** Waiting (queued, not running, not between retries) entries by key. */
  readonly #waiting = new Map<string, Entry<J>>()
  #tokens: number
  #refilledAt = performance.now()
  #paced: ReturnType<typeof setTimeout> | undefined
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
  ) {
    this.#tokens = options.ratePerSecond
  }

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
    this.#waiting.clear()
    this.#newestStarted.clear()
    clearTimeout(this.#paced)
    for (const timer of this.#retrying) clearTimeout(timer)
    this.#retrying.clear()
    this.#abort.abort()
    this.#wakeIdle()
  }

  #admit(entry: Entry<J>): void {
    // A job (a retry, or a first try whose lookup row came late) older than one of its key that already
    // started would leave the device on the older message; a mention still goes: it must not be lost.
    if (!entry.job.mention && this.#superseded(entry.job)) {
      this.stats.superseded++
      return
    }
    if (this.#coalesce(entry)) return
    if (this.size >= this.options.max) {
      // Full: the oldest waiting non-mention makes room; a non-mention arriving with none to displace is itself dropped.
      if (this.#others.length > 0) this.#forget(this.#others.shift()!)
      else if (!entry.job.mention) {
        this.stats.dropped++
        return
      } else if (this.#mentions.length > 0) this.#forget(this.#mentions.shift()!)
      else {
        this.stats.dropped++
        return
      }
      this.stats.dropped++
    }
    ;(entry.job.mention ? this.#mentions : this.#others).push(entry)
    const key = entry.job.key
    if (key !== undefined) {
      // An older mention queued beside a newer waiting job leaves that one the key's to coalesce into.
      const waiting = this.#waiting.get(key)
      if (!waiting || !newer(waiting.job, entry.job)) this.#waiting.set(key, entry)
    }
    this.#pump()
  }

  /**
   * A job whose key (device and room) already waits: the newer message
   * replaces the older in its place, since the push service keeps only the
   * last per topic anyway. A mention is never replaced by a plain message
   * (it would lose its urgency), and neither a retry nor an older job (the
   * recipients of one lookup come in no particular order) replaces a newer
   * one: an older plain job is dropped, an older mention queued beside it.
   */
  #coalesce(entry: Entry<J>): boolean {
    const key = entry.job.key
    const waiting = key === undefined ? undefined : this.#waiting.get(key)
    if (!waiting) return false
    if (newer(waiting.job, entry.job)) {
      if (entry.job.mention) return false
      this.stats.coalesced++
      return true
    }
    if (entry.attempts > 0) {
      this.stats.coalesced++
      return true
    }
    if (waiting.job.mention && !entry.job.mention) return false
    if (entry.job.mention && !waiting.job.mention) {
      // Promoted: it moves to the mentions, at their end.
      this.#others.splice(this.#others.indexOf(waiting), 1)
      this.#mentions.push(waiting)
    }
    waiting.job = entry.job
    this.stats.coalesced++
    return true
  }

  #superseded(job: J): boolean {
    if (job.key === undefined || job.order === undefined) return false
    const newest = this.#newestStarted.get(job.key)
    return newest !== undefined && newest > job.order
  }

  #started(job: J): void {
    if (job.key === undefined || job.order === undefined) return
    const newest = this.#newestStarted.get(job.key)
    if (newest !== undefined && newest >= job.order) return
    this.#newestStarted.delete(job.key) // re-inserted last: the map's order is recency
    this.#newestStarted.set(job.key, job.order)
    if (this.#newestStarted.size > this.options.max) {
      this.#newestStarted.delete(this.#newestStarted.keys().next().value!)
    }
  }

  #forget(entry: Entry<J>): void {
    const key = entry.job.key
    if (key !== undefined && this.#waiting.get(key) === entry) this.#waiting.delete(key)
  }

  /** Takes a start token, or schedules the next pump for when one is due. */
  #mayStart(): boolean {
    const rate = this.options.ratePerSecond
    if (rate <= 0) return true
    const now = performance.now()
    this.#tokens = Math.min(rate, this.#tokens + ((now - this.#refilledAt) / 1000) * rate)
    this.#refilledAt = now
    if (this.#tokens >= 1) {
      this.#tokens--
      return true
    }
    if (!this.#paced) {
      this.#paced = setTimeout(
        () => {
          this.#paced = undefined
          this.#pump()
        },
        Math.ceil(((1 - this.#tokens) / rate) * 1000),
      )
      this.#paced.unref()
    }
    return false
  }

  #pump(): void {
    while (!this.#closed && this.#running < this.options.concurrency) {
      if (this.#mentions.length + this.#others.length === 0 || !this.#mayStart()) break
      const entry = (this.#mentions.shift() ?? this.#others.shift())!
      this.#forget(entry)
      this.#started(entry.job)
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
      // A retry dropped (superseded or coalesced) may have been the last thing `idle()` waited for.
      this.#wakeIdle()
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
