import { randomUUID } from 'node:crypto'
import fc from 'fast-check'
import { sql } from 'kysely'
import { Compile } from 'typebox/compile'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createSession, SESSION_COOKIE } from '../../server/auth/sessions.ts'
import { insertUser } from '../../server/auth/users.repository.ts'
import { admitMember } from '../../server/rooms/membership.ts'
import { OperationAckFrame } from '../../shared/conversation/requests.ts'
import { CLOSE_CODES, ERROR_CODES, type ErrorCode } from '../../shared/errors.ts'
import { LIMITS } from '../../shared/limits.ts'
import { ClientFrame, type ServerFrame, ServerFrame as ServerFrameSchema } from '../../shared/protocol.ts'
import { type Agent, signUp, uniqueName, useTestApp } from '../support/app.ts'
import { describeEachEngine } from '../support/databases.ts'
import {
  bodyMutations,
  fuzzAsync,
  holdsForbiddenKey,
  type Mutation,
  mutate,
  mutateFrame,
  nastyString,
  typedText,
} from '../support/fuzz.ts'
import { judgeWrite, kindOf, type LogRow, type Standing, type Write } from '../support/write-model.ts'
import { connect, createRoom, postMessage, realtimeConfig, type TestSocket } from '../support/ws.ts'

/**
 * Property-based fuzz of the WebSocket protocol through real sockets (issue 7,
 * "Reliability checks"): valid frames about real rooms, the same mutated,
 * random frames, text that is not JSON, and frames that break the transport
 * (binary, over 64 KiB, not UTF-8). Every answer is judged against the shared
 * schemas and a model of what the socket follows: each frame gets exactly its
 * documented answer (an error frame with a typed code, or the documented
 * success), nothing else arrives unasked, the socket closes only with the
 * documented codes (1008 at the 20th invalid frame in a row, 4029 at the 10th
 * rate-limited control frame in a row, 1009 over 64 KiB, 1003 binary, 1007
 * not UTF-8), and a healthy socket in the same room keeps receiving every
 * message. A close is an answer like any other: the waiting never throws on it.
 * Writes (`send` with replies and mentions, `edit`, `delete`, `react`, issue 9)
 * are judged by the shared write model (test/support/write-model.ts) against
 * the room's log as it is: a refused one leaves the room exactly as it was, a
 * stored one is acked with what was stored, and the log stays gap-free.
 * Receipts are not asked for (no `?v=2`), so a member's `read` has no answer.
 *
 * Reproduce a failure with the FUZZ_SEED it prints (FUZZ_SEED=123 npx vitest run …);
 * FUZZ_SHRINK=0 reports the first failing case as found, without shrinking it.
 */

const clientFrame = Compile(ClientFrame)
const serverFrame = Compile(ServerFrameSchema)
const operationAck = Compile(OperationAckFrame)
const INTERNALS =
  /\n\s+at |\bat \S+ \(|node_modules|\/work\/|\.[jt]s:\d|FST_|ERR_[A-Z]|SELECT |INSERT |relation "|syntax error|violates|TypeError|ReferenceError|RangeError|undefined|\[object /
/** Control frames one socket may send before its bucket (LIMITS.wsFrameBurst) can run dry: then a fresh user and socket. */
const CONTROL_FRAMES_PER_SOCKET = LIMITS.wsFrameBurst - 5
const WAIT_MS = 10_000

const fuzz = <T>(arbitrary: fc.Arbitrary<T>, numRuns: number, run: (value: T) => Promise<void>) =>
  fuzzAsync('socket fuzz', arbitrary, numRuns, run)

/** Frames that write to a room's log (answered by `ack` or `error` with the clientId). */
const WRITES = new Set<string>(['send', 'edit', 'delete', 'react'])

type Judged = { valid: true; frame: ClientFrame } | { valid: false; code: ErrorCode }

/** The answer docs/PROTOCOL.md gives a text frame, from the shared schema alone; `wire` is the text as the server decodes it. */
function judge(wire: string): Judged {
  let value: unknown
  try {
    value = JSON.parse(wire)
  } catch {
    return { valid: false, code: 'bad_request' }
  }
  if (holdsForbiddenKey(value)) return { valid: false, code: 'bad_request' }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { valid: false, code: 'bad_request' }
  const type = (value as { type?: unknown }).type
  const types = ['subscribe', 'unsubscribe', 'send', 'typing', 'ping', 'read', 'edit', 'delete', 'react', 'focus']
  if (typeof type !== 'string' || !types.includes(type)) {
    return { valid: false, code: 'unknown_frame' }
  }
  return clientFrame.Check(value)
    ? { valid: true, frame: value as ClientFrame }
    : { valid: false, code: 'validation_failed' }
}

// ---- generated frames ---------------------------------------------------------------

/** Rooms a frame can name: R (the user's), R in upper case, Q (public, not a member), P (private, not a member), one that does not exist. */
type RoomChoice = 'R' | 'R upper case' | 'Q' | 'P' | 'unknown'
const roomChoice = fc.constantFrom<RoomChoice>('R', 'R', 'R upper case', 'Q', 'P', 'unknown')
const seq = fc.oneof(fc.nat({ max: 40 }), fc.nat({ max: 700 }), fc.constant(Number.MAX_SAFE_INTEGER))

/**
 * The message a write names (an operation's target, a send's reply), resolved against R's log when
 * the frame is built: a message's seq (any author's, or the socket user's own), a seq that holds
 * another kind or nothing, one's own message by clientId (or someone else's, or the write itself,
 * or one never stored), or both ways at once, or neither.
 */
type Target =
  | { seqOf: 'message' | 'mine' | 'other' | 'beyond'; pick: number }
  | { clientIdOf: 'mine' | 'theirs' | 'itself' | 'unknown'; pick: number }
  | { both: true }
  | { neither: true }

type ClientIdPlan = { fresh: string } | { existing: number }
type AfterPlan = 'none' | 'latest' | 'unknown' | 'itself'

type Plan =
  | { type: 'ping'; id: number }
  | { type: 'subscribe'; rooms: Array<{ room: RoomChoice; after: number }> }
  | { type: 'unsubscribe'; rooms: RoomChoice[] }
  | { type: 'typing'; room: RoomChoice }
  | { type: 'read'; room: RoomChoice; seq: number }
  | {
      type: 'send'
      room: RoomChoice
      clientId: ClientIdPlan
      body: string
      after: AfterPlan
      /** 'none': not a reply. */
      reply: Target | 'none'
    }
  | {
      type: 'edit' | 'delete' | 'react'
      room: RoomChoice
      clientId: ClientIdPlan
      target: Target
      body: string
      emoji: string
      action: 'add' | 'remove'
      after: AfterPlan
    }

/** MENTION stands for a text naming R's owner (a member) and a stranger (not one): only the owner is mentioned. */
const MENTION = '@@mention@@'
const messageText = fc.oneof(
  { weight: 6, arbitrary: typedText(1, 120) },
  { weight: 1, arbitrary: fc.constantFrom('', ' ', '\n\t ', '\u2028') },
  { weight: 1, arbitrary: fc.constant(MENTION) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      'x'.repeat(LIMITS.messageBodyMax),
      'x'.repeat(LIMITS.messageBodyMax + 1),
      '😀'.repeat(4000),
    ),
  },
)

const target: fc.Arbitrary<Target> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      seqOf: fc.constantFrom('message', 'mine', 'mine', 'mine', 'other', 'beyond'),
      pick: fc.nat(),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      clientIdOf: fc.constantFrom('mine', 'mine', 'mine', 'theirs', 'itself', 'unknown'),
      pick: fc.nat(),
    }),
  },
  { weight: 1, arbitrary: fc.constantFrom<Target>({ both: true }, { neither: true }) },
)
const clientIdPlan: fc.Arbitrary<ClientIdPlan> = fc.oneof(
  { weight: 3, arbitrary: fc.uuid().map((id) => ({ fresh: id })) },
  { weight: 1, arbitrary: fc.nat().map((n) => ({ existing: n })) },
)
const afterPlan = fc.constantFrom<AfterPlan>('none', 'none', 'none', 'latest', 'latest', 'unknown', 'itself')
const emoji = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('👍', '❤️', '🎉', '🇫🇷', '👩🏽‍💻') },
  { weight: 1, arbitrary: fc.constantFrom('a', '👍👍', ' ', '\u200d', '👩🏽‍👩🏽‍👧🏽‍👦🏽', '\u0000') },
)

const plan: fc.Arbitrary<Plan> = fc.oneof(
  {
    weight: 1,
    arbitrary: fc.record({
      type: fc.constant('ping' as const),
      id: fc.oneof(fc.nat(), fc.constant(Number.MAX_SAFE_INTEGER)),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      type: fc.constant('subscribe' as const),
      rooms: fc.array(fc.record({ room: roomChoice, after: seq }), { minLength: 1, maxLength: 4 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      type: fc.constant('unsubscribe' as const),
      rooms: fc.array(roomChoice, { minLength: 1, maxLength: 3 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('typing' as const), room: roomChoice }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('read' as const), room: roomChoice, seq }) },
  {
    weight: 2,
    arbitrary: fc.record({
      type: fc.constant('send' as const),
      room: roomChoice,
      clientId: clientIdPlan,
      body: messageText,
      after: afterPlan,
      reply: fc.oneof({ weight: 3, arbitrary: fc.constant('none' as const) }, { weight: 1, arbitrary: target }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      type: fc.constantFrom('edit' as const, 'delete' as const, 'react' as const),
      room: roomChoice,
      clientId: clientIdPlan,
      target,
      body: messageText,
      emoji,
      action: fc.constantFrom('add' as const, 'remove' as const),
      after: afterPlan,
    }),
  },
)

/** How one frame travels. */
type Case =
  | { kind: 'valid'; plan: Plan }
  | { kind: 'mutated'; plan: Plan; mutations: Mutation[] }
  | { kind: 'random'; text: string }
  | { kind: 'binary'; plan: Plan }
  | { kind: 'oversize'; plan: Plan }
  | { kind: 'badUtf8' }

/** A text frame the server must refuse (and small enough to get an error frame, not a 1009 close). */
const invalidText = fc
  .oneof(
    mutateFrame,
    nastyString(80),
    fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
  )
  .filter((text) => {
    const wire = Buffer.from(text, 'utf8')
    return wire.length <= LIMITS.wsMaxFrameBytes && !judge(wire.toString('utf8')).valid
  })

const fuzzedCase: fc.Arbitrary<Case> = fc.oneof(
  { weight: 4, arbitrary: plan.map((p) => ({ kind: 'valid' as const, plan: p })) },
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('mutated' as const), plan, mutations: bodyMutations }) },
  {
    weight: 4,
    arbitrary: fc
      .oneof(
        mutateFrame,
        nastyString(80),
        fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
      )
      .map((text) => ({ kind: 'random' as const, text })),
  },
  {
    weight: 1,
    arbitrary: fc.oneof(
      plan.map((p) => ({ kind: 'binary' as const, plan: p })),
      plan.map((p) => ({ kind: 'oversize' as const, plan: p })),
      fc.constant({ kind: 'badUtf8' as const }),
    ),
  },
)

// ---- waiting: a close is an answer ----------------------------------------------------

interface Watched {
  socket: TestSocket
  close: { code: number; reason: string } | null
}

function watch(socket: TestSocket): Watched {
  const watched: Watched = { socket, close: null }
  void socket.closed.then((close) => {
    watched.close = close
  })
  return watched
}

/** Resolves when `done` holds or the socket has closed (whichever first); only running out of time is a failure. */
async function settle(watched: Watched, done: () => boolean, what: () => string): Promise<void> {
  const deadline = Date.now() + WAIT_MS
  while (!done() && watched.close === null) {
    if (Date.now() > deadline) throw new Error(`no answer for ${what()}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

/** Every string in a parsed frame (keys and values, and their first 40 characters): error messages may quote them. */
function stringsOf(root: unknown): string[] {
  const found: string[] = []
  const pending = [root]
  while (pending.length > 0) {
    const value = pending.pop()
    if (typeof value === 'string') found.push(value, value.slice(0, 40))
    if (typeof value !== 'object' || value === null) continue
    for (const [key, child] of Object.entries(value)) {
      found.push(key, key.slice(0, 40))
      pending.push(child)
    }
  }
  return found.sort((a, b) => b.length - a.length)
}

/** A frame from the server: schema-valid, and an error one typed and clean (`echoes`: what the frame may quote of the request). */
function expectWellFormed(frame: ServerFrame, context: string, echoes: readonly string[] = []): void {
  expect(serverFrame.Check(frame), `${context}: ${JSON.stringify(frame).slice(0, 400)}`).toBe(true)
  if (frame.type === 'error') {
    expect(ERROR_CODES, context).toContain(frame.code)
    expect(frame.code, `${context}: ${frame.message}`).not.toBe('internal')
    expect(frame.message.length, context).toBeGreaterThan(0)
    let message = frame.message
    for (const echo of echoes) if (echo.length > 0) message = message.split(echo).join('')
    expect(message, context).not.toMatch(INTERNALS)
  }
}

// ---- the suite ---------------------------------------------------------------------------

describeEachEngine('WebSocket fuzz', (engine) => {
  const ctx = useTestApp(engine, { realtime: realtimeConfig({ sendRatePerSecond: 1_000_000, sendBurst: 1_000_000 }) })
  let owner: Agent
  /** Not a member of R: a mention of them stays plain text. */
  let other: Agent
  let roomR: string
  let roomQ: string
  let roomP: string
  let healthy: Watched
  let healthChecks = 0

  beforeAll(async () => {
    await ctx.app.listen({ port: 0, host: '127.0.0.1' })
    owner = await signUp(ctx.app)
    other = await signUp(ctx.app)
    roomR = await createRoom(owner, 'public')
    roomQ = await createRoom(other, 'public')
    roomP = await createRoom(other, 'private')
    for (let i = 0; i < 3; i++) await postMessage(owner, roomR, `before ${i}`)
    healthy = watch(await connect(ctx.app, owner))
    await healthy.socket.subscribe(roomR)
  })

  afterAll(async () => {
    if (healthy?.socket.isOpen) await healthy.socket.close()
  })

  const lastSeqOf = async (roomId: string) =>
    Number(
      (await ctx.app.db.selectFrom('rooms').select('last_seq').where('id', '=', roomId).executeTakeFirstOrThrow())
        .last_seq,
    )

  /**
   * The healthy socket (the room's owner) receives a message posted now, and
   * so does the fuzzed socket when it follows the room; /healthz answers.
   */
  async function expectHealthy(fuzzed: Fuzzed | null): Promise<void> {
    expect(healthy.close, 'the healthy socket was closed').toBeNull()
    const seq = await postMessage(owner, roomR, `health ${++healthChecks}`)
    const sees = (w: Watched) => () =>
      w.socket.frames.some((f) => f.type === 'events' && f.roomId === roomR && f.events.some((e) => e.seq === seq))
    await settle(healthy, sees(healthy), () => `health message ${seq} on the healthy socket`)
    expect(sees(healthy)(), `the healthy socket got message ${seq}`).toBe(true)
    for (const frame of healthy.socket.frames.slice(-20)) expectWellFormed(frame, 'healthy socket')
    expect(
      healthy.socket.frames.filter((f) => f.type === 'error'),
      'errors on the healthy socket',
    ).toEqual([])
    if (fuzzed && fuzzed.watched.close === null && fuzzed.live.has(roomR)) {
      await settle(fuzzed.watched, sees(fuzzed.watched), () => `health message ${seq} on the fuzzed socket`)
      expect(fuzzed.watched.close, 'the fuzzed socket closed unasked').toBeNull()
      expect(sees(fuzzed.watched)(), `the fuzzed socket (following R) got message ${seq}`).toBe(true)
    }
    const health = await ctx.app.inject({ method: 'GET', url: '/healthz' })
    expect(health.statusCode).toBe(200)
    await expectGapFree()
  }

  // ---- one fuzzed socket and its model ----

  interface Fuzzed {
    watched: Watched
    userId: string
    /** Rooms (lower case) the server follows for this socket, live. */
    live: Set<string>
    /** Rooms ever named in a subscribe: their events may still be on the way after an unsubscribe. */
    everSubscribed: Set<string>
    username: string
    /** This user's writes in R (messages and operations): lower-case clientId → seq. */
    sent: Map<string, number>
    /** R's log as last read: targets and replies are picked from it. */
    room: LogRow[]
    /** Frames matched as answers. */
    consumed: Set<ServerFrame>
    invalidInARow: number
    controlFrames: number
    log: string[]
  }

  /** A new member of R and their socket; `messages`: theirs already in R, for their writes to name. */
  async function openFuzzed(messages = 0): Promise<Fuzzed> {
    const user = (await insertUser(ctx.app.db, uniqueName('fz'), 'no password'))!
    const { token } = await createSession(ctx.app.db, user.id, 3_600_000)
    await admitMember(ctx.app, roomR, user.id, user.id)
    const sent = new Map<string, number>()
    for (let i = 0; i < messages; i++) {
      const clientId = randomUUID()
      const body = `mine ${i}`
      const stored = await ctx.app.appender.append({
        roomId: roomR,
        authorId: user.id,
        authorName: user.username,
        clientId,
        body,
      })
      if (!stored.ok) throw new Error(`seeding ${user.username}: ${stored.code}`)
      sent.set(clientId, stored.event.seq)
    }
    const socket = await connect(ctx.app, null, { cookie: `${SESSION_COOKIE}=${token}` })
    return {
      watched: watch(socket),
      userId: user.id,
      username: user.username,
      live: new Set(),
      everSubscribed: new Set(),
      sent,
      room: [],
      consumed: new Set([socket.frames[0]!]),
      invalidInARow: 0,
      controlFrames: 0,
      log: [],
    }
  }

  const idOf = (room: RoomChoice, unknown: string) =>
    ({ R: roomR, 'R upper case': roomR.toUpperCase(), Q: roomQ, P: roomP, unknown })[room]

  /** The frame a plan stands for, with this socket's ids. */
  function frameOf(f: Fuzzed, p: Plan, unknown: string): ClientFrame {
    switch (p.type) {
      case 'ping':
        return { type: 'ping', id: p.id }
      case 'subscribe':
        return { type: 'subscribe', rooms: p.rooms.map((r) => ({ roomId: idOf(r.room, unknown), after: r.after })) }
      case 'unsubscribe':
        return { type: 'unsubscribe', roomIds: p.rooms.map((r) => idOf(r, unknown)) }
      case 'typing':
        return { type: 'typing', roomId: idOf(p.room, unknown) }
      case 'read':
        return { type: 'read', roomId: idOf(p.room, unknown), seq: p.seq }
      case 'send': {
        const { clientId, after } = idsOf(f, p.clientId, p.after)
        const reply = p.reply === 'none' ? {} : resolveTarget(f, p.reply, clientId)
        return {
          type: 'send',
          roomId: idOf(p.room, unknown),
          clientId,
          body: textOf(p.body),
          ...(after === undefined ? {} : { afterClientId: after }),
          ...(reply.seq === undefined ? {} : { replyTo: reply.seq }),
          ...(reply.clientId === undefined ? {} : { replyToClientId: reply.clientId }),
        }
      }
      case 'edit':
      case 'delete':
      case 'react': {
        const { clientId, after } = idsOf(f, p.clientId, p.after)
        const named = resolveTarget(f, p.target, clientId)
        const common = {
          roomId: idOf(p.room, unknown),
          clientId,
          ...(after === undefined ? {} : { afterClientId: after }),
          ...(named.seq === undefined ? {} : { targetSeq: named.seq }),
          ...(named.clientId === undefined ? {} : { targetClientId: named.clientId }),
        }
        if (p.type === 'edit') return { type: 'edit', ...common, body: textOf(p.body) }
        if (p.type === 'delete') return { type: 'delete', ...common }
        return { type: 'react', ...common, emoji: p.emoji, action: p.action }
      }
    }
  }

  /** A write's clientId (new, or one of this user's stored ones in upper case) and its afterClientId. */
  function idsOf(f: Fuzzed, plan: ClientIdPlan, afterPlan: AfterPlan): { clientId: string; after: string | undefined } {
    const stored = [...f.sent.keys()]
    const clientId =
      'fresh' in plan || stored.length === 0
        ? 'fresh' in plan
          ? plan.fresh
          : randomUUID()
        : stored[plan.existing % stored.length]!.toUpperCase()
    const after =
      afterPlan === 'latest'
        ? stored.at(-1)
        : afterPlan === 'unknown'
          ? randomUUID()
          : afterPlan === 'itself'
            ? clientId.toLowerCase()
            : undefined
    return { clientId, after }
  }

  /** The seq or clientId a target plan names in R's log as last read (`self`: the write's own clientId). */
  function resolveTarget(f: Fuzzed, t: Target, self: string): { seq?: number; clientId?: string } {
    if ('both' in t) return { seq: 1, clientId: randomUUID() }
    if ('neither' in t) return {}
    const messages = f.room.filter((row) => row.kind === 'message.created')
    const mine = messages.filter((row) => row.author_id === f.userId)
    if ('seqOf' in t) {
      const others = f.room.filter((row) => row.kind !== 'message.created')
      const from = t.seqOf === 'message' ? messages : t.seqOf === 'mine' ? mine : t.seqOf === 'other' ? others : []
      if (from.length > 0) return { seq: Number(from[t.pick % from.length]!.seq) }
      return { seq: Number(f.room.at(-1)?.seq ?? 0) + 1 + (t.pick % 1000) }
    }
    const from =
      t.clientIdOf === 'mine' ? mine : t.clientIdOf === 'theirs' ? messages.filter((row) => !mine.includes(row)) : []
    if (from.length > 0) return { clientId: from[t.pick % from.length]!.client_id! }
    return { clientId: t.clientIdOf === 'itself' ? self : randomUUID() }
  }

  /** A body as sent: MENTION names R's owner and someone who is not in R. */
  const textOf = (body: string) =>
    body === MENTION ? `hi @${owner.user.username}, and @${other.user.username} who is not here` : body

  /** R's log, as the model reads it. */
  const logRows = (roomId: string): Promise<LogRow[]> =>
    ctx.app.db
      .selectFrom('room_events')
      .select(['seq', 'kind', 'author_id', 'client_id', 'deleted_seq', 'edited_seq'])
      .where('room_id', '=', roomId)
      .orderBy('seq')
      .execute()

  /** R's members by lower-case username: the names a mention resolves. */
  async function membersOf(roomId: string): Promise<Map<string, string>> {
    const rows = await ctx.app.db
      .selectFrom('room_members')
      .innerJoin('users', 'users.id', 'room_members.user_id')
      .select(['users.id', 'users.username'])
      .where('room_members.room_id', '=', roomId)
      .execute()
    return new Map(rows.map((row) => [row.username.toLowerCase(), row.id]))
  }

  /** Everything about R a write may change: a refused frame must leave all of it as it was. */
  async function stateOfR() {
    const { rows } = await sql<Record<string, string>>`
      SELECT (SELECT last_seq FROM rooms WHERE id = ${roomR}) AS last_seq,
             (SELECT count(*) FROM room_events WHERE room_id = ${roomR}) AS events,
             (SELECT max(seq) FROM room_events WHERE room_id = ${roomR}) AS max_seq,
             (SELECT count(*) FROM message_reactions WHERE room_id = ${roomR}) AS reactions,
             (SELECT count(*) FROM room_events WHERE room_id = ${roomR} AND deleted_seq IS NOT NULL) AS deleted,
             (SELECT count(*) FROM room_events WHERE room_id = ${roomR} AND edited_seq IS NOT NULL) AS edited,
             (SELECT count(*) FROM room_events WHERE room_id = ${roomR} AND body IS NULL) AS bodiless`.execute(
      ctx.app.db,
    )
    return Object.fromEntries(Object.entries(rows[0]!).map(([key, value]) => [key, Number(value ?? 0)]))
  }

  /** R's log is gap-free: seqs 1…last_seq, each once. */
  async function expectGapFree(): Promise<void> {
    const state = await stateOfR()
    expect({ events: state.events, maxSeq: state.max_seq }, 'R is gap-free').toEqual({
      events: state.last_seq,
      maxSeq: state.last_seq,
    })
  }

  const kindOfRoom = (roomId: string): 'R' | 'Q' | 'P' | 'unknown' => {
    const id = roomId.toLowerCase()
    return id === roomR ? 'R' : id === roomQ ? 'Q' : id === roomP ? 'P' : 'unknown'
  }

  /** Unconsumed frames from index `from`. */
  const fresh = (f: Fuzzed, from: number) => f.watched.socket.frames.slice(from).filter((x) => !f.consumed.has(x))

  /**
   * Sends one frame (text, or raw bytes) and waits for the answer the model
   * expects; checks it, consumes it, and updates the model. Returns false
   * when the socket is closed afterwards (as expected: else the check fails).
   */
  async function step(f: Fuzzed, c: Case, unknown: string): Promise<boolean> {
    const { socket } = f.watched
    // A write's target is picked from R's log as it is now.
    if ('plan' in c && WRITES.has(c.plan.type)) f.room = await logRows(roomR)
    const from = socket.frames.length
    let text: string | undefined
    let bytes: Buffer | undefined
    let binary = false
    switch (c.kind) {
      case 'valid':
        text = JSON.stringify(frameOf(f, c.plan, unknown))
        break
      case 'mutated':
        text = mutate(frameOf(f, c.plan, unknown), c.mutations)
        break
      case 'random':
        text = c.text
        break
      case 'binary':
        bytes = Buffer.from(JSON.stringify(frameOf(f, c.plan, unknown)))
        binary = true
        break
      case 'oversize': {
        const frame = frameOf(f, c.plan, unknown)
        text = JSON.stringify({ ...frame, pad: 'x'.repeat(LIMITS.wsMaxFrameBytes) })
        break
      }
      case 'badUtf8':
        bytes = Buffer.from([
          0x7b, 0x22, 0x74, 0x79, 0x70, 0x65, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0xed, 0xa0, 0x80, 0x22, 0x7d,
        ])
        break
    }
    const size = bytes ? bytes.length : Buffer.byteLength(text!, 'utf8')
    const shown = (text ?? bytes!.toString('hex')).slice(0, 300)
    f.log.push(`${c.kind}: ${shown}${size > 300 ? ` … (${size} bytes)` : ''}`)
    const what = () => `${f.log.at(-1)}\nframes since: ${JSON.stringify(socket.frames.slice(from)).slice(0, 1500)}`

    /** Expect the socket to close with `code` and nothing else in between. */
    const expectClose = async (code: number) => {
      await settle(f.watched, () => false, what)
      expect(f.watched.close?.code, `close code after ${what()}`).toBe(code)
      expectOnlyBackground(f, from)
      return false
    }
    const send = () => (bytes ? socket.ws.send(bytes, { binary }) : socket.ws.send(text!))

    if (binary) {
      send()
      return expectClose(CLOSE_CODES.unsupportedData)
    }
    if (size > LIMITS.wsMaxFrameBytes) {
      send()
      return expectClose(CLOSE_CODES.messageTooBig)
    }
    if (bytes) {
      send()
      return expectClose(1007)
    }
    // A lone surrogate travels as U+FFFD: judge what the server receives.
    const wire = Buffer.from(text!, 'utf8').toString('utf8')
    const verdict = judge(wire)
    if (!verdict.valid) {
      let echoes: string[] = []
      try {
        echoes = stringsOf(JSON.parse(wire))
      } catch {}
      f.invalidInARow++
      send()
      if (f.invalidInARow >= LIMITS.wsMaxInvalidFrames) return expectClose(CLOSE_CODES.policyViolation)
      const answer = () => fresh(f, from).find((x) => x.type === 'error')
      await settle(f.watched, () => answer() !== undefined, what)
      expect(f.watched.close, `closed instead of answering ${what()}`).toBeNull()
      const error = answer()!
      expectWellFormed(error, what(), echoes)
      expect(error, what()).toMatchObject({ type: 'error', code: verdict.code })
      expect(error.retryAfterMs, what()).toBeUndefined()
      f.consumed.add(error)
      return true
    }
    f.invalidInARow = 0
    const frame = verdict.frame
    // Writes spend the user's send bucket, everything else the socket's control-frame budget.
    if (!WRITES.has(frame.type)) f.controlFrames++
    return answerValid(f, frame, from, send, what)
  }

  /** The documented answer to a valid frame, from the model of this socket and the database. */
  async function answerValid(
    f: Fuzzed,
    frame: ClientFrame,
    from: number,
    send: () => void,
    what: () => string,
  ): Promise<boolean> {
    const take = (match: (x: ServerFrame) => boolean) => fresh(f, from).find(match)
    const wait = async (done: () => boolean) => {
      await settle(f.watched, done, what)
      expect(f.watched.close, `closed instead of answering ${what()}`).toBeNull()
    }
    /** A frame about one room that is answered only when refused: the refusal, with its code. */
    const expectRoomError = async (roomId: string, expected: ErrorCode) => {
      const isError = (x: ServerFrame) => x.type === 'error' && x.roomId?.toLowerCase() === roomId
      await wait(() => take(isError) !== undefined)
      const error = take(isError)!
      expectWellFormed(error, what())
      expect(error, what()).toMatchObject({ code: expected })
      f.consumed.add(error)
      return true
    }
    switch (frame.type) {
      case 'ping': {
        send()
        const isPong = (x: ServerFrame) => x.type === 'pong' && x.id === frame.id
        await wait(() => take(isPong) !== undefined)
        f.consumed.add(take(isPong)!)
        return true
      }
      case 'unsubscribe':
        send()
        for (const roomId of frame.roomIds) f.live.delete(roomId.toLowerCase())
        return true
      case 'typing': {
        const roomId = frame.roomId.toLowerCase()
        send()
        const expected: ErrorCode | null = !f.live.has(roomId)
          ? 'bad_request'
          : kindOfRoom(roomId) === 'Q'
            ? 'not_member'
            : null
        return expected === null || expectRoomError(roomId, expected)
      }
      case 'read': {
        // A member's marker is raised silently (no answer; this socket did not ask for receipts with ?v=2).
        const roomId = frame.roomId.toLowerCase()
        send()
        const kind = kindOfRoom(roomId)
        const expected: ErrorCode | null = kind === 'R' ? null : kind === 'Q' ? 'not_member' : 'not_found'
        return expected === null || expectRoomError(roomId, expected)
      }
      case 'focus':
        // Never answered (docs/PUSH.md); what it changes is who gets pushes (push-delivery.test.ts).
        send()
        return true
      case 'send':
      case 'edit':
      case 'delete':
      case 'react':
        return answerWrite(f, frame, send, take, wait, what)
      case 'subscribe': {
        const rooms = new Map<string, number>()
        for (const { roomId, after } of frame.rooms) {
          const id = roomId.toLowerCase()
          rooms.set(id, Math.min(after, rooms.get(id) ?? after))
        }
        const lastSeqs = new Map<string, number>()
        for (const id of rooms.keys()) {
          f.everSubscribed.add(id)
          if (kindOfRoom(id) === 'R' || kindOfRoom(id) === 'Q') lastSeqs.set(id, await lastSeqOf(id))
        }
        send()
        const terminal = (id: string) => (x: ServerFrame) =>
          lastSeqs.has(id)
            ? x.type === 'presence' && x.roomId === id
            : x.type === 'error' && x.roomId?.toLowerCase() === id
        await wait(() => [...rooms.keys()].every((id) => take(terminal(id)) !== undefined))
        for (const [id, after] of rooms) {
          const end = take(terminal(id))!
          expectWellFormed(end, what())
          f.consumed.add(end)
          const lastSeq = lastSeqs.get(id)
          if (lastSeq === undefined) {
            expect(end, what()).toMatchObject({ type: 'error', code: 'not_found' })
            f.live.delete(id)
            continue
          }
          // Before the presence: a reset when too much was missed (or `after` is beyond the log), a replay otherwise, then caught_up.
          const frames = f.watched.socket.frames.slice(from)
          const mine = frames
            .slice(0, frames.indexOf(end))
            .filter((x) => !f.consumed.has(x) && 'roomId' in x && x.roomId === id)
          const caughtUp = mine.find((x) => x.type === 'caught_up')
          const reset = mine.find((x) => x.type === 'reset')
          expect(caughtUp, `caught_up for ${id}: ${what()}`).toBeDefined()
          if (caughtUp?.type !== 'caught_up') continue
          expect(caughtUp.lastSeq, what()).toBeGreaterThanOrEqual(lastSeq)
          const mustReset = after > lastSeq || lastSeq - after > LIMITS.resumeMaxEvents
          expect(reset !== undefined, `reset for after=${after}, lastSeq=${lastSeq}: ${what()}`).toBe(mustReset)
          if (!mustReset) {
            const seqs = new Set(mine.flatMap((x) => (x.type === 'events' ? x.events.map((e) => e.seq) : [])))
            for (let s = after + 1; s <= caughtUp.lastSeq; s++)
              expect(seqs.has(s), `replayed seq ${s}: ${what()}`).toBe(true)
          }
          f.consumed.add(caughtUp)
          if (reset) f.consumed.add(reset)
          f.live.add(id)
        }
        return true
      }
    }
  }

  /**
   * A write (`send`, `edit`, `delete`, `react`): the one answer docs/PROTOCOL.md gives it, judged by
   * the shared write model against R's log as it is now. A refusal is an error frame with the code
   * and the clientId, and leaves R exactly as it was; a resend is a duplicate ack with the stored
   * seq; a new write is acked at R's next seq with what was stored (a send's `message` carries the
   * reply and the members mentioned, an operation's ack the entry), and R stays gap-free.
   */
  async function answerWrite(
    f: Fuzzed,
    frame: Extract<ClientFrame, { type: 'send' | 'edit' | 'delete' | 'react' }>,
    send: () => void,
    take: (match: (x: ServerFrame) => boolean) => ServerFrame | undefined,
    wait: (done: () => boolean) => Promise<void>,
    what: () => string,
  ): Promise<boolean> {
    const clientId = frame.clientId.toLowerCase()
    const kind = kindOfRoom(frame.roomId)
    const rows = kind === 'R' ? await logRows(roomR) : []
    const before = await stateOfR()
    const text = frame.type === 'send' || frame.type === 'edit' ? frame.body : ''
    const members = text.includes('@') ? await membersOf(roomR) : new Map<string, string>()
    const standing: Standing = kind === 'R' ? 'member' : kind === 'Q' ? 'notMember' : 'hidden'
    const { roomId: _, ...write } = frame
    const verdict = judgeWrite(write as Write, f.userId, standing, rows, members)
    send()
    const isAnswer = (x: ServerFrame) =>
      (x.type === 'ack' || x.type === 'error') && x.clientId?.toLowerCase() === clientId
    await wait(() => take(isAnswer) !== undefined)
    const answer = take(isAnswer)!
    f.consumed.add(answer)
    expectWellFormed(answer, what())
    if ('refused' in verdict) {
      expect(answer, what()).toMatchObject({ type: 'error', code: verdict.refused, clientId })
      expect(await stateOfR(), `R after the refusal of ${what()}`).toEqual(before)
      return true
    }
    expect(answer.type, what()).toBe('ack')
    if (answer.type !== 'ack') return true
    const seq = 'duplicate' in verdict ? Number(verdict.duplicate.seq) : before.last_seq! + 1
    expect(answer, what()).toMatchObject({ seq, duplicate: 'duplicate' in verdict, roomId: roomR })
    // A send's ack carries a message, an operation's the entry: by the frame, even for a resend of another kind.
    expect('message' in answer, what()).toBe(frame.type === 'send')
    if ('event' in answer) expect(operationAck.Check(answer), what()).toBe(true)
    if ('duplicate' in verdict) {
      if ('event' in answer) expect(answer.event, what()).toMatchObject({ seq, kind: verdict.duplicate.kind })
      expect(await stateOfR(), `R after the resend ${what()}`).toEqual(before)
    } else {
      const { target, mentions } = verdict.stored
      if ('message' in answer) {
        // Exactly what was stored, replyTo and mentions (members only) included, as the log entry holds them.
        expect(answer.message, what()).toEqual({
          roomId: roomR,
          seq,
          clientId,
          authorId: f.userId,
          authorName: f.username,
          body: text.trim(),
          createdAt: expect.any(String),
          ...(target ? { replyTo: Number(target.seq) } : {}),
          ...(mentions.length > 0 ? { mentions } : {}),
        })
      } else {
        expect(answer.event, what()).toMatchObject({
          roomId: roomR,
          seq,
          kind: kindOf(write as Write),
          authorId: f.userId,
          clientId,
          targetSeq: Number(target!.seq),
          body: frame.type === 'edit' ? frame.body.trim() : null,
          reaction: frame.type === 'react' ? frame.emoji : null,
        })
        expect(answer.event.mentions ?? [], what()).toEqual(mentions)
      }
      const after = await stateOfR()
      expect({ lastSeq: after.last_seq, events: after.events }, what()).toEqual({
        lastSeq: before.last_seq! + 1,
        events: before.events! + 1,
      })
    }
    f.sent.set(clientId, seq)
    return true
  }

  /** Everything not consumed since `from` is what a socket gets unasked: events, presence and typing of rooms it subscribed. */
  function expectOnlyBackground(f: Fuzzed, from: number): void {
    for (const frame of fresh(f, from)) {
      expectWellFormed(frame, 'unasked frame')
      const background =
        (frame.type === 'events' ||
          frame.type === 'presence' ||
          frame.type === 'presence_join' ||
          frame.type === 'presence_leave' ||
          frame.type === 'typing') &&
        f.everSubscribed.has(frame.roomId)
      expect(
        background,
        `a frame nobody asked for: ${JSON.stringify(frame).slice(0, 400)}\n${f.log.slice(-5).join('\n')}`,
      ).toBe(true)
      f.consumed.add(frame)
    }
  }

  /** Ends a run: a ping to be sure every earlier answer is in, then nothing unasked may be left. */
  async function account(f: Fuzzed, unknown: string): Promise<void> {
    if (f.watched.close !== null) return
    await step(f, { kind: 'valid', plan: { type: 'ping', id: 424242 } }, unknown)
    expectOnlyBackground(f, 0)
  }

  it('regression (found by the fuzz): a room id in upper case subscribes, types and unsubscribes as the room itself', async () => {
    const f = await openFuzzed()
    const socket = f.watched.socket
    try {
      // Was: error not_found for the upper-case id (the room's access row is keyed by the stored, lower-case id).
      const from = socket.frames.length
      socket.send({
        type: 'subscribe',
        rooms: [
          { roomId: roomR.toUpperCase(), after: 0 },
          { roomId: roomR, after: 0 },
        ],
      })
      const caughtUp = await socket.waitFor('caught_up', (x) => x.roomId === roomR, { from })
      await socket.waitFor('presence', (x) => x.roomId === roomR, { from })
      expect(caughtUp.lastSeq).toBe(await lastSeqOf(roomR))
      // Named twice in two cases: followed once.
      expect(socket.frames.slice(from).filter((x) => x.type === 'caught_up')).toHaveLength(1)
      expect(socket.frames.slice(from).filter((x) => x.type === 'error')).toEqual([])
      // Was: bad_request "Subscribe to the room before typing in it".
      const typingFrom = healthy.socket.frames.length
      socket.send({ type: 'typing', roomId: roomR.toUpperCase() })
      await healthy.socket.waitFor('typing', (x) => x.roomId === roomR && x.userId === f.userId, { from: typingFrom })
      // Was: nothing unsubscribed; the room's events kept coming.
      socket.send({ type: 'unsubscribe', roomIds: [roomR.toUpperCase()] })
      const pingFrom = socket.frames.length
      socket.send({ type: 'ping', id: 1 })
      await socket.waitFor('pong', () => true, { from: pingFrom })
      const seq = await postMessage(owner, roomR, 'after the unsubscribe')
      await healthy.socket.waitFor('events', (x) => x.events.some((e) => e.seq === seq))
      const pongAt = socket.frames.length
      socket.send({ type: 'ping', id: 2 })
      await socket.waitFor('pong', (x) => x.id === 2, { from: pongAt })
      expect(socket.frames.slice(pingFrom).filter((x) => x.type === 'events')).toEqual([])
    } finally {
      await socket.close()
    }
  })

  it('answers valid frames about real rooms with the documented success or refusal', async () => {
    await fuzz(fc.tuple(fc.array(plan, { minLength: 1, maxLength: 5 }), fc.uuid()), 80, async ([plans, unknown]) => {
      const f = await openFuzzed(2)
      try {
        for (const p of plans) {
          const open = await step(f, { kind: 'valid', plan: p }, unknown)
          expect(open, 'a valid frame closed the socket').toBe(true)
        }
        await account(f, unknown)
        await expectHealthy(f)
      } finally {
        await f.watched.socket.close()
      }
    })
  })

  it('answers mutated and random frames with typed errors, closes only as documented, and the room stays healthy', async () => {
    let f: Fuzzed | null = null
    const closes = new Map<number, number>()
    try {
      // Mixed runs, and bursts of garbage: the invalid count carries over runs until a valid frame, so some reach the 1008 close.
      const cases = fc.oneof(
        { weight: 2, arbitrary: fc.array(fuzzedCase, { minLength: 1, maxLength: 12 }) },
        {
          weight: 1,
          arbitrary: fc.array(
            invalidText.map((text): Case => ({ kind: 'random', text })),
            { minLength: 8, maxLength: 24 },
          ),
        },
      )
      await fuzz(fc.tuple(cases, fc.uuid()), 120, async ([cases, unknown]) => {
        for (const c of cases) {
          if (!f || f.watched.close !== null || f.controlFrames >= CONTROL_FRAMES_PER_SOCKET) {
            if (f?.watched.close) closes.set(f.watched.close.code, (closes.get(f.watched.close.code) ?? 0) + 1)
            if (f && f.watched.close === null) await f.watched.socket.close()
            f = await openFuzzed(2)
          }
          if (!(await step(f, c, unknown))) break
        }
        if (f && f.watched.close === null) expectOnlyBackground(f, 0)
        await expectHealthy(f)
      })
    } finally {
      if (f && (f as Fuzzed).watched.close === null) await (f as Fuzzed).watched.socket.close()
    }
    // The run reached the invalid-frame close at least once (a new socket follows each close).
    expect(closes.get(CLOSE_CODES.policyViolation) ?? 0, JSON.stringify(Object.fromEntries(closes))).toBeGreaterThan(0)
  })

  it('a flood of pings and invalid frames: each answered in order (pong, rate_limited or a typed error) until 4029 or 1008', async () => {
    const frame = fc.oneof(
      { weight: 6, arbitrary: fc.nat().map((id) => ({ ping: id })) },
      { weight: 1, arbitrary: invalidText.map((text) => ({ text })) },
    )
    // The length drawn uniformly: fc.array's own sizes cluster near minLength, and a seed whose 12 floods all stayed
    // under the burst (40) failed the closing check below on both engines at once (CI, 2026-12-07).
    const flood = fc
      .integer({ min: 30, max: 150 })
      .chain((length) => fc.array(frame, { minLength: length, maxLength: length }))
    const closes = new Map<string, number>()
    await fuzz(flood, 12, async (frames) => {
      const f = await openFuzzed()
      const socket = f.watched.socket
      const texts = frames.map((x) => ('ping' in x ? JSON.stringify({ type: 'ping', id: x.ping }) : x.text))
      const verdicts = texts.map((t) => judge(Buffer.from(t, 'utf8').toString('utf8')))
      for (const text of texts) socket.ws.send(text)
      await settle(
        f.watched,
        () => socket.frames.length - 1 >= texts.length,
        () => `${texts.length} answers`,
      )
      const answers = socket.frames.slice(1)
      let invalid = 0
      let refused = 0
      let k = 0
      let endedAt: string | null = null
      for (let i = 0; i < texts.length && endedAt === null; i++) {
        const verdict = verdicts[i]!
        const context = `frame ${i} ${texts[i]!.slice(0, 100)}: answers ${JSON.stringify(answers.slice(Math.max(0, k - 2), k + 2))}`
        if (!verdict.valid || verdict.frame.type !== 'ping') {
          expect(verdict.valid, context).toBe(false)
          invalid++
          if (invalid === LIMITS.wsMaxInvalidFrames) {
            endedAt = 'invalid'
            break
          }
          const answer = answers[k++]
          expect(answer, context).toBeDefined()
          let echoes: string[] = []
          try {
            echoes = stringsOf(JSON.parse(Buffer.from(texts[i]!, 'utf8').toString('utf8')))
          } catch {}
          expectWellFormed(answer!, context, echoes)
          expect(answer, context).toMatchObject({
            type: 'error',
            code: verdict.valid ? 'validation_failed' : verdict.code,
          })
          continue
        }
        invalid = 0
        const answer = answers[k]
        if (answer === undefined) {
          endedAt = 'no answer'
          break
        }
        k++
        expectWellFormed(answer, context)
        if (answer.type === 'pong') {
          expect(answer.id, context).toBe(verdict.frame.id)
          refused = 0
        } else {
          expect(answer, context).toMatchObject({
            type: 'error',
            code: 'rate_limited',
            retryAfterMs: expect.any(Number),
          })
          refused++
          expect(
            refused,
            `the ${LIMITS.wsMaxRateLimitedFrames}th refusal in a row closes instead: ${context}`,
          ).toBeLessThan(LIMITS.wsMaxRateLimitedFrames)
        }
      }
      expect(k, 'answers beyond what was asked').toBe(answers.length)
      if (endedAt === null) {
        expect(f.watched.close, 'closed although every frame was answered').toBeNull()
        await socket.close()
      } else {
        await settle(
          f.watched,
          () => false,
          () => 'the close',
        )
        const expected =
          endedAt === 'invalid'
            ? CLOSE_CODES.policyViolation
            : refused === LIMITS.wsMaxRateLimitedFrames - 1
              ? CLOSE_CODES.tooManyFrames
              : -1
        expect(f.watched.close?.code, `ended (${endedAt}) with ${refused} refusals in a row`).toBe(expected)
        closes.set(endedAt, (closes.get(endedAt) ?? 0) + 1)
      }
      await expectHealthy(null)
    })
    // Floods of more than a burst reached the rate-limit close.
    expect(closes.get('no answer') ?? 0, JSON.stringify(Object.fromEntries(closes))).toBeGreaterThan(0)
  })
})
