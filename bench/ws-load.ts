/**
 * The WebSocket load generator, run in its own process (forked by bench/ws.ts,
 * one per server under test). On `connect` it opens every socket, subscribes
 * each to its room and waits for `caught_up`; then for each `phase` it sends
 * at the offered rate for a fixed time (open loop: the schedule does not wait
 * for answers), spread round-robin over all sockets (so over all users), each
 * body carrying the phase and the send time. Receivers time end-to-end latency
 * from `events` frames, senders ack latency from `ack` frames (whose message
 * carries the body). Sender and receivers share this process's clock.
 *
 * The same schedule and accounting serve every server; only the wire differs:
 * Ferry's JSON frames over `ws` (Ferry, raw ws, the persisted peer), or the
 * same payloads as Socket.IO events with acknowledgement callbacks.
 */
import { randomUUID } from 'node:crypto'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { io } from 'socket.io-client'
import WebSocket from 'ws'
import { loopDelayMs, percentiles, round, sleep } from './lib/stats.ts'
import type { ChildMessage, LoadConfig, ParentMessage, PhaseResult } from './ws-protocol.ts'

const send = (message: ChildMessage) => process.send?.(message)
/** The generator's event-loop delay is sampled this often (the figure reported is the delay beyond it). */
const LOOP_RESOLUTION_MS = 10

interface Phase {
  id: number
  start: number
  end: number
  sent: number
  acks: number
  errors: Record<string, number>
  deliveriesInWindow: number
  deliveries: number
  lastArrival: number
  e2e: number[]
  ack: number[]
  resets: number
  /** Sum over acked messages of their room's socket count. */
  expected: number
  /** Sum over sent messages of their room's socket count. */
  intended: number
}

/** One client socket, whatever the wire. */
interface Conn {
  isOpen(): boolean
  /** Sends one chat message; `frame` is Ferry's `send` frame as JSON text, `roomId`… the same fields. */
  sendMessage(frame: string, roomId: string, clientId: string, body: string): void
  bufferedAmount(): number
  close(): void
}

const phases: Phase[] = []
/** The phase sending or draining now: error and reset frames (which carry no body) count for it. */
let current: Phase | undefined
let closed = 0
let maxBuffered = 0
const roomSize = new Map<string, number>()

/** Body: "b<phase>|<send time ms>|" + padding. */
function parseBody(body: unknown): [Phase | undefined, number] {
  if (typeof body !== 'string' || body.charCodeAt(0) !== 98 /* b */) return [undefined, 0]
  const a = body.indexOf('|')
  const b = body.indexOf('|', a + 1)
  return [phases[Number(body.slice(1, a))], Number(body.slice(a + 1, b))]
}

/** Accounts one server frame (already parsed), the same for every wire. */
function onFrame(frame: any, socketIndex: number, waiting: Map<number, () => void>) {
  const now = performance.now()
  switch (frame?.type) {
    case 'events':
      for (const event of frame.events ?? []) {
        const [phase, t] = parseBody(event.body)
        if (!phase) continue
        phase.deliveries++
        if (now <= phase.end) phase.deliveriesInWindow++
        phase.e2e.push(now - t)
        phase.lastArrival = now
      }
      break
    case 'ack': {
      const [phase, t] = parseBody(frame.message?.body)
      if (!phase) break
      phase.acks++
      phase.expected += roomSize.get(frame.roomId) ?? 0
      phase.ack.push(now - t)
      phase.lastArrival = now
      break
    }
    case 'error': {
      const phase = current
      if (phase) {
        phase.errors[frame.code] = (phase.errors[frame.code] ?? 0) + 1
        phase.lastArrival = now
      }
      break
    }
    case 'reset': {
      const phase = current
      if (phase) phase.resets++
      waiting.get(socketIndex)?.()
      break
    }
    case 'caught_up':
      waiting.get(socketIndex)?.()
      break
  }
}

/** Ferry's protocol over `ws`: JSON text frames both ways. */
function openWs(config: LoadConfig, i: number, waiting: Map<number, () => void>, fail: (e: Error) => void): Conn {
  const spec = config.sockets[i]!
  const headers: Record<string, string> = { origin: config.origin }
  if (spec.cookie) headers.cookie = spec.cookie
  const ws = new WebSocket(config.url, { headers, perMessageDeflate: false })
  ws.on('message', (raw) => {
    let frame: unknown
    try {
      frame = JSON.parse(raw.toString())
    } catch {
      return
    }
    onFrame(frame, i, waiting)
  })
  ws.on('unexpected-response', (_req, res) => fail(new Error(`upgrade refused: HTTP ${res.statusCode}`)))
  ws.on('error', fail)
  ws.on('close', (code) => {
    closed++
    fail(new Error(`closed with ${code} before caught_up`))
  })
  ws.on('open', () => ws.send(JSON.stringify({ type: 'subscribe', rooms: [{ roomId: spec.roomId, after: 0 }] })))
  return {
    isOpen: () => ws.readyState === WebSocket.OPEN,
    sendMessage: (frame) => ws.send(frame),
    bufferedAmount: () => ws.bufferedAmount,
    close: () => ws.terminate(),
  }
}

/** Socket.IO, websocket transport only: `subscribe` and `send` with ack callbacks, `events` broadcasts. */
function openSocketIo(config: LoadConfig, i: number, waiting: Map<number, () => void>, fail: (e: Error) => void): Conn {
  const spec = config.sockets[i]!
  const socket = io(config.url, {
    transports: ['websocket'],
    forceNew: true, // one engine (one WebSocket) per client, as for the other servers
    reconnection: false,
    extraHeaders: { origin: config.origin }, // the server refuses per-message deflate, so none is negotiated
  })
  socket.on('events', (frame: unknown) => onFrame(frame, i, waiting))
  socket.on('connect_error', (error) => fail(error))
  socket.on('disconnect', (reason) => {
    closed++
    fail(new Error(`disconnected (${reason}) before caught_up`))
  })
  socket.on('connect', () =>
    socket.emit('subscribe', { type: 'subscribe', rooms: [{ roomId: spec.roomId, after: 0 }] }, (reply: unknown) =>
      onFrame(reply, i, waiting),
    ),
  )
  return {
    isOpen: () => socket.connected,
    sendMessage: (_frame, roomId, clientId, body) =>
      socket.emit('send', { type: 'send', roomId, clientId, body }, (reply: unknown) => onFrame(reply, i, waiting)),
    bufferedAmount: () => 0,
    close: () => socket.disconnect(),
  }
}

async function connectAll(config: LoadConfig): Promise<Conn[]> {
  const conns: Conn[] = new Array(config.sockets.length)
  const waiting = new Map<number, () => void>()
  let failures = 0
  let firstFailure: string | undefined
  const t0 = performance.now()
  let next = 0
  const open = (i: number) =>
    new Promise<void>((resolve, reject) => {
      let settled = false
      const timer = setTimeout(() => fail(new Error('no caught_up within 30 s')), 30_000)
      const fail = (error: Error) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        waiting.delete(i)
        reject(error)
      }
      waiting.set(i, () => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        waiting.delete(i)
        resolve()
      })
      conns[i] = (config.protocol === 'socketio' ? openSocketIo : openWs)(config, i, waiting, fail)
    })
  const worker = async () => {
    while (next < config.sockets.length) {
      const i = next++
      try {
        await open(i)
      } catch (error) {
        failures++
        firstFailure ??= (error as Error).message
        if (failures >= 5) return
      }
    }
  }
  await Promise.all(Array.from({ length: config.connectConcurrency }, worker))
  send({ type: 'connected', sockets: conns.length, ms: round(performance.now() - t0, 0), failures, firstFailure })
  if (failures > 0) throw new Error(`could not open every socket: ${firstFailure}`)
  return conns
}

async function runPhase(
  config: LoadConfig,
  conns: Conn[],
  offered: number,
  id: number,
  seconds = config.seconds,
): Promise<PhaseResult> {
  const durationMs = seconds * 1000
  const padding = 'x'.repeat(Math.max(0, config.bodyBytes - 24))
  const phase: Phase = {
    id,
    start: 0,
    end: Number.POSITIVE_INFINITY,
    sent: 0,
    acks: 0,
    errors: {},
    deliveriesInWindow: 0,
    deliveries: 0,
    lastArrival: 0,
    e2e: [],
    ack: [],
    resets: 0,
    expected: 0,
    intended: 0,
  }
  phases[id] = phase
  current = phase
  const lag = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS })
  lag.enable()
  const cpu0 = process.cpuUsage()
  send({ type: 'phase-start', offered })
  phase.start = performance.now()
  phase.end = phase.start + durationMs
  let cursor = id * 7919 // start phases at different sockets
  const maxSends = Math.ceil(offered * seconds) + 1
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now()
      const due = Math.min(maxSends, Math.floor((Math.min(now, phase.end) - phase.start) * (offered / 1000)))
      let skipped = 0
      while (phase.sent < due && skipped < conns.length) {
        const i = cursor++ % conns.length
        const conn = conns[i]!
        const spec = config.sockets[i]!
        if (!conn.isOpen()) {
          skipped++
          continue
        }
        skipped = 0
        const t = performance.now()
        const clientId = randomUUID()
        const body = `b${id}|${t.toFixed(3)}|${padding}`
        conn.sendMessage(
          `{"type":"send","roomId":"${spec.roomId}","clientId":"${clientId}","body":"${body}"}`,
          spec.roomId,
          clientId,
          body,
        )
        const buffered = conn.bufferedAmount()
        if (buffered > maxBuffered) maxBuffered = buffered
        phase.sent++
        phase.intended += roomSize.get(spec.roomId) ?? 0
        if (cursor > 1e9) cursor = 0
      }
      if (now >= phase.end || phase.sent >= maxSends || skipped >= conns.length) resolve()
      else setTimeout(tick, 2)
    }
    tick()
  })
  const windowCpu = process.cpuUsage(cpu0)
  const windowSeconds = (performance.now() - phase.start) / 1000
  lag.disable()
  send({ type: 'phase-end', offered })

  // Drain: wait for every ack (or error) and every delivery, bounded by drainMs.
  const drainStart = performance.now()
  const answered = () => phase.acks + Object.values(phase.errors).reduce((a, b) => a + b, 0)
  const complete = () => answered() >= phase.sent && phase.deliveries >= phase.expected
  while (performance.now() - drainStart < config.drainMs && !complete()) await sleep(20)
  const drained = complete()
  const [p50, p90, p99, max] = percentiles(phase.e2e, [50, 90, 99, 100])
  const [a50, a99, amax] = percentiles(phase.ack, [50, 99, 100])
  const result: PhaseResult = {
    offered,
    seconds,
    sent: phase.sent,
    sentPerSecond: round(phase.sent / seconds, 0),
    acks: phase.acks,
    errors: phase.errors,
    deliveriesInWindow: phase.deliveriesInWindow,
    deliveriesPerSecond: round(phase.deliveriesInWindow / seconds, 0),
    deliveries: phase.deliveries,
    expectedDeliveries: phase.expected,
    intendedDeliveries: phase.intended,
    deliveredPct: phase.intended > 0 ? round((phase.deliveries / phase.intended) * 100, 2) : 0,
    drainMs: round(Math.max(0, phase.lastArrival - phase.end), 0),
    drained,
    e2eMs: { p50: round(p50!, 2), p90: round(p90!, 2), p99: round(p99!, 2), max: round(max!, 1) },
    ackMs: { p50: round(a50!, 2), p99: round(a99!, 2), max: round(amax!, 1) },
    resets: phase.resets,
    closed,
    generator: {
      cpuPct: round(((windowCpu.user + windowCpu.system) / 1e6 / windowSeconds) * 100, 0),
      eventLoopDelayP99Ms: round(loopDelayMs(lag.percentile(99), LOOP_RESOLUTION_MS), 1),
      maxBufferedBytes: maxBuffered,
    },
  }
  phase.e2e = []
  phase.ack = []
  return result
}

let config: LoadConfig | undefined
let conns: Conn[] = []
/** Commands run one at a time, in order. */
let queue: Promise<void> = Promise.resolve()

const exit = () => {
  for (const conn of conns) conn?.close()
  send({ type: 'done' })
  setTimeout(() => process.exit(0), 100)
}

process.on('message', (message: ParentMessage) => {
  queue = queue
    .then(async () => {
      switch (message.type) {
        case 'connect':
          config = message.config
          for (const s of config.sockets) roomSize.set(s.roomId, (roomSize.get(s.roomId) ?? 0) + 1)
          conns = await connectAll(config)
          break
        case 'phase':
          if (!config) throw new Error('phase before connect')
          send({ type: 'phase', result: await runPhase(config, conns, message.offered, message.id, message.seconds) })
          break
        case 'stop':
          exit()
          break
      }
    })
    .catch((error) => {
      send({ type: 'fatal', message: (error as Error).message })
      exit()
    })
})
// The parent went away: nothing left to measure for.
process.on('disconnect', () => process.exit(0))
