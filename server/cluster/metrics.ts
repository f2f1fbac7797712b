import cluster from 'node:cluster'
import { AggregatorRegistry } from 'prom-client'
import type { Metrics, MetricsSource, MetricsText } from '../metrics/metrics.ts'

/**
 * Metrics across workers (docs/SCALING.md, "Metrics"): one scrape sees all
 * of them. Each worker keeps its own registry; prom-client's
 * AggregatorRegistry in the primary asks every worker for it over the
 * cluster's IPC channel and adds them up (counters and histograms summed,
 * gauges summed, event-loop lag averaged). METRICS_PORT is served by the
 * primary; GET /metrics on the main port (METRICS_TOKEN) lands on some
 * worker, which asks the primary for the same aggregate.
 */

const REQUEST = 'ferry:metrics-request'
const ANSWER = 'ferry:metrics-answer'
/** Longer than prom-client's own 5 s wait for the workers. */
const ANSWER_TIMEOUT_MS = 10_000

interface Answer {
  type: typeof ANSWER
  id: number
  body?: string
  contentType?: string
  error?: string
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null

/** In the primary: the aggregate of every worker's registry, for the metrics port and for the workers' token route. */
export function aggregateWorkerMetrics(onError: (error: unknown) => void): MetricsSource {
  const aggregator = new AggregatorRegistry()
  const source: MetricsSource = async () => ({
    contentType: aggregator.contentType,
    body: await aggregator.clusterMetrics(),
  })
  cluster.on('message', (worker, message: unknown) => {
    if (!isRecord(message) || message.type !== REQUEST || !Number.isSafeInteger(message.id)) return
    const id = message.id as number
    const reply = (answer: Omit<Answer, 'type' | 'id'>) => {
      if (worker.isConnected()) worker.send({ type: ANSWER, id, ...answer } satisfies Answer)
    }
    source().then(
      (text) => reply(text),
      (error) => {
        onError(error)
        reply({ error: 'the workers did not all answer' })
      },
    )
  })
  return source
}

let joined = false

/**
 * In a worker: lets the primary read this worker's registry, and returns the
 * source for GET /metrics on the main port (the primary's aggregate).
 */
export function joinClusterMetrics(metrics: Metrics): MetricsSource {
  if (!joined) {
    joined = true
    AggregatorRegistry.setRegistries([metrics.registry])
    // Its constructor installs the worker's answer to the primary's requests.
    new AggregatorRegistry()
  }
  let next = 0
  const waiting = new Map<number, (answer: Answer) => void>()
  process.on('message', (message: unknown) => {
    if (!isRecord(message) || message.type !== ANSWER || typeof message.id !== 'number') return
    waiting.get(message.id)?.(message as unknown as Answer)
  })
  return () =>
    new Promise<MetricsText>((resolve, reject) => {
      const id = next++
      const timer = setTimeout(() => {
        waiting.delete(id)
        reject(new Error('the cluster primary did not answer'))
      }, ANSWER_TIMEOUT_MS)
      waiting.set(id, (answer) => {
        waiting.delete(id)
        clearTimeout(timer)
        if (typeof answer.body === 'string' && typeof answer.contentType === 'string') {
          resolve({ body: answer.body, contentType: answer.contentType })
        } else {
          reject(new Error(typeof answer.error === 'string' ? answer.error : 'a malformed metrics answer'))
        }
      })
      const gone = () => waiting.get(id)?.({ type: ANSWER, id, error: 'the cluster primary is gone' })
      // Not sent (the channel is closing): settled now instead of at the timeout.
      if (!process.send) gone()
      else process.send({ type: REQUEST, id }, undefined, {}, (error: Error | null) => error && gone())
    })
}
