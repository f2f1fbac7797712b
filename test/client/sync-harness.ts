/**
 * A sync engine wired to a fake socket and a scriptable fetch, for tests that
 * run on fake timers. IndexedDB (fake-indexeddb) schedules with setImmediate,
 * which stays real, so `settle()` lets stored work finish between timer steps.
 */
import { afterEach, beforeEach, expect, vi } from 'vitest'
import type { FerryDatabase } from '../../client/db/schema.ts'
import { type EngineOptions, SyncEngine } from '../../client/sync/engine.ts'
import { onTabMessage } from '../../client/tabs/bus.ts'
import type { ConnStatus, TabMessage } from '../../client/tabs/messages.ts'
import type { ClientFrame, ServerFrame } from '../../shared/protocol.ts'
import type { Room } from '../../shared/schemas.ts'
import { ALICE, freshDb, ROOM_A } from './support.ts'

export class FakeSocket {
  readyState = 0
  sent: ClientFrame[] = []
  /** When each frame of `sent` went out (the fake clock's Date.now()). */
  sentAt: number[] = []
  /** Like the real server: every ping is answered. Off = a link that passes no data. */
  answersPings = true
  onopen: (() => void) | null = null
  onmessage: ((e: { data: string }) => void) | null = null
  onclose: ((e: { code: number }) => void) | null = null
  send(data: string) {
    const frame = JSON.parse(data) as ClientFrame
    this.sent.push(frame)
    this.sentAt.push(Date.now())
    if (frame.type === 'ping' && this.answersPings) queueMicrotask(() => this.push({ type: 'pong', id: frame.id }))
  }
  /** A dead link never completes the close handshake: no onclose. */
  close() {
    this.readyState = 2
  }
  open() {
    this.readyState = 1
    this.onopen?.()
  }
  push(frame: ServerFrame) {
    this.onmessage?.({ data: JSON.stringify(frame) })
  }
  frames<T extends ClientFrame['type']>(type: T): Array<Extract<ClientFrame, { type: T }>> {
    return this.sent.filter((f): f is Extract<ClientFrame, { type: T }> => f.type === type)
  }
}

export const room: Room = {
  id: ROOM_A,
  name: 'general',
  visibility: 'public',
  ownerId: ALICE,
  createdAt: new Date(0).toISOString(),
  lastSeq: 0,
  role: 'owner',
  memberCount: 1,
  lastMessage: null,
  unreadCount: 0,
  lastReadSeq: 0,
}

export const hello: ServerFrame = {
  type: 'hello',
  userId: ALICE,
  username: 'alice',
  serverTime: '2026-11-23T12:00:00.000Z',
  limits: { sendRatePerSecond: 10, sendBurst: 30 },
}

/** What the fake server does with one request: answer with a body, or never answer. */
export type Reply = { body: unknown; status?: number } | 'hang'
export type Route = (url: URL) => Reply | Promise<Reply>

export interface Harness {
  db: FerryDatabase
  sockets: FakeSocket[]
  socket: () => FakeSocket
  fetched: string[]
  published: TabMessage[]
  status: () => ConnStatus
  engine: SyncEngine
}

export function useFakeClock(): void {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] })
}

/** Lets promise chains and fake-indexeddb requests run (they use the real setImmediate). */
export async function settle(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((resolve) => setImmediate(resolve))
}

/** Waits (without moving the fake clock, up to 10 s of real time) until `check` passes. */
export async function until(check: () => unknown | Promise<unknown>): Promise<void> {
  const deadline = performance.now() + 10_000
  for (;;) {
    try {
      await check()
      return
    } catch (error) {
      if (performance.now() > deadline) throw error
      await settle(2)
    }
  }
}

/** Moves the fake clock in steps, letting the database work between them. */
export async function elapse(ms: number, step = 500): Promise<void> {
  for (let done = 0; done < ms; done += step) {
    await vi.advanceTimersByTimeAsync(Math.min(step, ms - done))
    await settle(4)
  }
}

const stops: Array<() => void> = []
export function stopAll(): void {
  for (const stop of stops.splice(0)) stop()
}

/** For a file of engine tests: the fake clock before each, and after each every engine stopped and every stub undone. */
export function useEngineHarness(): void {
  beforeEach(useFakeClock)
  afterEach(() => {
    stopAll()
    vi.useRealTimers()
    vi.unstubAllGlobals()
    vi.restoreAllMocks()
  })
}

/** A started engine with an open, greeted socket. `route` answers every fetch. */
export async function startEngine(
  route: Route,
  prepare?: (db: FerryDatabase) => Promise<void>,
  options: Pick<EngineOptions, 'onProblem'> = {},
): Promise<Harness> {
  const db = await freshDb()
  await prepare?.(db)
  const sockets: FakeSocket[] = []
  const fetched: string[] = []
  const published: TabMessage[] = []
  stops.push(onTabMessage((m) => published.push(m)))
  vi.stubGlobal('fetch', async (url: string, init: RequestInit = {}) => {
    fetched.push(url)
    const reply = await route(new URL(url, 'http://ferry.test'))
    if (reply === 'hang') {
      // A server that never answers; only the client's own abort ends the request.
      return new Promise((_, reject) =>
        init.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError'))),
      )
    }
    return new Response(JSON.stringify(reply.body), { status: reply.status ?? 200 })
  })
  const engine = new SyncEngine(
    db,
    { id: ALICE, username: 'alice', createdAt: '' },
    {
      viewingRoom: () => null,
      onSessionEnded: () => undefined,
      ...options,
      connection: {
        url: 'ws://ferry.test/api/ws',
        random: () => 0,
        createSocket: () => {
          const socket = new FakeSocket()
          sockets.push(socket)
          return socket as unknown as WebSocket
        },
      },
    },
  )
  engine.start()
  stops.push(() => engine.stop())
  const socket = () => sockets.at(-1)!
  socket().open()
  socket().push(hello)
  const status = () => {
    const last = published.findLast((m) => m.type === 'status')
    if (last?.type !== 'status') throw new Error('no status published yet')
    return last.status
  }
  return { db, sockets, socket, fetched, published, status, engine }
}

/** "Up to date" in the status line's terms. */
export function upToDate(status: ConnStatus): boolean {
  return status.socket === 'open' && status.catchingUp === 0 && !status.offline
}

export function expectSubscribed(socket: FakeSocket, after: number): void {
  expect(socket.frames('subscribe').at(-1)).toEqual({ type: 'subscribe', rooms: [{ roomId: ROOM_A, after }] })
}
