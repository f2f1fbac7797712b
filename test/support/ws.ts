import { randomUUID } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { WebSocket } from 'ws'
import type { RealtimeConfig } from '../../server/config.ts'
import type { ClientFrame, ServerFrame } from '../../shared/protocol.ts'
import type { RoomEvent } from '../../shared/schemas.ts'
import * as api from './api.ts'
import { type Agent, TEST_ORIGIN, testConfig } from './app.ts'

/** Realtime settings for a test app: the defaults with some overridden. */
export const realtimeConfig = (overrides: Partial<RealtimeConfig>): RealtimeConfig => ({
  ...testConfig().realtime,
  ...overrides,
})

export function wsUrl(app: FastifyInstance): string {
  const { port } = app.server.address() as AddressInfo
  return `ws://127.0.0.1:${port}/api/ws`
}

/** Resolves once `condition` holds, polling; rejects after `timeoutMs` (generous: the suite runs on 2 cores). */
export async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

export interface Closed {
  code: number
  reason: string
}

/** A real `ws` client that records every frame it receives. */
export class TestSocket {
  readonly frames: ServerFrame[] = []
  readonly closed: Promise<Closed>
  #waiters: Array<() => void> = []

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.frames.push(JSON.parse(data.toString()) as ServerFrame)
      for (const wake of this.#waiters.splice(0)) wake()
    })
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        resolve({ code, reason: reason.toString() })
        for (const wake of this.#waiters.splice(0)) wake()
      })
    })
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN
  }

  send(frame: ClientFrame | Record<string, unknown> | string): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame))
  }

  /** The first frame from index `from` on that matches, waiting for it if need be. */
  async waitFor<T extends ServerFrame['type']>(
    type: T,
    match: (frame: Extract<ServerFrame, { type: T }>) => boolean = () => true,
    { from = 0, timeoutMs = 20_000 } = {},
  ): Promise<Extract<ServerFrame, { type: T }>> {
    const deadline = Date.now() + timeoutMs
    let index = from
    for (;;) {
      for (; index < this.frames.length; index++) {
        const frame = this.frames[index]!
        if (frame.type === type && match(frame as Extract<ServerFrame, { type: T }>)) {
          return frame as Extract<ServerFrame, { type: T }>
        }
      }
      if (!this.isOpen) throw new Error(`socket closed while waiting for ${type}`)
      const remaining = deadline - Date.now()
      if (remaining <= 0) throw new Error(`timed out waiting for a ${type} frame`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining)
        this.#waiters.push(() => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
  }

  /** Subscribes to one room and waits for its caught_up. */
  async subscribe(roomId: string, after = 0): Promise<{ caughtUp: number; from: number }> {
    const from = this.frames.length
    this.send({ type: 'subscribe', rooms: [{ roomId, after }] })
    const caughtUp = await this.waitFor('caught_up', (f) => f.roomId === roomId, { from })
    return { caughtUp: caughtUp.lastSeq, from }
  }

  /** Every room event received for the room, in arrival order. */
  events(roomId: string, from = 0): RoomEvent[] {
    return this.frames
      .slice(from)
      .flatMap((frame) => (frame.type === 'events' && frame.roomId === roomId ? frame.events : []))
  }

  seqs(roomId: string, from = 0): number[] {
    return this.events(roomId, from).map((event) => event.seq)
  }

  lastSeq(roomId: string): number {
    return this.seqs(roomId).at(-1) ?? 0
  }

  close(): Promise<Closed> {
    this.ws.close()
    return this.closed
  }
}

export interface ConnectOptions {
  origin?: string | null
  cookie?: string
  autoPong?: boolean
  /** `?v=` on the URL: 2 asks for the frames added since version 1 (receipts, read_marker). */
  protocol?: number
}

/** Opens a socket as `agent` (or with the given cookie) and waits for the hello frame. */
export async function connect(
  app: FastifyInstance,
  agent: Agent | null,
  options: ConnectOptions = {},
): Promise<TestSocket> {
  const headers: Record<string, string> = {}
  const cookie = options.cookie ?? agent?.cookie
  if (cookie) headers.cookie = cookie
  const origin = options.origin === undefined ? TEST_ORIGIN : options.origin
  if (origin !== null) headers.origin = origin
  const url = options.protocol === undefined ? wsUrl(app) : `${wsUrl(app)}?v=${options.protocol}`
  const ws = new WebSocket(url, { headers, autoPong: options.autoPong ?? true })
  const socket = new TestSocket(ws)
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve())
    ws.once('error', reject)
    ws.once('unexpected-response', (_request, response) => reject(new Error(`upgrade refused: ${response.statusCode}`)))
  })
  await socket.waitFor('hello')
  return socket
}

/** Attempts an upgrade that should be refused; returns the HTTP status and JSON body. */
export function refusedUpgrade(app: FastifyInstance, headers: Record<string, string>) {
  return new Promise<{ status: number; body: { error: { code: string } } }>((resolve, reject) => {
    const ws = new WebSocket(wsUrl(app), { headers })
    ws.once('open', () => {
      ws.terminate()
      reject(new Error('the upgrade was accepted'))
    })
    ws.once('error', () => {})
    ws.once('unexpected-response', (_request, response) => {
      let body = ''
      response.on('data', (chunk: Buffer) => {
        body += chunk.toString()
      })
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: JSON.parse(body) }))
    })
  })
}

/** A new room's id (the socket tests name rooms by id only). */
export const createRoom = async (agent: Agent, visibility: 'public' | 'private' = 'public'): Promise<string> =>
  (await api.createRoom(agent, visibility)).id

export const joinRoom = api.join

/** Posts over HTTP and returns the stored seq. */
export const postMessage = async (agent: Agent, roomId: string, body = 'hello'): Promise<number> =>
  (await api.sendMessage(agent, roomId, body)).seq

/** Every stored event of a room, through the HTTP catch-up endpoint. */
export async function storedEvents(agent: Agent, roomId: string): Promise<RoomEvent[]> {
  const events: RoomEvent[] = []
  for (;;) {
    const after = events.at(-1)?.seq ?? 0
    const response = await agent.request('GET', `/api/rooms/${roomId}/events?after=${after}&limit=500`)
    const page = response.json() as { events: RoomEvent[]; hasMore: boolean }
    events.push(...page.events)
    if (!page.hasMore) return events
  }
}

/** Appends `count` messages through the appender (the one append path), quickly. */
export async function appendMessages(app: FastifyInstance, agent: Agent, roomId: string, count: number) {
  await Promise.all(
    Array.from({ length: count }, (_, i) =>
      app.appender.append({
        roomId,
        authorId: agent.user.id,
        authorName: agent.user.username,
        clientId: randomUUID(),
        body: `message ${i}`,
      }),
    ),
  )
}

/** Checks that `seqs` are exactly first..last, each once, in order. */
export function isGapFree(seqs: readonly number[], first: number, last: number): boolean {
  if (seqs.length !== last - first + 1) return false
  return seqs.every((seq, i) => seq === first + i)
}
