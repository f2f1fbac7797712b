/**
 * The one WebSocket. Reconnects with full-jitter backoff (cap 30 s), and at
 * once when asked (app start, `online`, tab becoming visible). Knows nothing
 * about rooms: frames go to the engine.
 */
import { CLOSE_CODES } from '../../shared/errors.ts'
import type { ClientFrame, ServerFrame } from '../../shared/protocol.ts'
import { fullJitter } from './backoff.ts'

export type SocketState = 'idle' | 'connecting' | 'open' | 'waiting' | 'ended'

export interface ConnectionHandlers {
  onState: (state: SocketState, retryAt: number | null) => void
  onFrame: (frame: ServerFrame) => void
  /** Close code 4001: the session is gone, stop until the person signs in again. */
  onSessionEnded: () => void
}

export interface ConnectionOptions {
  url?: string
  createSocket?: (url: string) => WebSocket
  random?: () => number
}

export function defaultSocketUrl(): string {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:'
  return `${scheme}//${location.host}/api/ws`
}

export class Connection {
  private socket: WebSocket | null = null
  private attempt = 0
  private timer: ReturnType<typeof setTimeout> | null = null
  private stopped = true
  private readonly url: string
  private readonly createSocket: (url: string) => WebSocket
  private readonly random: () => number

  constructor(
    private readonly handlers: ConnectionHandlers,
    options: ConnectionOptions = {},
  ) {
    this.url = options.url ?? defaultSocketUrl()
    this.createSocket = options.createSocket ?? ((url) => new WebSocket(url))
    this.random = options.random ?? Math.random
  }

  start(): void {
    this.stopped = false
    this.connectNow()
  }

  stop(): void {
    this.stopped = true
    this.clearTimer()
    const socket = this.socket
    this.socket = null
    socket?.close(1000, 'stopped')
    this.handlers.onState('idle', null)
  }

  /** Connect now unless already connected or connecting (network came back, tab visible…). */
  connectNow(): void {
    if (this.stopped || this.socket) return
    this.clearTimer()
    this.open()
  }

  /** The server greeted us: the link works, so the next failure starts backoff from scratch. */
  healthy(): void {
    this.attempt = 0
  }

  /** Drops a socket that looks dead (no acks) and reconnects with backoff. */
  recycle(reason: string): void {
    this.socket?.close(4000, reason)
  }

  send(frame: ClientFrame): boolean {
    if (this.socket?.readyState !== WebSocket.OPEN) return false
    this.socket.send(JSON.stringify(frame))
    return true
  }

  private clearTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
  }

  private open(): void {
    this.handlers.onState('connecting', null)
    const socket = this.createSocket(this.url)
    this.socket = socket
    socket.onopen = () => {
      if (this.socket === socket) this.handlers.onState('open', null)
    }
    socket.onmessage = (event) => {
      if (this.socket !== socket || typeof event.data !== 'string') return
      let frame: ServerFrame
      try {
        frame = JSON.parse(event.data) as ServerFrame
      } catch {
        return
      }
      this.handlers.onFrame(frame)
    }
    socket.onclose = (event) => {
      if (this.socket !== socket) return
      this.socket = null
      if (event.code === CLOSE_CODES.sessionEnded) {
        this.stopped = true
        this.handlers.onState('ended', null)
        this.handlers.onSessionEnded()
        return
      }
      this.scheduleReconnect()
    }
  }

  private scheduleReconnect(): void {
    if (this.stopped) return
    const delay = fullJitter(this.attempt, 500, 30_000, this.random)
    this.attempt += 1
    this.handlers.onState('waiting', Date.now() + delay)
    this.timer = setTimeout(() => {
      this.timer = null
      this.connectNow()
    }, delay)
  }
}
