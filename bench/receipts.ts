/**
 * Read-receipt traffic (issue 9): a room of `people` members, `messages`
 * messages, and every member reading all of them, one `read` frame per
 * message as it scrolls into view (`intervalMs` apart: a worst-case client
 * that does not coalesce its own reads; the Ferry client sends at most one per
 * room per second). It counts what the reads cost: `read` frames sent, flushes
 * that wrote something (statements), rows written, and the `receipts` and
 * `read_marker` frames every socket received, beside the naive design (one
 * write per read, one frame per read to every member). Counts, not timings:
 * they hardly depend on how busy the machine is. In process, on PGlite and
 * on PostgreSQL when it is there.
 */
import { randomUUID } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import { sql } from 'kysely'
import WebSocket from 'ws'
import { buildApp } from '../server/app.ts'
import { createSession, SESSION_COOKIE } from '../server/auth/sessions.ts'
import { loadConfig } from '../server/config.ts'
import { createDatabase, type Database } from '../server/db/database.ts'
import { migrateToLatest } from '../server/db/migrate.ts'
import type { ServerFrame } from '../shared/protocol.ts'
import { createTempDatabase, postgresProblem } from './lib/pg.ts'

export interface ReceiptsResult {
  engine: 'pglite' | 'postgres'
  people: number
  messages: number
  readFrames?: number
  /** Flushes that moved at least one marker: one UPDATE statement each. */
  writeStatements?: number
  rowsWritten?: number
  receiptsFrames?: number
  readMarkerFrames?: number
  /** Every member's marker at the end equals the last seq. */
  allRead?: boolean
  naiveWrites?: number
  naiveFrames?: number
  seconds?: number
  skipped?: string
  error?: string
}

export interface ReceiptsOptions {
  people: number
  messages: number
  intervalMs: number
  log: (s: string) => void
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function measure(engine: 'pglite' | 'postgres', database: Database, o: ReceiptsOptions): Promise<ReceiptsResult> {
  const result: ReceiptsResult = { engine, people: o.people, messages: o.messages }
  await migrateToLatest(database.db)
  const config = loadConfig({
    LOG_LEVEL: 'silent',
    PORT: '0',
    WS_SEND_RATE_PER_SECOND: '1000000',
    WS_SEND_BURST: '1000000',
  })
  const app = await buildApp({ config, database, serveClient: false })
  const sockets: WebSocket[] = []
  try {
    await app.listen({ port: 0, host: '127.0.0.1' })
    const { port } = app.server.address() as AddressInfo
    const { db } = app
    // Members and messages straight into the tables: the reads are what is measured.
    const { rows: users } = await sql<{ id: string; username: string }>`
      INSERT INTO users (username, password_hash)
      SELECT 'reader_' || g || '_' || ${randomUUID().slice(0, 8)}, 'x' FROM generate_series(1, ${o.people}) g
      RETURNING id, username`.execute(db)
    const room = await db
      .insertInto('rooms')
      .values({ name: 'receipts', visibility: 'public', owner_id: users[0]!.id })
      .returning('id')
      .executeTakeFirstOrThrow()
    await db
      .insertInto('room_members')
      .values(users.map((u, i) => ({ room_id: room.id, user_id: u.id, role: i === 0 ? 'owner' : 'member' })))
      .execute()
    for (let i = 0; i < o.messages; i++) {
      const author = users[i % users.length]!
      await app.appender.append({
        roomId: room.id,
        authorId: author.id,
        authorName: author.username,
        clientId: randomUUID(),
        body: `message ${i}`,
      })
    }
    let writeStatements = 0
    let rowsWritten = 0
    app.bus.subscribeReadMarkers((markers) => {
      writeStatements++
      rowsWritten += markers.length
    })

    const received = { receipts: 0, read_marker: 0 }
    for (const user of users) {
      const { token } = await createSession(db, user.id, 3_600_000)
      const ws = new WebSocket(`ws://127.0.0.1:${port}/api/ws?v=2`, {
        // No Origin: not a browser (a browser's Origin must be one the server allows).
        headers: { cookie: `${SESSION_COOKIE}=${token}` },
      })
      const caughtUp = new Promise<void>((resolve, reject) => {
        ws.on('message', (data) => {
          const frame = JSON.parse(data.toString()) as ServerFrame
          if (frame.type === 'receipts' || frame.type === 'read_marker') received[frame.type]++
          if (frame.type === 'hello')
            ws.send(JSON.stringify({ type: 'subscribe', rooms: [{ roomId: room.id, after: 0 }] }))
          if (frame.type === 'caught_up') resolve()
          if (frame.type === 'error') reject(new Error(`${frame.code}: ${frame.message}`))
        })
        ws.on('error', reject)
      })
      sockets.push(ws)
      await caughtUp
    }
    // The snapshots on subscribe are not what the reads cost.
    await sleep(200)
    received.receipts = 0
    received.read_marker = 0

    const t0 = performance.now()
    let readFrames = 0
    for (let seq = 1; seq <= o.messages; seq++) {
      for (const ws of sockets) {
        ws.send(JSON.stringify({ type: 'read', roomId: room.id, seq }))
        readFrames++
      }
      await sleep(o.intervalMs)
    }
    // Two flush intervals for the last reads to be written and heard.
    await sleep(2 * config.realtime.readMarkerFlushMs + 500)
    const markers = await db.selectFrom('room_members').select('last_read_seq').where('room_id', '=', room.id).execute()
    Object.assign(result, {
      readFrames,
      writeStatements,
      rowsWritten,
      receiptsFrames: received.receipts,
      readMarkerFrames: received.read_marker,
      allRead: markers.every((m) => Number(m.last_read_seq) === o.messages),
      naiveWrites: readFrames,
      naiveFrames: readFrames * o.people,
      seconds: Math.round((performance.now() - t0) / 100) / 10,
    })
    o.log(
      `receipts ${engine}: ${readFrames} reads → ${writeStatements} statements, ${rowsWritten} rows, ` +
        `${received.receipts} receipts + ${received.read_marker} read_marker frames (naive: ${readFrames} writes, ${readFrames * o.people} frames)`,
    )
    return result
  } finally {
    for (const ws of sockets) ws.terminate()
    await app.close()
  }
}

export async function runReceipts(o: ReceiptsOptions): Promise<ReceiptsResult[]> {
  const results: ReceiptsResult[] = []
  const embedded = await createDatabase({ dataDir: 'memory://' })
  try {
    results.push(await measure('pglite', embedded, o))
  } catch (error) {
    results.push({ engine: 'pglite', people: o.people, messages: o.messages, error: (error as Error).message })
  } finally {
    await embedded.close()
  }
  const problem = await postgresProblem()
  if (problem) {
    results.push({ engine: 'postgres', people: o.people, messages: o.messages, skipped: problem })
    return results
  }
  const tmp = await createTempDatabase()
  const database = await createDatabase({ databaseUrl: tmp.url })
  try {
    results.push(await measure('postgres', database, o))
  } catch (error) {
    results.push({ engine: 'postgres', people: o.people, messages: o.messages, error: (error as Error).message })
  } finally {
    await database.close()
    await tmp.drop()
  }
  return results
}
