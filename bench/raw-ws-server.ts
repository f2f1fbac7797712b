/**
 * The baseline: a raw `ws` broadcast server with no database, speaking the
 * minimal subset of Ferry's protocol the load generator uses (subscribe →
 * caught_up; send → immediate ack + an `events` frame to every socket in the
 * room, sender included). Frames have Ferry's shapes so serialisation costs
 * are comparable. No auth, no validation beyond JSON.parse, no persistence.
 * Run: PORT=4000 npx tsx bench/raw-ws-server.ts (GET /healthz answers 200).
 */
import http from 'node:http'
import { WebSocket, WebSocketServer } from 'ws'

const port = Number(process.env.PORT ?? 4000)
const host = process.env.HOST ?? '127.0.0.1'

interface Room {
  seq: number
  sockets: Set<WebSocket>
}
const rooms = new Map<string, Room>()
const room = (id: string) => {
  let r = rooms.get(id)
  if (!r) {
    r = { seq: 0, sockets: new Set() }
    rooms.set(id, r)
  }
  return r
}

const server = http.createServer((req, res) => {
  res.writeHead(req.url === '/healthz' ? 200 : 404, { 'content-type': 'application/json' })
  res.end(req.url === '/healthz' ? '{"status":"ok"}' : '{}')
})
const wss = new WebSocketServer({ server, path: '/api/ws', perMessageDeflate: false, maxPayload: 64 * 1024 })
const AUTHOR = '00000000-0000-4000-8000-000000000000'

wss.on('connection', (ws) => {
  const joined = new Set<Room>()
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
        const r = room(String(roomId))
        r.sockets.add(ws)
        joined.add(r)
        ws.send(JSON.stringify({ type: 'caught_up', roomId, lastSeq: r.seq }))
      }
    } else if (frame.type === 'send') {
      const r = room(String(frame.roomId))
      const event = {
        roomId: frame.roomId,
        seq: ++r.seq,
        kind: 'message.created',
        authorId: AUTHOR,
        authorName: 'raw',
        clientId: frame.clientId,
        body: frame.body,
        targetSeq: null,
        reaction: null,
        createdAt: new Date().toISOString(),
      }
      const { seq, clientId, body, createdAt, authorId, authorName, roomId } = event
      ws.send(
        JSON.stringify({
          type: 'ack',
          roomId,
          clientId,
          seq,
          duplicate: false,
          message: { roomId, seq, clientId, authorId, authorName, body, createdAt },
        }),
      )
      const out = JSON.stringify({ type: 'events', roomId, events: [event] })
      for (const peer of r.sockets) if (peer.readyState === WebSocket.OPEN) peer.send(out)
    }
  })
  ws.on('close', () => {
    for (const r of joined) r.sockets.delete(ws)
  })
})

server.listen(port, host, () => console.log(`raw ws server on ws://${host}:${port}/api/ws`))
const stop = () => {
  for (const ws of wss.clients) ws.terminate()
  server.close(() => process.exit(0))
  setTimeout(() => process.exit(0), 2000).unref()
}
process.once('SIGTERM', stop)
process.once('SIGINT', stop)
