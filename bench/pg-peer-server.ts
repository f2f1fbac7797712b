/**
 * Baseline: the persisted peer of Ferry. A raw `ws` server speaking the same
 * subset of Ferry's frames as bench/raw-ws-server.ts, that group-commits every
 * message to PostgreSQL before it acks or fans out:
 *
 * - incoming sends are buffered; a flush takes the whole buffer (≤ MAX_BATCH)
 *   and writes it with ONE multi-row INSERT (a prepared statement over
 *   `unnest` arrays, autocommit = one round trip and one commit per flush);
 * - at most 2 flushes are in flight (a pool of 2 connections);
 * - each room's seq is handed out in memory when a flush is built, after a
 *   one-time load of max(seq) per room at start; `(room_id, seq)` is the
 *   primary key;
 * - flushes complete in the order they were built: a flush's acks and
 *   fan-out wait for its own commit and for every earlier flush, so each
 *   room's events go out in seq order and nothing is sent before it is
 *   durable;
 * - a failed flush is retried with the same seqs (ON CONFLICT DO NOTHING, in
 *   case the failed attempt did commit), so seqs stay gap-free; if it keeps
 *   failing the server exits rather than leave a hole.
 *
 * No auth, no membership check, no dedupe of client ids (Ferry does both).
 * Run: DATABASE_URL=postgres://… PORT=4000 npx tsx bench/pg-peer-server.ts
 * (creates its table if missing; GET /healthz answers 200 once loaded).
 */
import http from 'node:http'
import pg from 'pg'
import { WebSocket, WebSocketServer } from 'ws'

const port = Number(process.env.PORT ?? 4000)
const host = process.env.HOST ?? '127.0.0.1'
const MAX_IN_FLIGHT = 2
const MAX_BATCH = 2000
const AUTHOR = '00000000-0000-4000-8000-000000000000'

const db = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: MAX_IN_FLIGHT })

await db.query(`CREATE TABLE IF NOT EXISTS peer_messages (
  room_id uuid NOT NULL,
  seq bigint NOT NULL,
  client_id uuid NOT NULL,
  author_id uuid NOT NULL,
  body text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (room_id, seq)
)`)
const lastSeq = new Map<string, number>()
for (const row of (await db.query('SELECT room_id, max(seq)::int AS seq FROM peer_messages GROUP BY room_id')).rows) {
  lastSeq.set(row.room_id, row.seq)
}

const INSERT = `INSERT INTO peer_messages (room_id, seq, client_id, author_id, body)
  SELECT t.room_id, t.seq, t.client_id, $4::uuid, t.body
    FROM unnest($1::uuid[], $2::bigint[], $3::uuid[], $5::text[]) AS t(room_id, seq, client_id, body)`
const RETRY = `${INSERT} ON CONFLICT DO NOTHING`
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

interface Pending {
  ws: WebSocket
  roomId: string
  clientId: string
  body: string
}
interface Flush {
  items: Array<Pending & { seq: number }>
  done: boolean
  createdAt?: string
}

const rooms = new Map<string, Set<WebSocket>>()
let buffer: Pending[] = []
const inFlight: Flush[] = [] // in build order
let scheduled = false

function schedule() {
  if (scheduled || buffer.length === 0 || inFlight.length >= MAX_IN_FLIGHT) return
  scheduled = true
  setImmediate(() => {
    scheduled = false
    flush()
  })
}

function flush() {
  if (buffer.length === 0 || inFlight.length >= MAX_IN_FLIGHT) return
  const taken = buffer.slice(0, MAX_BATCH)
  buffer = buffer.slice(taken.length)
  const items = taken.map((p) => {
    const seq = (lastSeq.get(p.roomId) ?? 0) + 1
    lastSeq.set(p.roomId, seq)
    return { ...p, seq }
  })
  const f: Flush = { items, done: false }
  inFlight.push(f)
  void write(f).then(() => {
    f.done = true
    release()
    schedule()
  })
  schedule()
}

async function write(f: Flush) {
  const values = [
    f.items.map((i) => i.roomId),
    f.items.map((i) => i.seq),
    f.items.map((i) => i.clientId),
    AUTHOR,
    f.items.map((i) => i.body),
  ]
  for (let attempt = 0; ; attempt++) {
    try {
      if (attempt === 0) await db.query({ name: 'peer_insert', text: INSERT, values })
      else await db.query({ name: 'peer_insert_retry', text: RETRY, values })
      f.createdAt = new Date().toISOString()
      return
    } catch (error) {
      console.error(`flush of ${f.items.length} failed (attempt ${attempt + 1}): ${(error as Error).message}`)
      if (attempt >= 4) process.exit(1) // never leave a hole in a room's seqs
      await new Promise((r) => setTimeout(r, 100 * 2 ** attempt))
    }
  }
}

/** Acks and fans out every committed flush at the head of the queue (build order). */
function release() {
  while (inFlight[0]?.done) {
    const f = inFlight.shift()!
    const byRoom = new Map<string, object[]>()
    for (const { ws, roomId, clientId, body, seq } of f.items) {
      const createdAt = f.createdAt!
      if (ws.readyState === WebSocket.OPEN) {
        ws.send(
          JSON.stringify({
            type: 'ack',
            roomId,
            clientId,
            seq,
            duplicate: false,
            message: { roomId, seq, clientId, authorId: AUTHOR, authorName: 'peer', body, createdAt },
          }),
        )
      }
      const events = byRoom.get(roomId) ?? []
      if (events.length === 0) byRoom.set(roomId, events)
      events.push({
        roomId,
        seq,
        kind: 'message.created',
        authorId: AUTHOR,
        authorName: 'peer',
        clientId,
        body,
        targetSeq: null,
        reaction: null,
        createdAt,
      })
    }
    for (const [roomId, events] of byRoom) {
      const out = JSON.stringify({ type: 'events', roomId, events })
      for (const peer of rooms.get(roomId) ?? []) if (peer.readyState === WebSocket.OPEN) peer.send(out)
    }
  }
}

const server = http.createServer((req, res) => {
  res.writeHead(req.url === '/healthz' ? 200 : 404, { 'content-type': 'application/json' })
  res.end(req.url === '/healthz' ? '{"status":"ok"}' : '{}')
})
const wss = new WebSocketServer({ server, path: '/api/ws', perMessageDeflate: false, maxPayload: 64 * 1024 })

wss.on('connection', (ws) => {
  const joined = new Set<string>()
  ws.on('message', (data, isBinary) => {
    if (isBinary) return ws.close(1003)
    let frame: any
    try {
      frame = JSON.parse(data.toString())
    } catch {
      return ws.send('{"type":"error","code":"bad_request","message":"Malformed JSON"}')
    }
    if (frame.type === 'subscribe' && Array.isArray(frame.rooms)) {
      for (const { roomId } of frame.rooms) {
        const id = String(roomId)
        const set = rooms.get(id) ?? new Set()
        rooms.set(id, set)
        set.add(ws)
        joined.add(id)
        ws.send(JSON.stringify({ type: 'caught_up', roomId, lastSeq: lastSeq.get(id) ?? 0 }))
      }
    } else if (frame.type === 'send') {
      if (!UUID.test(String(frame.roomId)) || !UUID.test(String(frame.clientId)) || typeof frame.body !== 'string') {
        return ws.send('{"type":"error","code":"bad_request","message":"roomId, clientId: uuid; body: string"}')
      }
      buffer.push({ ws, roomId: String(frame.roomId), clientId: String(frame.clientId), body: String(frame.body) })
      schedule()
    }
  })
  ws.on('close', () => {
    for (const id of joined) rooms.get(id)?.delete(ws)
  })
})

server.listen(port, host, () => console.log(`persisted peer on ws://${host}:${port}/api/ws`))
const stop = () => {
  for (const ws of wss.clients) ws.terminate()
  server.close(() => void db.end().finally(() => process.exit(0)))
  setTimeout(() => process.exit(0), 3000).unref()
}
process.once('SIGTERM', stop)
process.once('SIGINT', stop)
