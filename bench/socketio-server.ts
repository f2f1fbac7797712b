/**
 * Baseline: a Socket.IO server with no database, the way a Socket.IO chat is
 * usually written: one room per chat room (`socket.join`), every message
 * broadcast to its room including the sender (`io.to(room).emit`), the sender
 * answered through the acknowledgement callback. Payloads have Ferry's frame
 * shapes so serialisation costs are comparable. WebSocket transport only (no
 * long-polling), no per-message deflate, no auth, no persistence.
 * Run: PORT=4000 npx tsx bench/socketio-server.ts (GET /healthz answers 200).
 */
import http from 'node:http'
import { Server } from 'socket.io'

const port = Number(process.env.PORT ?? 4000)
const host = process.env.HOST ?? '127.0.0.1'
const AUTHOR = '00000000-0000-4000-8000-000000000000'

const server = http.createServer((req, res) => {
  if (req.url?.startsWith('/socket.io/')) return // Socket.IO's own handler answers
  res.writeHead(req.url === '/healthz' ? 200 : 404, { 'content-type': 'application/json' })
  res.end(req.url === '/healthz' ? '{"status":"ok"}' : '{}')
})
const ioServer = new Server(server, {
  transports: ['websocket'],
  serveClient: false,
  perMessageDeflate: false,
  maxHttpBufferSize: 64 * 1024,
})
const seqs = new Map<string, number>()

ioServer.on('connection', (socket) => {
  socket.on('subscribe', (frame: any, reply?: (answer: unknown) => void) => {
    for (const { roomId } of Array.isArray(frame?.rooms) ? frame.rooms : []) {
      socket.join(String(roomId))
      reply?.({ type: 'caught_up', roomId, lastSeq: seqs.get(String(roomId)) ?? 0 })
    }
  })
  socket.on('send', (frame: any, reply?: (answer: unknown) => void) => {
    const roomId = String(frame?.roomId)
    const seq = (seqs.get(roomId) ?? 0) + 1
    seqs.set(roomId, seq)
    const { clientId, body } = frame
    const createdAt = new Date().toISOString()
    reply?.({
      type: 'ack',
      roomId,
      clientId,
      seq,
      duplicate: false,
      message: { roomId, seq, clientId, authorId: AUTHOR, authorName: 'socket.io', body, createdAt },
    })
    const event = {
      roomId,
      seq,
      kind: 'message.created',
      authorId: AUTHOR,
      authorName: 'socket.io',
      clientId,
      body,
      targetSeq: null,
      reaction: null,
      createdAt,
    }
    ioServer.to(roomId).emit('events', { type: 'events', roomId, events: [event] })
  })
})

server.listen(port, host, () => console.log(`socket.io server on http://${host}:${port}`))
const stop = () => {
  ioServer.disconnectSockets(true)
  server.close(() => process.exit(0))
  setTimeout(() => process.exit(0), 2000).unref()
}
process.once('SIGTERM', stop)
process.once('SIGINT', stop)
