/**
 * Where the append path spends its time (issue 14's "find where the time
 * goes"). Off unless `FERRY_PROFILE_FILE` is set: then each stage of every
 * batch is timed, and the summary is written to that file at shutdown. A
 * diagnostic, not a metric: figures go to docs/BENCHMARKS.md, never into tests.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks'

/** Samples kept per stage (reservoir): bounded memory whatever the run length. */
const RESERVOIR = 20_000
/** The event-loop monitor's sampling interval; its samples include it, so it is taken off. */
const LOOP_RESOLUTION_MS = 10

export interface StageSummary {
  count: number
  mean: number
  p50: number
  p90: number
  p99: number
  max: number
  /** Sum over the run, ms (for stages that are time). */
  total: number
}

class Samples {
  readonly values: number[] = []
  count = 0
  total = 0
  max = 0

  add(value: number): void {
    this.count++
    this.total += value
    if (value > this.max) this.max = value
    if (this.values.length < RESERVOIR) this.values.push(value)
    else {
      const at = Math.floor(Math.random() * this.count)
      if (at < RESERVOIR) this.values[at] = value
    }
  }

  summary(): StageSummary {
    const sorted = [...this.values].sort((a, b) => a - b)
    const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0
    const r = (x: number) => Math.round(x * 1000) / 1000
    return {
      count: this.count,
      mean: r(this.count ? this.total / this.count : 0),
      p50: r(q(0.5)),
      p90: r(q(0.9)),
      p99: r(q(0.99)),
      max: r(this.max),
      total: r(this.total),
    }
  }
}

export class AppendProfile {
  readonly #stages = new Map<string, Samples>()
  readonly #loop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS })
  readonly #startedAt = performance.now()

  constructor() {
    this.#loop.enable()
  }

  /** One sample of a stage: a duration in ms, or a count (batch size). */
  record(stage: string, value: number): void {
    let samples = this.#stages.get(stage)
    if (!samples) {
      samples = new Samples()
      this.#stages.set(stage, samples)
    }
    samples.add(value)
  }

  /** Times `work` as `stage` (sync or async). */
  async time<T>(stage: string, work: () => Promise<T>): Promise<T> {
    const t = performance.now()
    try {
      return await work()
    } finally {
      this.record(stage, performance.now() - t)
    }
  }

  summary(): { runMs: number; stages: Record<string, StageSummary>; eventLoopDelayMs: StageSummary } {
    this.#loop.disable()
    const ms = (ns: number) => Math.max(0, Math.round(ns / 1e3) / 1e3 - LOOP_RESOLUTION_MS)
    return {
      runMs: Math.round(performance.now() - this.#startedAt),
      stages: Object.fromEntries([...this.#stages].map(([name, samples]) => [name, samples.summary()])),
      eventLoopDelayMs: {
        count: this.#loop.count,
        mean: ms(this.#loop.mean),
        p50: ms(this.#loop.percentile(50)),
        p90: ms(this.#loop.percentile(90)),
        p99: ms(this.#loop.percentile(99)),
        max: ms(this.#loop.max),
        total: 0,
      },
    }
  }
}
