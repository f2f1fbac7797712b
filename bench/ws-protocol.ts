/** Messages between bench/ws.ts (parent) and bench/ws-load.ts (the load generator child, one per server). */

/**
 * How the generator talks to a server: `ferry` = Ferry's WebSocket frames
 * (also spoken by the raw ws and persisted-peer baselines), `socketio` =
 * Socket.IO events (websocket transport only) with the same payloads.
 */
export type WireProtocol = 'ferry' | 'socketio'

export interface LoadConfig {
  /** ws://127.0.0.1:PORT/api/ws, or http://127.0.0.1:PORT for Socket.IO. */
  url: string
  protocol: WireProtocol
  origin: string
  /** One entry per socket: the session cookie header value (or '') and the room it follows. */
  sockets: Array<{ cookie: string; roomId: string }>
  seconds: number
  /** After a phase's sending window, wait at most this long for outstanding acks and deliveries. */
  drainMs: number
  connectConcurrency: number
  bodyBytes: number
}

export interface PhaseResult {
  offered: number
  seconds: number
  sent: number
  sentPerSecond: number
  acks: number
  errors: Record<string, number>
  /** Deliveries of this phase's messages received inside the sending window. */
  deliveriesInWindow: number
  deliveriesPerSecond: number
  /** All deliveries of this phase's messages, including those that came during the drain. */
  deliveries: number
  /** Sum over acked messages of their room's socket count. */
  expectedDeliveries: number
  /** Sum over sent messages of their room's socket count: what a server that acks everything delivers. */
  intendedDeliveries: number
  /** deliveries / intendedDeliveries, in % (the knee's "delivered"). */
  deliveredPct: number
  /** Time after the window's end until the last delivery/ack arrived (ms), or the drain limit. */
  drainMs: number
  drained: boolean
  e2eMs: { p50: number; p90: number; p99: number; max: number }
  ackMs: { p50: number; p99: number; max: number }
  resets: number
  closed: number
  generator: { cpuPct: number; eventLoopDelayP99Ms: number; maxBufferedBytes: number }
}

export type ChildMessage =
  | { type: 'connected'; sockets: number; ms: number; failures: number; firstFailure?: string }
  | { type: 'phase-start'; offered: number }
  | { type: 'phase-end'; offered: number }
  | { type: 'phase'; result: PhaseResult }
  | { type: 'done' }
  | { type: 'fatal'; message: string }

/** `connect` once, then any number of `phase` (one offered load each, answered by `phase`), then `stop`. */
export type ParentMessage =
  | { type: 'connect'; config: LoadConfig }
  | { type: 'phase'; offered: number; id: number; seconds?: number }
  | { type: 'stop' }
