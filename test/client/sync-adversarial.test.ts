/**
 * The sync engine against a hostile or unlucky server: duplicates, replays,
 * gaps, resets and acks for messages we still hold. A fake socket and a fake
 * fetch stand in for the network.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { getCursor, newestEntries } from '../../client/db/messages.ts'
import type { FerryDatabase } from '../../client/db/schema.ts'
import { enqueue, listOutbox } from '../../client/outbox/store.ts'
import { SyncEngine } from '../../client/sync/engine.ts'
import { onTabMessage } from '../../client/tabs/bus.ts'
import type { TabMessage } from '../../client/tabs/messages.ts'
import type { ClientFrame, ServerFrame } from '../../shared/protocol.ts'
import type { Room, RoomEvent } from '../../shared/schemas.ts'
import { ALICE, event, freshDb, message, ROOM_A } from './support.ts'

class FakeSocket {
  readyState = 0
  sent: ClientFrame[] = []
  onopen: (() => void) | null = null
  onmessage: ((e: { data: string }) => void) | null = null
  onclose: ((e: { code: number }) => void) | null = null
  send(data: string) {
    this.sent.push(JSON.parse(data))
  }
  close() {
    this.readyState = 3
  }
  open() {
    this.readyState = 1
    this.onopen?.()
  }
  push(frame: ServerFrame) {
    this.onmessage?.({ data: JSON.stringify(frame) })
  }
}

const room: Room = {
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

interface Setup {
  db: FerryDatabase
  socket: FakeSocket
  engine: SyncEngine
  fetched: string[]
  published: TabMessage[]
  serverLog: RoomEvent[]
}

const stops: Array<() => void> = []
afterEach(() => {
  for (const stop of stops.splice(0)) stop()
  vi.unstubAllGlobals()
})

async function setup(serverLog: RoomEvent[]): Promise<Setup> {
  const db = await freshDb()
  const socket = new FakeSocket()
  const fetched: string[] = []
  const published: TabMessage[] = []
  stops.push(onTabMessage((m) => published.push(m)))
  vi.stubGlobal('fetch', async (url: string) => {
    fetched.push(url)
    const u = new URL(url, 'http://ferry.test')
    const json = (body: unknown) => new Response(JSON.stringify(body), { status: 200 })
    if (u.pathname === '/api/rooms') return json({ rooms: [room] })
    if (u.pathname.endsWith('/events')) {
      const after = Number(u.searchParams.get('after'))
      const events = serverLog.filter((e) => e.seq > after)
      return json({ events, hasMore: false, lastSeq: serverLog.at(-1)?.seq ?? 0 })
    }
    if (u.pathname.endsWith('/messages')) {
      const messages = serverLog.slice(-2).map((e) => message(e.roomId, e.seq, e.clientId!, e.body!, e.authorId!))
      return json({ messages: messages.reverse(), hasMore: true })
    }
    return new Response('{}', { status: 404 })
  })
  const engine = new SyncEngine(
    db,
    { id: ALICE, username: 'alice', createdAt: '' },
    {
      viewingRoom: () => null,
      onSessionEnded: () => undefined,
      connection: { url: 'ws://ferry.test/api/ws', createSocket: () => socket as unknown as WebSocket },
    },
  )
  engine.start()
  stops.push(() => engine.stop())
  socket.open()
  socket.push({
    type: 'hello',
    userId: ALICE,
    username: 'alice',
    serverTime: new Date().toISOString(),
    limits: { sendRatePerSecond: 10, sendBurst: 30 },
  })
  await vi.waitFor(() => expect(socket.sent.some((f) => f.type === 'subscribe')).toBe(true))
  return { db, socket, engine, fetched, published, serverLog }
}

const log = (n: number) => Array.from({ length: n }, (_, i) => event(ROOM_A, i + 1))
const seqs = async (db: FerryDatabase) => (await newestEntries(db, ROOM_A, 1000)).map((e) => e.seq)

describe('sync engine, adversarial', () => {
  it('subscribes every member room after its cursor', async () => {
    const { socket } = await setup([])
    expect(socket.sent.find((f) => f.type === 'subscribe')).toEqual({
      type: 'subscribe',
      rooms: [{ roomId: ROOM_A, after: 0 }],
    })
  })

  it('drops duplicates and replays, and stores each seq once', async () => {
    const serverLog = log(3)
    const { socket, db, published } = await setup(serverLog)
    socket.push({ type: 'events', roomId: ROOM_A, events: serverLog.slice(0, 2) })
    socket.push({ type: 'events', roomId: ROOM_A, events: serverLog })
    socket.push({ type: 'events', roomId: ROOM_A, events: [{ ...serverLog[0]!, body: 'forged replay' }] })
    await vi.waitFor(async () => expect(await seqs(db)).toEqual([1, 2, 3]))
    expect((await newestEntries(db, ROOM_A, 10))[0]!.body).toBe('message 1')
    const shown = published.filter((m) => m.type === 'events').flatMap((m) => (m.type === 'events' ? m.events : []))
    expect(shown.map((e) => e.seq)).toEqual([1, 2, 3])
  })

  it('fetches the missing range over HTTP when a live event skips ahead', async () => {
    const serverLog = log(6)
    const { socket, db, fetched } = await setup(serverLog)
    socket.push({ type: 'events', roomId: ROOM_A, events: serverLog.slice(0, 2) })
    socket.push({ type: 'events', roomId: ROOM_A, events: [serverLog[5]!] })
    await vi.waitFor(async () => expect(await seqs(db)).toEqual([1, 2, 3, 4, 5, 6]))
    expect(fetched).toContain(`/api/rooms/${ROOM_A}/events?after=2&limit=500`)
    expect((await getCursor(db, ROOM_A)).lastSeq).toBe(6)
  })

  it('fetches the rest when caught_up says the server has more than we hold', async () => {
    const serverLog = log(4)
    const { socket, db } = await setup(serverLog)
    socket.push({ type: 'caught_up', roomId: ROOM_A, lastSeq: 4 })
    await vi.waitFor(async () => expect((await getCursor(db, ROOM_A)).lastSeq).toBe(4))
  })

  it('on reset, resumes after the marker, loads the latest page and keeps older history', async () => {
    const serverLog = [...log(2), event(ROOM_A, 899), event(ROOM_A, 900)]
    const { socket, db } = await setup(serverLog)
    socket.push({ type: 'events', roomId: ROOM_A, events: serverLog.slice(0, 2) })
    socket.push({ type: 'reset', roomId: ROOM_A, lastSeq: 900 })
    await vi.waitFor(async () => expect(await seqs(db)).toEqual([1, 2, 899, 900]))
    const cursor = await getCursor(db, ROOM_A)
    expect(cursor.lastSeq).toBe(900)
    expect(cursor.hasOlder).toBe(true)
    socket.push({ type: 'events', roomId: ROOM_A, events: [event(ROOM_A, 901)] })
    await vi.waitFor(async () => expect((await getCursor(db, ROOM_A)).lastSeq).toBe(901))
  })

  it('never stores a frame that fails the shared schema, and replaces the socket that sent it', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined)
    const { socket, db } = await setup([])
    const forged = [
      { type: 'events', roomId: ROOM_A, events: [{ ...event(ROOM_A, 1), seq: '1' }] },
      { type: 'events', roomId: ROOM_A, events: [{ ...event(ROOM_A, 2), kind: 'message.exploded!' }] }, // not shaped like a kind (a well-shaped unknown kind is kept: future-kinds.test.ts)
    ]
    for (const frame of forged) {
      // The same fake socket object comes back on every reconnect (full jitter, under 1 s here).
      await vi.waitFor(() => expect(socket.onmessage).not.toBeNull(), { timeout: 5_000 })
      socket.onmessage?.({ data: JSON.stringify(frame) })
      // Dropped at once, not when the server gets round to closing: nothing more is read from it.
      expect(socket.onmessage).toBeNull()
    }
    expect(warn).toHaveBeenCalledTimes(2)
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('protocol error'), expect.anything())
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(await seqs(db)).toEqual([])
    warn.mockRestore()
  })

  it('flushes the outbox after hello, and an ack (even a duplicate one) settles it once', async () => {
    const { socket, db } = await setup([])
    const item = await enqueue(db, ROOM_A, 'hello there')
    socket.push({
      type: 'hello',
      userId: ALICE,
      username: 'alice',
      serverTime: '',
      limits: { sendRatePerSecond: 10, sendBurst: 30 },
    })
    await vi.waitFor(() => expect(socket.sent.some((f) => f.type === 'send')).toBe(true))
    const ack: ServerFrame = {
      type: 'ack',
      roomId: ROOM_A,
      clientId: item.clientId,
      seq: 1,
      duplicate: false,
      message: message(ROOM_A, 1, item.clientId, 'hello there'),
    }
    socket.push(ack)
    socket.push({ ...ack, duplicate: true })
    socket.push({
      type: 'events',
      roomId: ROOM_A,
      events: [event(ROOM_A, 1, { clientId: item.clientId, body: 'hello there' })],
    })
    await vi.waitFor(async () => expect(await listOutbox(db)).toHaveLength(0))
    await vi.waitFor(async () => expect(await seqs(db)).toEqual([1]))
  })
})
