import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'

/** Seconds: from a fraction of a millisecond (a fan-out) to seconds (a stalled commit). */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]
const REPLAY_BUCKETS = [0, 1, 10, 50, 100, 250, 500, 1000, 5000]

/**
 * One process's Prometheus metrics (issue 11 item 8, docs/SCALING.md,
 * "Metrics"). A registry per app, not prom-client's global one: tests build
 * many apps in one process. Names follow Prometheus conventions (`_total`
 * counters, `_seconds` durations); labels stay low-cardinality (never a room
 * or user id).
 */
export class Metrics {
  readonly registry = new Registry()
  /** Read at each scrape: what its owner holds anyway (set once the owner exists, e.g. the push sender). */
  readonly #readers = new Map<Gauge, () => number>()
  #processMetrics = false

  readonly socketsOpen = new Gauge({
    name: 'ferry_sockets_open',
    help: 'Open WebSocket connections',
    registers: [this.registry],
  })
  readonly subscriptions = new Gauge({
    name: 'ferry_subscriptions',
    help: 'Rooms followed, summed over open sockets',
    registers: [this.registry],
  })
  readonly sends = new Counter({
    name: 'ferry_sends_total',
    help: 'Sends (messages and operations) by result (accepted, duplicate, or the error code that refused them) and transport (ws, http)',
    labelNames: ['result', 'transport'] as const,
    registers: [this.registry],
  })
  readonly appendBatchSize = new Histogram({
    name: 'ferry_append_batch_size',
    help: 'Writes per append transaction',
    buckets: BATCH_BUCKETS,
    registers: [this.registry],
  })
  readonly appendCommitSeconds = new Histogram({
    name: 'ferry_append_commit_seconds',
    help: 'From an append batch leaving its lane to its commit',
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  })
  readonly fanOutSeconds = new Histogram({
    name: 'ferry_fanout_seconds',
    help: "Handing one committed batch's events to this node's sockets",
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  })
  readonly busPublished = new Counter({
    name: 'ferry_bus_published_total',
    help: 'Messages this node published on the cross-process bus, by kind',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  })
  readonly busReceived = new Counter({
    name: 'ferry_bus_received_total',
    help: 'Messages this node received from other nodes, by kind',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  })
  readonly busLagSeconds = new Histogram({
    name: 'ferry_bus_lag_seconds',
    help: "From another node's publish to this node's handlers (clocks of one machine or NTP-synced ones)",
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  })
  readonly busGapFills = new Counter({
    name: 'ferry_bus_gap_fills_total',
    help: 'Room events read from the database because a pointer skipped ahead or came without its events',
    registers: [this.registry],
  })
  readonly busResyncs = new Counter({
    name: 'ferry_bus_resyncs_total',
    help: 'Times the bus connection came back after a loss and rooms were re-read',
    registers: [this.registry],
  })
  readonly replayEvents = new Histogram({
    name: 'ferry_replay_events',
    help: 'Events replayed to a socket per room subscribe',
    buckets: REPLAY_BUCKETS,
    registers: [this.registry],
  })
  readonly resets = new Counter({
    name: 'ferry_resets_total',
    help: 'Subscribes answered with reset (missed more than the resume bound)',
    registers: [this.registry],
  })
  readonly slowConsumerCloses = new Counter({
    name: 'ferry_slow_consumer_closes_total',
    help: 'Sockets closed with 4008 for not reading fast enough',
    registers: [this.registry],
  })
  readonly pushQueueDepth: Gauge = new Gauge({
    name: 'ferry_push_queue_depth',
    help: 'Web Push deliveries waiting (queued or between retries)',
    registers: [this.registry],
    collect: (): void => this.#read(this.pushQueueDepth),
  })

  readonly clusterPeers: Gauge = new Gauge({
    name: 'ferry_cluster_peers',
    help: 'Other nodes this one has heard from within the expiry (presence, typing and focus, docs/SCALING.md)',
    registers: [this.registry],
    collect: (): void => this.#read(this.clusterPeers),
  })
  readonly clusterNodesExpired = new Counter({
    name: 'ferry_cluster_nodes_expired_total',
    help: 'Nodes dropped for silence (no word for NODE_EXPIRY_MS): their presence, typing and focus ended',
    registers: [this.registry],
  })
  readonly controlInvalid = new Counter({
    name: 'ferry_bus_control_invalid_total',
    help: 'Control messages read off the bus and dropped as invalid',
    registers: [this.registry],
  })

  /** `gauge` takes `read()`'s value at every scrape (for gauges declared with `collect: () => this.#read(…)`). */
  readAtScrape(gauge: Gauge, read: () => number): void {
    this.#readers.set(gauge, read)
  }

  #read(gauge: Gauge): void {
    const read = this.#readers.get(gauge)
    if (read) gauge.set(read())
  }

  /**
   * prom-client's default metrics into this registry: event-loop lag
   * (`nodejs_eventloop_lag_*`, from monitorEventLoopDelay), CPU, memory,
   * heap, GC, handles. Once per registry, and only where metrics are served:
   * the event-loop monitor runs for the life of the process.
   */
  collectProcessMetrics(): void {
    if (this.#processMetrics) return
    this.#processMetrics = true
    collectDefaultMetrics({ register: this.registry })
  }

  /** The exposition: Prometheus text format. */
  async render(): Promise<MetricsText> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() }
  }
}

/** One scrape's answer. */
export interface MetricsText {
  contentType: string
  body: string
}

/** Where a scrape's answer comes from: this process's registry, or the cluster primary's aggregate of every worker. */
export type MetricsSource = () => Promise<MetricsText>
