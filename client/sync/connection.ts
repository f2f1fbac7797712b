/**
 * The one WebSocket. Reconnects with full-jitter backoff (cap 30 s), and at
 * once when asked (app start, `online`, tab becoming visible). Knows nothing
 * about rooms: checked frames go to the engine.
 *
 * Liveness (docs/CLIENT.md): a dead link often sends nothing at all, not even
 * a close, so the socket is never trusted for longer than it stays heard:
 * 1. from creating the socket, `hello` must arrive within `helloTimeoutMs`;
 * 2. after `idlePingMs` with no frame, a `ping` goes out; no frame at all within
 *    `pongTimeoutMs` after it declares the link dead;
 * 3. `check()` (tab visible, `online`) pings at once;
 * 4. a frame that fails the shared schema is a protocol error: logged, never
 *    passed on, and the socket is replaced.
 * A socket given up is detached at once (its close handshake may never end on a
 * dead link), so the state says "waiting" right away and a fresh one follows.
 */
import { Check } from 'typebox/schema'
import { CLOSE_CODES } from '../../shared/errors.ts'
import { type ClientFrame, ServerFrame } from '../../shared/protocol.ts'
import type { FocusFrame } from '../../shared/push/contract.ts'
import type { OutgoingFrame } from '../outbox/operations.ts'
import { fullJitter } from './backoff.ts'

export type SocketState = 'idle' | 'connecting' | 'open' | 'waiting' | 'ended'

export interface ConnectionHandlers {
  onState: (state: SocketState, retryAt: number | null) => void
  /** Every frame after it passed the shared schema (`pong` is consumed here). */
  onFrame: (frame: ServerFrame) => void
  /** Close code 4001: the session is gone, stop until the person signs in again. */
  onSessionEnded: () => void
}

export const LIVENESS = {
  /** Socket created → `hello` received; covers a handshake or a greeting that never comes. */
  helloTimeoutMs: 10_000,
  /** Silence before we ask: well under the server's 25 s protocol pings, so a quiet room is probed too. */
  idlePingMs: 15_000,
  /** After a `ping`, any frame proves the link; none within this and the link is declared dead. */
  pongTimeoutMs: 7_000,
}
export type Liveness = typeof LIVENESS

export const RECONNECT_BASE_MS = 500
export const RECONNECT_CAP_MS = 30_000

export interface ConnectionOptions {
  url?: string
  createSocket?: (url: string) => WebSocket
  random?: () => number
  liveness?: Partial<Liveness>
}

/**
 * The protocol version this client speaks (docs/PROTOCOL.md, "Connecting"):
 * 2 adds `receipts` and `read_marker`, which a server sends only to clients
 * that ask, since a client refuses frames its schema does not know.
 */
export const PROTOCOL_QUERY = 'v=2'

export function defaultSocketUrl(): string {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:'
  return `${scheme}//${location.host}/api/ws?${PROTOCOL_QUERY}`
}

/** readyState values (the WebSocket constants are missing where there is no WebSocket, e.g. some tests). */
const OPEN = 1
const CLOSING = 2
/** Our own close code for a socket we give up on (scripts may only use 1000 and 3000–4999). */
const GIVE_UP = 4000

export class Connection {
  private socket: WebSocket | null = null
  private greeted = false
  private attempt = 0
  private lastDropWasProtocolError = false
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null
  private livenessTimer: ReturnType<typeof setTimeout> | null = null
  private probing = false
  private pingId = 0
  private stopped = true
  private readonly url: string
  private readonly createSocket: (url: string) => WebSocket
  private readonly random: () => number
  private readonly liveness: Liveness

  constructor(
    private readonly handlers: ConnectionHandlers,
    options: ConnectionOptions = {},
  ) {
    this.url = options.url ?? defaultSocketUrl()
    this.createSocket = options.createSocket ?? ((url) => new WebSocket(url))
    this.random = options.random ?? Math.random
    this.liveness = { ...LIVENESS, ...options.liveness }
  }

  start(): void {
    this.stopped = false
    this.connectNow()
  }

  stop(): void {
    this.stopped = true
    this.clearReconnect()
    const socket = this.socket
    if (socket) this.detach(socket, 1000, 'stopped')
    this.handlers.onState('idle', null)
  }

  /** Connect now unless a socket is open or opening; one that is closing is replaced. */
  connectNow(): void {
    if (this.stopped) return
    const socket = this.socket
    if (socket && socket.readyState < CLOSING) return
    if (socket) this.detach(socket, GIVE_UP, 'closing')
    this.clearReconnect()
    this.open()
  }

  /** A fresh liveness check (tab visible again, network back): ping now, or connect if there is no socket. */
  check(): void {
    if (this.stopped) return
    const socket = this.socket
    if (!socket || socket.readyState >= CLOSING) this.connectNow()
    else if (this.greeted && !this.probing) this.probe(socket)
  }

  /** Drops a socket that looks dead (no acks, `offline`) and reconnects with backoff. */
  recycle(reason: string): void {
    const socket = this.socket
    if (socket) this.giveUp(socket, reason)
  }

  send(frame: ClientFrame | OutgoingFrame | FocusFrame): boolean {
    if (this.socket?.readyState !== OPEN) return false
    this.socket.send(JSON.stringify(frame))
    return true
  }

  private open(): void {
    this.greeted = false
    this.probing = false
    this.handlers.onState('connecting', null)
    const socket = this.createSocket(this.url)
    this.socket = socket
    this.watch(this.liveness.helloTimeoutMs, () => this.giveUp(socket, 'no hello in time'))
    socket.onopen = () => {
      if (this.socket === socket) this.handlers.onState('open', null)
    }
    socket.onmessage = (event: MessageEvent) => {
      if (this.socket === socket) this.receive(socket, event.data)
    }
    socket.onclose = (event: CloseEvent) => {
      if (this.socket !== socket) return
      this.socket = null
      this.greeted = false
      this.clearLiveness()
      if (event.code === CLOSE_CODES.sessionEnded) {
        this.stopped = true
        this.handlers.onState('ended', null)
        this.handlers.onSessionEnded()
        return
      }
      this.scheduleReconnect()
    }
  }

  private receive(socket: WebSocket, data: unknown): void {
    const frame = parseServerFrame(data)
    if (!frame) {
      const shown = typeof data === 'string' ? data.slice(0, 200) : `(${typeof data})`
      console.warn('[ferry] protocol error: the server sent a frame that fails the shared schema; reconnecting', shown)
      this.lastDropWasProtocolError = true
      this.giveUp(socket, 'bad frame')
      return
    }
    if (frame.type === 'hello') {
      this.greeted = true
      // A server that greets and then sends garbage must not get a fast reconnect loop.
      if (!this.lastDropWasProtocolError) this.attempt = 0
      this.lastDropWasProtocolError = false
    }
    if (this.greeted) {
      this.probing = false
      this.watch(this.liveness.idlePingMs, () => this.probe(socket))
    }
    if (frame.type !== 'pong') this.handlers.onFrame(frame)
  }

  private probe(socket: WebSocket): void {
    this.pingId += 1
    if (!this.send({ type: 'ping', id: this.pingId })) {
      this.giveUp(socket, 'socket not open')
      return
    }
    this.probing = true
    this.watch(this.liveness.pongTimeoutMs, () => this.giveUp(socket, 'no answer to ping'))
  }

  /** Detaches the socket, closes it without waiting for the handshake, and schedules the next one. */
  private giveUp(socket: WebSocket, reason: string): void {
    if (this.socket !== socket) return
    this.detach(socket, GIVE_UP, reason)
    this.scheduleReconnect()
  }

  private detach(socket: WebSocket, code: number, reason: string): void {
    socket.onopen = null
    socket.onmessage = null
    socket.onclose = null
    try {
      socket.close(code, reason)
    } catch {
      // Already closed, or a reason the browser refuses: the socket is dropped either way.
    }
    if (this.socket === socket) this.socket = null
    this.greeted = false
    this.probing = false
    this.clearLiveness()
  }

  private watch(ms: number, onTimeout: () => void): void {
    this.clearLiveness()
    this.livenessTimer = setTimeout(() => {
      this.livenessTimer = null
      onTimeout()
    }, ms)
  }

  private clearLiveness(): void {
    if (this.livenessTimer !== null) clearTimeout(this.livenessTimer)
    this.livenessTimer = null
  }

  private clearReconnect(): void {
    if (this.reconnectTimer !== null) clearTimeout(this.reconnectTimer)
    this.reconnectTimer = null
  }

  private scheduleReconnect(): void {
    if (this.stopped) return
    this.clearReconnect()
    const delay = fullJitter(this.attempt, RECONNECT_BASE_MS, RECONNECT_CAP_MS, this.random)
    this.attempt += 1
    this.handlers.onState('waiting', Date.now() + delay)
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null
      this.connectNow()
    }, delay)
  }
}

/** A server frame that passes the shared schema, or null (not text, not JSON, wrong shape). */
export function parseServerFrame(data: unknown): ServerFrame | null {
  if (typeof data !== 'string') return null
  let value: unknown
  try {
    value = JSON.parse(data)
  } catch {
    // Not JSON: the caller logs it as a protocol error and replaces the socket.
    return null
  }
  return Check(ServerFrame, value) ? value : null
}
