import { expect } from 'vitest'
import { WebSocket } from 'ws'
import type { Message, RoomEvent } from '../../shared/schemas.ts'
import type { ChaosClient } from './chaos-client.ts'
import { TestSocket } from './ws.ts'

/**
 * What the chaos soaks (one server process killed and restarted; several
 * processes on one database, one of them killed) share: HTTP set-up, the
 * stored truth as each user reads it back, and the audit of DESIGN.md §1's
 * promises against what every client wrote, was acked for and saw.
 */

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Polls until `condition` holds or `timeoutMs` passes; says which. */
export async function settle(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) return false
    await sleep(50)
  }
  return true
}

export interface Signed {
  cookie: string
  userId: string
}

export async function post(url: string, body: unknown, cookie = ''): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(cookie ? { cookie } : {}) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
}

export async function signUp(url: string, username: string): Promise<Signed> {
  const response = await post(`${url}/api/auth/signup`, { username, password: 'correct horse battery' })
  if (response.status !== 201) throw new Error(`signup ${response.status}: ${await response.text()}`)
  const cookie = response.headers.getSetCookie()[0]!.split(';')[0]!
  return { cookie, userId: ((await response.json()) as { user: { id: string } }).user.id }
}

export async function storedEvents(url: string, cookie: string, roomId: string): Promise<RoomEvent[]> {
  const events: RoomEvent[] = []
  for (;;) {
    const after = events.at(-1)?.seq ?? 0
    const response = await fetch(`${url}/api/rooms/${roomId}/events?after=${after}&limit=500`, { headers: { cookie } })
    expect(response.status).toBe(200)
    const page = (await response.json()) as { events: RoomEvent[]; hasMore: boolean }
    events.push(...page.events)
    if (!page.hasMore) return events
  }
}

/** The whole history, paged newest first as the app does, returned oldest first. */
export async function storedHistory(url: string, cookie: string, roomId: string): Promise<Message[]> {
  const messages: Message[] = []
  for (;;) {
    const before = messages.at(-1)?.seq
    const query = before === undefined ? 'limit=100' : `limit=100&before=${before}`
    const response = await fetch(`${url}/api/rooms/${roomId}/messages?${query}`, { headers: { cookie } })
    expect(response.status).toBe(200)
    const page = (await response.json()) as { messages: Message[]; hasMore: boolean }
    messages.push(...page.messages)
    if (!page.hasMore) return messages.reverse()
  }
}

/** Replays each room's tail (what a resume may ask for) over a fresh socket. */
export async function replayTail(url: string, cookie: string, roomId: string, lastSeq: number): Promise<RoomEvent[]> {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/api/ws`, { headers: { cookie, origin: url } })
  const socket = new TestSocket(ws)
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve())
    ws.once('error', reject)
  })
  await socket.waitFor('hello')
  const { from } = await socket.subscribe(roomId, Math.max(0, lastSeq - 500))
  const events = socket.events(roomId, from)
  await socket.close()
  return events
}

/** Every room's log as the first user reads it, and how many other users read something else. */
export async function readTruth(
  url: string,
  users: readonly Signed[],
  rooms: readonly string[],
): Promise<{ truth: Map<string, RoomEvent[]>; readMismatches: number }> {
  const truth = new Map<string, RoomEvent[]>()
  for (const roomId of rooms) truth.set(roomId, await storedEvents(url, users[0]!.cookie, roomId))
  let readMismatches = 0
  for (const user of users.slice(1)) {
    for (const roomId of rooms) {
      if (JSON.stringify(await storedEvents(url, user.cookie, roomId)) !== JSON.stringify(truth.get(roomId))) {
        readMismatches++
      }
    }
  }
  return { truth, readMismatches }
}

export interface SoakAudit {
  written: number
  acked: number
  stored: number
  lost: number
  duplicates: number
  gaps: number
  orderViolations: number
  phantoms: number
  viewMismatches: number
  historyMismatches: number
  replayMismatches: number
  /** The first order violations, described. */
  violations: string[]
}

/** Checks the stored truth against every client (client i is users[i]): lost, doubled, reordered, unseen. */
export async function auditSoak(
  url: string,
  users: readonly Signed[],
  rooms: readonly string[],
  clients: readonly ChaosClient[],
  truth: Map<string, RoomEvent[]>,
): Promise<SoakAudit> {
  const lastSeqOf = (roomId: string) => truth.get(roomId)!.at(-1)?.seq ?? 0
  // Messages are what clients write; the log also holds member notices (one per join), which count for gaps only.
  const messagesOf = (events: readonly RoomEvent[]) => events.filter((event) => event.kind === 'message.created')
  const stored = [...truth.values()].reduce((sum, events) => sum + messagesOf(events).length, 0)
  const seqOf = new Map<string, number>()
  let duplicates = 0
  let gaps = 0
  let historyMismatches = 0
  let replayMismatches = 0
  for (const roomId of rooms) {
    const events = truth.get(roomId)!
    events.forEach((event, i) => {
      if (event.seq !== i + 1) gaps++
      if (event.kind !== 'message.created') return
      const key = `${event.authorId}:${event.clientId}`
      if (seqOf.has(key)) duplicates++
      seqOf.set(key, event.seq)
    })
    const history = await storedHistory(url, users[0]!.cookie, roomId)
    const asMessages = messagesOf(events).map((e) => [e.seq, e.clientId, e.authorId, e.body])
    if (JSON.stringify(history.map((m) => [m.seq, m.clientId, m.authorId, m.body])) !== JSON.stringify(asMessages)) {
      historyMismatches++
    }
    const tail = await replayTail(url, users[0]!.cookie, roomId, lastSeqOf(roomId))
    if (JSON.stringify(tail) !== JSON.stringify(events.slice(Math.max(0, events.length - 500)))) replayMismatches++
  }
  let written = 0
  let acked = 0
  let lost = 0
  let orderViolations = 0
  const violations: string[] = []
  let phantoms = stored
  let viewMismatches = 0
  for (const [i, client] of clients.entries()) {
    const userId = users[i]!.userId
    for (const roomId of rooms) {
      const mine = client.written.get(roomId)!
      written += mine.length
      const seqs = mine.map((message) => seqOf.get(`${userId}:${message.clientId}`))
      phantoms -= seqs.filter((seq) => seq !== undefined).length
      for (let k = 1; k < seqs.length; k++) {
        if (seqs[k - 1] !== undefined && seqs[k] !== undefined && seqs[k]! < seqs[k - 1]!) {
          orderViolations++
          violations.push(
            `client${i} room ${roomId}: "${mine[k]!.body}" stored as seq ${seqs[k]} before "${mine[k - 1]!.body}" (seq ${seqs[k - 1]})`,
          )
        }
      }
      const seen = client.seen.get(roomId)!
      for (const event of truth.get(roomId)!) if (seen.get(event.seq) !== event.clientId) viewMismatches++
    }
    for (const [clientId, seq] of client.acked) {
      acked++
      if (seqOf.get(`${userId}:${clientId}`) !== seq) lost++
    }
  }
  return {
    written,
    acked,
    stored,
    lost,
    duplicates,
    gaps,
    orderViolations,
    phantoms,
    viewMismatches,
    historyMismatches,
    replayMismatches,
    violations: violations.slice(0, 5),
  }
}

/** Lines of a server's log that mean it crashed, and those logged at error level. */
export function problemLines(output: string): { crashLines: string[]; errorLines: string[] } {
  return {
    crashLines: output.match(/^.*(uncaught|unhandled|FATAL|"level":60).*$/gim) ?? [],
    errorLines: output.match(/^.*"level":50.*$/gm) ?? [],
  }
}
