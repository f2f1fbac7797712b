import { randomUUID } from 'node:crypto'
import fc from 'fast-check'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { sql } from 'kysely'
import type { TSchema } from 'typebox'
import { Compile } from 'typebox/compile'
import { afterEach, beforeAll, beforeEach, expect, it } from 'vitest'
import { createSession, SESSION_COOKIE } from '../../server/auth/sessions.ts'
import {
  AddMemberBody,
  CreateRoomBody,
  Credentials,
  DiscoverQuery,
  DiscoverResponse,
  EventsQuery,
  EventsResponse,
  HistoryQuery,
  HistoryResponse,
  LoginBody,
  MemberResponse,
  MessageResponse,
  OperationResponse,
  ReadBody,
  ReadResponse,
  RoomResponse,
  SendMessageBody,
  SetRoleBody,
  UserResponse,
} from '../../shared/api.ts'
import { mentionedUsernames } from '../../shared/conversation/mentions.ts'
import { OperationBody, RenameRoomBody, replyProblem } from '../../shared/conversation/requests.ts'
import { ERROR_CODES, type ErrorCode } from '../../shared/errors.ts'
import { LIMITS } from '../../shared/limits.ts'
import type { Message, Role, RoomEvent } from '../../shared/schemas.ts'
import { Uuid } from '../../shared/schemas.ts'
import { messageBodyProblem } from '../../shared/validation.ts'
import { createRoom, join, sendMessage } from '../support/api.ts'
import { type Agent, signUp, TEST_ORIGIN, useTestApp } from '../support/app.ts'
import { describeEachEngine } from '../support/databases.ts'
import {
  bodyMutations,
  contentType,
  FUZZ_SEED,
  fuzzAsync,
  type Mutation,
  mutate,
  nastyString,
  queryValue,
  rawBody,
  typedText,
  validUsername,
  wellFormed,
} from '../support/fuzz.ts'
import { judgeWrite, type LogRow, type Standing } from '../support/write-model.ts'
import { realtimeConfig } from '../support/ws.ts'

/**
 * Property-based fuzz of every HTTP endpoint that reads a body, a query or a
 * room id (issue 7, "Reliability checks"): valid inputs get the documented
 * success, mutated ones (wrong types, missing and extra fields, prototype
 * keys, huge and number-like values, U+0000, lone surrogates, long strings,
 * deep nesting, bodies that are not JSON, wrong content types, foreign
 * origins, no session) the documented typed error, judged against the shared
 * schemas and a model of the data, never against the server's own code.
 * Every error is `{ error: { code, message } }` with the code's documented
 * status and no internals; a refused request changes nothing in the
 * database; the server stays healthy.
 *
 * Reproduce a failure with the FUZZ_SEED it prints (FUZZ_SEED=123 npx vitest run …);
 * FUZZ_SHRINK=0 reports the first failing case as found, without shrinking it.
 */

/** The status docs/API.md gives each error code. */
const STATUS_OF: Record<ErrorCode, number | null> = {
  bad_request: 400,
  validation_failed: 400,
  message_empty: 400,
  message_too_long: 400,
  invalid_reaction: 400,
  target_not_found: 404,
  target_deleted: 409,
  unauthorized: 401,
  invalid_credentials: 401,
  forbidden: 403,
  not_member: 403,
  csrf_rejected: 403,
  not_found: 404,
  username_taken: 409,
  owner_cannot_leave: 409,
  out_of_order: 409,
  payload_too_large: 413,
  uri_too_long: 414,
  unsupported_media_type: 415,
  not_storable: 422,
  upgrade_required: 426,
  rate_limited: 429,
  internal: 500,
  unavailable: 503,
  overloaded: 503,
  unknown_frame: null,
  already_member: null,
}

/** What must never reach a client: stack frames, file paths, framework codes, driver or SQL text. */
const INTERNALS =
  /\n\s+at |\bat \S+ \(|node_modules|\/work\/|\.[jt]s:\d|FST_|ERR_[A-Z]|SELECT |INSERT |UPDATE |DELETE FROM|relation "|syntax error|violates|duplicate key|invalid input syntax|PGlite|TypeError|ReferenceError|RangeError|SyntaxError|undefined|\[object /

const checkers = new Map<TSchema, ReturnType<typeof Compile<TSchema>>>()
const compiled = (schema: TSchema) => {
  let checker = checkers.get(schema)
  if (!checker) {
    checker = Compile(schema)
    checkers.set(schema, checker)
  }
  return checker
}
const fits = (schema: TSchema, value: unknown) => compiled(schema).Check(value)

// ---- requests and verdicts --------------------------------------------------

interface Request {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'OPTIONS'
  url: string
  contentType?: string | undefined
  origin?: string | undefined
  cookie?: string | undefined
  payload?: string | Buffer | undefined
}

function inject(app: FastifyInstance, request: Request): Promise<LightMyRequestResponse> {
  const headers: Record<string, string> = {}
  if (request.contentType !== undefined) headers['content-type'] = request.contentType
  if (request.origin !== undefined) headers.origin = request.origin
  if (request.cookie !== undefined) headers.cookie = request.cookie
  return app.inject({
    method: request.method,
    url: request.url,
    headers,
    ...(request.payload === undefined ? {} : { payload: request.payload }),
  })
}

/** An answer: a status and, for an error, its code (null for a success). */
interface Outcome {
  status: number
  code: ErrorCode | null
}
const ok = (status: number): Outcome => ({ status, code: null })
const refused = (code: ErrorCode): Outcome => ({ status: STATUS_OF[code]!, code })

/** Iterative (the fuzz nests deeper than the call stack): what secure-json-parse refuses. */
function holdsPrototypeKey(root: unknown): boolean {
  const pending = [root]
  while (pending.length > 0) {
    const value = pending.pop()
    if (typeof value !== 'object' || value === null) continue
    if (Object.hasOwn(value, '__proto__')) return true
    const ctor = (value as Record<string, unknown>).constructor
    if (
      Object.hasOwn(value, 'constructor') &&
      typeof ctor === 'object' &&
      ctor !== null &&
      Object.hasOwn(ctor, 'prototype')
    )
      return true
    pending.push(...Object.values(value))
  }
  return false
}

/** Every string in a parsed body (keys and values): error messages may quote them. */
function stringsOf(root: unknown): string[] {
  const found: string[] = []
  const pending = [root]
  while (pending.length > 0) {
    const value = pending.pop()
    if (typeof value === 'string') found.push(value)
    if (typeof value !== 'object' || value === null) continue
    for (const [key, child] of Object.entries(value)) {
      found.push(key)
      pending.push(child)
    }
  }
  return found
}

/**
 * What the server must answer before any route code runs (CSRF, size, JSON),
 * or the body as the route receives it: the text decoded from the bytes on
 * the wire (a lone surrogate in a raw string travels as U+FFFD), a leading
 * byte-order mark ignored, an empty body read as no body.
 */
function beforeTheRoute(request: Request, allowedOrigins: readonly string[]): { refusal: Outcome } | { body: unknown } {
  if (request.method !== 'GET' && request.method !== 'OPTIONS') {
    const type = (request.contentType ?? '').split(';')[0]!.trim().toLowerCase()
    if (type !== 'application/json') return { refusal: refused('csrf_rejected') }
    if (request.origin !== undefined && !allowedOrigins.includes(request.origin)) {
      return { refusal: refused('csrf_rejected') }
    }
  }
  if (request.payload === undefined) return { body: undefined }
  const bytes = Buffer.isBuffer(request.payload) ? request.payload : Buffer.from(request.payload, 'utf8')
  if (bytes.length > LIMITS.httpMaxBodyBytes) return { refusal: refused('payload_too_large') }
  let text = bytes.toString('utf8')
  if (text === '') return { body: undefined }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1)
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return { refusal: refused('bad_request') }
  }
  if (holdsPrototypeKey(value)) return { refusal: refused('bad_request') }
  return { body: value }
}

/** A `{ error: { code, message } }` body with a documented code and status and nothing internal in it. */
function expectTypedError(response: LightMyRequestResponse, echoes: readonly string[]): ErrorCode {
  const context = `${response.statusCode} ${response.body.slice(0, 500)}`
  expect(response.headers['content-type'], context).toMatch(/^application\/json/)
  const body = response.json()
  expect(Object.keys(body), context).toEqual(['error'])
  expect(Object.keys(body.error).sort(), context).toEqual(['code', 'message'])
  expect(ERROR_CODES, context).toContain(body.error.code)
  expect(STATUS_OF[body.error.code as ErrorCode], `${context}: the documented status of the code`).toBe(
    response.statusCode,
  )
  expect(typeof body.error.message, context).toBe('string')
  expect(body.error.message.length, context).toBeGreaterThan(0)
  let message: string = body.error.message
  for (const echo of [...echoes].sort((a, b) => b.length - a.length)) {
    if (echo.length > 0) message = message.split(echo).join('')
  }
  expect(message, context).not.toMatch(INTERNALS)
  return body.error.code
}

/** Checks the answer is one of `expected` (an error typed and clean, a success JSON of `schema`). */
function expectOutcome(
  response: LightMyRequestResponse,
  expected: Outcome | readonly Outcome[],
  options: { echoes?: readonly string[]; schema?: TSchema; what: string },
): Outcome {
  const allowed = Array.isArray(expected) ? expected : [expected as Outcome]
  const got: Outcome =
    response.statusCode >= 400
      ? { status: response.statusCode, code: expectTypedError(response, options.echoes ?? []) }
      : ok(response.statusCode)
  expect(allowed, `${options.what}\n→ ${response.statusCode} ${response.body.slice(0, 400)}`).toContainEqual(got)
  if (got.code === null && options.schema && response.statusCode !== 204) {
    expect(fits(options.schema, response.json()), `response of ${options.what}: ${response.body.slice(0, 400)}`).toBe(
      true,
    )
  }
  if (response.statusCode === 204) expect(response.body).toBe('')
  return got
}

// ---- what the database holds ------------------------------------------------

interface Fingerprint {
  users: number
  sessions: number
  rooms: number
  members: number
  events: number
  seqs: number
  reads: number
  /** Reactions held (message_reactions), and messages deleted or edited (their denormalised state). */
  reactions: number
  deleted: number
  edited: number
}

async function fingerprint(app: FastifyInstance): Promise<Fingerprint> {
  const { rows } = await sql<Record<keyof Fingerprint, string>>`
    SELECT (SELECT count(*) FROM users) AS users,
           (SELECT count(*) FROM sessions) AS sessions,
           (SELECT count(*) FROM rooms) AS rooms,
           (SELECT count(*) FROM room_members) AS members,
           (SELECT count(*) FROM room_events) AS events,
           (SELECT coalesce(sum(last_seq), 0) FROM rooms) AS seqs,
           (SELECT coalesce(sum(last_read_seq), 0) FROM room_members) AS reads,
           (SELECT count(*) FROM message_reactions) AS reactions,
           (SELECT count(*) FROM room_events WHERE deleted_seq IS NOT NULL) AS deleted,
           (SELECT count(*) FROM room_events WHERE edited_seq IS NOT NULL) AS edited`.execute(app.db)
  const row = rows[0]!
  return Object.fromEntries(Object.entries(row).map(([key, value]) => [key, Number(value)])) as unknown as Fingerprint
}

/** A new member: one row, one member.joined entry, and their read marker at that entry (the room's last seq + 1). */
const joinDelta = (lastSeq: number): Partial<Fingerprint> => ({ members: 1, events: 1, seqs: 1, reads: lastSeq + 1 })

/** `after` is `before` moved by `delta` and nothing else: a refused request has an empty delta. */
function expectDelta(before: Fingerprint, after: Fingerprint, delta: Partial<Fingerprint>, what: string): void {
  const expected = { ...before }
  for (const [key, change] of Object.entries(delta)) expected[key as keyof Fingerprint] += change
  expect(after, `what ${what} changed in the database`).toEqual(expected)
}

// ---- generated cases ----------------------------------------------------------

/** How a body travels: as generated, mutated, replaced by something else, padded past the limit, with odd bytes. */
type Body<P> =
  | { kind: 'valid'; plan: P }
  | { kind: 'mutated'; plan: P; mutations: Mutation[] }
  | { kind: 'raw'; text: string }
  | { kind: 'bom'; plan: P }
  | { kind: 'oversize'; plan: P; pad: number }
  | { kind: 'badUtf8'; plan: P }
  | { kind: 'none' }

type CookieKind = 'own' | 'none' | 'junk' | 'revoked'

interface Envelope {
  contentType: string | undefined
  origin: string | undefined
  cookie: CookieKind
  junkCookie: string
}

const fuzzedEnvelope: fc.Arbitrary<Envelope> = fc.record({
  contentType,
  origin: fc.oneof(
    { weight: 3, arbitrary: fc.constant(undefined) },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        TEST_ORIGIN,
        'https://evil.example',
        'null',
        'http://127.0.0.1:3000.evil.example',
        'http://127.0.0.1:3001',
      ),
    },
  ),
  cookie: fc.oneof(
    { weight: 3, arbitrary: fc.constant<CookieKind>('own') },
    { weight: 2, arbitrary: fc.constantFrom<CookieKind>('none', 'junk', 'revoked') },
  ),
  junkCookie: fc.string({ unit: fc.constantFrom(...'abcXYZ019-_.%='.split('')), maxLength: 150 }),
})

/** Mostly what a client sends (JSON, own session, no foreign origin); one in four fuzzed. */
const envelope: fc.Arbitrary<Envelope> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.constant<Envelope>({
      contentType: 'application/json',
      origin: undefined,
      cookie: 'own',
      junkCookie: '',
    }),
  },
  { weight: 1, arbitrary: fuzzedEnvelope },
)

/** A valid plan as is (weight 4), mutated (5), or another body altogether (3). */
function bodyOf<P>(plan: fc.Arbitrary<P>): fc.Arbitrary<Body<P>> {
  return fc.oneof(
    { weight: 4, arbitrary: plan.map((p) => ({ kind: 'valid' as const, plan: p })) },
    {
      weight: 5,
      arbitrary: fc.record({ kind: fc.constant('mutated' as const), plan, mutations: bodyMutations }),
    },
    { weight: 2, arbitrary: rawBody.map((text) => ({ kind: 'raw' as const, text })) },
    {
      weight: 1,
      arbitrary: fc.oneof(
        plan.map((p) => ({ kind: 'bom' as const, plan: p })),
        plan.map((p) => ({ kind: 'badUtf8' as const, plan: p })),
        fc.record({ kind: fc.constant('oversize' as const), plan, pad: fc.integer({ min: 0, max: 2_000 }) }),
        fc.constant({ kind: 'none' as const }),
      ),
    },
  )
}

/** The bytes of a body, its plan resolved to an object by `resolve`. */
function payloadOf<P>(body: Body<P>, resolve: (plan: P) => object): string | Buffer | undefined {
  switch (body.kind) {
    case 'none':
      return undefined
    case 'raw':
      return body.text
    case 'valid':
      return JSON.stringify(resolve(body.plan))
    case 'mutated':
      return mutate(resolve(body.plan), body.mutations)
    case 'bom':
      return `\ufeff${JSON.stringify(resolve(body.plan))}`
    case 'oversize': {
      const text = JSON.stringify(resolve(body.plan))
      const pad = 'x'.repeat(LIMITS.httpMaxBodyBytes + body.pad)
      return text === '{}' ? `{"pad":"${pad}"}` : `${text.slice(0, -1)},"pad":"${pad}"}`
    }
    case 'badUtf8': {
      // Bytes that are not UTF-8 inside the first string value (or an extra one).
      const value = { ...resolve(body.plan) } as Record<string, unknown>
      const key = Object.keys(value).find((k) => typeof value[k] === 'string') ?? 'x'
      value[key] = '@@bytes@@'
      const [head, tail] = JSON.stringify(value).split('@@bytes@@') as [string, string]
      return Buffer.concat([
        Buffer.from(head),
        Buffer.from([0xff, 0xfe, 0xed, 0xa0, 0x80, 0xc0, 0x80]),
        Buffer.from(tail),
      ])
    }
  }
}

/** Upper, lower or mixed case, by the bits of `bits`. */
function recase(text: string, bits: number): string {
  if (bits % 3 === 0) return text.toUpperCase()
  if (bits % 3 === 1) return text
  return [...text].map((c, i) => ((bits >> (i % 16)) & 1 ? c.toUpperCase() : c.toLowerCase())).join('')
}

type PlanOf<A> = A extends fc.Arbitrary<infer T> ? T : never

/** A short description of a payload for failure messages. */
function describePayload(request: Request): string {
  const { payload } = request
  if (payload === undefined) return '(no body)'
  const text = Buffer.isBuffer(payload) ? payload.toString('utf8') : payload
  const shown = JSON.stringify(text.length > 300 ? `${text.slice(0, 300)}… (${text.length} chars)` : text)
  return `${shown} content-type=${request.contentType} origin=${request.origin} cookie=${request.cookie?.slice(0, 40)}`
}

const pick = <T>(items: readonly T[], index: number): T => items[index % items.length]!

/** Rounds a route gets to reach its successes; 4 makes a miss as likely as ~1 in 10^9. */
const SUCCESS_ROUNDS = 4

const fuzz = <T>(arbitrary: fc.Arbitrary<T>, numRuns: number, run: (value: T) => Promise<void>) =>
  fuzzAsync('HTTP fuzz', arbitrary, numRuns, run)

// ---- the suite ------------------------------------------------------------------

describeEachEngine('HTTP fuzz', (engine) => {
  // The per-user send limit is tested elsewhere; here it would only hide the answers under test.
  const ctx = useTestApp(engine, { realtime: realtimeConfig({ sendRatePerSecond: 1_000_000, sendBurst: 1_000_000 }) })
  let alice: Agent
  let bob: Agent
  /** Alice's: public (she writes and reads here), private (she adds members), public for joining and leaving. */
  let roomR: string
  let roomP: string
  let roomJ: string
  /** Bob's: public with Alice as a member, public without her, private without her. */
  let bobShared: string
  let bobPublic: string
  let bobPrivate: string
  let revokedCookie: string
  /** username (lower case) → id and, when known, password. */
  const users = new Map<string, { id: string; username: string; password: string | undefined }>()
  /** Alice's messages in room R, by lower-case clientId. */
  const aliceSent = new Map<string, Message>()
  const bobSeqsInR: number[] = []

  const PASSWORD = 'correct horse battery'
  const cookieOf = (agent: Agent, env: Envelope): string | undefined => {
    switch (env.cookie) {
      case 'own':
        return agent.cookie
      case 'none':
        return undefined
      case 'junk':
        return `${SESSION_COOKIE}=${env.junkCookie}`
      case 'revoked':
        return revokedCookie
    }
  }

  const lastSeqOf = async (roomId: string): Promise<number> =>
    Number(
      (await ctx.app.db.selectFrom('rooms').select('last_seq').where('id', '=', roomId).executeTakeFirstOrThrow())
        .last_seq,
    )

  beforeAll(async () => {
    alice = await signUp(ctx.app)
    bob = await signUp(ctx.app)
    for (const agent of [alice, bob]) {
      users.set(agent.user.username.toLowerCase(), { ...agent.user, password: PASSWORD })
    }
    roomR = (await createRoom(alice, 'public')).id
    roomP = (await createRoom(alice, 'private')).id
    roomJ = (await createRoom(alice, 'public')).id
    bobShared = (await createRoom(bob, 'public')).id
    bobPublic = (await createRoom(bob, 'public')).id
    bobPrivate = (await createRoom(bob, 'private')).id
    // A third person stays in J and in Bob's private room, so neither owner is ever the last member
    // there: their leaving is always refused (the last member leaving would delete the room).
    const stays = await signUp(ctx.app)
    await join(stays, roomJ)
    const added = await bob.request('POST', `/api/rooms/${bobPrivate}/members`, { username: stays.user.username })
    expect(added.statusCode).toBe(201)
    await join(alice, bobShared)
    await join(bob, roomR)
    for (const body of ['first', 'second']) {
      const message = await sendMessage(alice, roomR, body)
      aliceSent.set(message.clientId, message)
    }
    for (const body of ['from bob', 'again from bob']) bobSeqsInR.push((await sendMessage(bob, roomR, body)).seq)
    const { token } = await createSession(ctx.app.db, alice.user.id, 60_000)
    revokedCookie = `${SESSION_COOKIE}=${token}`
    const logout = await ctx.app.inject({
      method: 'POST',
      url: '/api/auth/logout',
      headers: { cookie: revokedCookie, 'content-type': 'application/json' },
    })
    expect(logout.statusCode).toBe(204)
  })

  /** Answers per code in the current property: each must have reached its route's successes too. */
  const tally = new Map<string, number>()
  beforeEach(() => tally.clear())
  /**
   * Fuzzes a route and makes sure its success path was reached at least
   * `atLeast` times: the share of valid requests is random, so a seed that
   * drew too few gets further rounds (seeds after the run's) rather than a
   * red run. Found in CI: 3 successes in 120 add-member requests, where ~9
   * are expected (a 1-in-15 chance per run).
   */
  const fuzzRoute = async <T>(
    atLeast: number,
    arbitrary: fc.Arbitrary<T>,
    numRuns: number,
    run: (value: T) => Promise<void>,
  ) => {
    for (let round = 0; round < SUCCESS_ROUNDS && (tally.get('success') ?? 0) < atLeast; round++) {
      await fuzzAsync('HTTP fuzz', arbitrary, numRuns, run, FUZZ_SEED + round)
    }
    expect(
      tally.get('success') ?? 0,
      `answers (FUZZ_SEED=${FUZZ_SEED}): ${JSON.stringify(Object.fromEntries(tally))}`,
    ).toBeGreaterThanOrEqual(atLeast)
  }

  afterEach(async () => {
    const health = await ctx.app.inject({ method: 'GET', url: '/healthz' })
    expect({ status: health.statusCode, body: health.json() }).toEqual({ status: 200, body: { status: 'ok' } })
  })

  /**
   * One request through the checks every route shares, then `route` for the
   * body that reached it: its expected outcome and the database change a
   * success makes. Refusals must change nothing.
   */
  async function exchange(
    request: Request,
    options: {
      what: string
      /** The body schema, or 'any' for bodiless routes (any JSON is read and ignored). */
      body: TSchema | 'any'
      /** False for sign-up and login. */
      needsSession?: boolean
      route(body: unknown): Promise<{ expected: Outcome | Outcome[]; schema?: TSchema; delta?: Partial<Fingerprint> }>
      after?(response: LightMyRequestResponse, body: unknown): Promise<void> | void
      /** What else the route may change (names, roles): a refusal must leave it as it was. */
      state?(): Promise<unknown>
    },
  ): Promise<Outcome> {
    const before = await fingerprint(ctx.app)
    const stateBefore = await options.state?.()
    const verdict = beforeTheRoute(request, ctx.app.config.allowedOrigins)
    let expected: Outcome | Outcome[]
    let schema: TSchema | undefined
    let delta: Partial<Fingerprint> = {}
    let body: unknown
    let echoes: string[] = [request.url]
    if ('refusal' in verdict) {
      expected = verdict.refusal
    } else {
      body = verdict.body
      echoes = [...echoes, ...stringsOf(body)]
      const valid = options.body === 'any' || fits(options.body, body)
      const hasSession =
        request.cookie !== undefined && request.cookie !== revokedCookie && !junkCookies.has(request.cookie)
      if (!valid) expected = refused('validation_failed')
      else if (options.needsSession !== false && !hasSession) expected = refused('unauthorized')
      else ({ expected, schema, delta = {} } = await options.route(body))
    }
    const response = await inject(ctx.app, request)
    const what = `${options.what}: ${request.method} ${request.url.slice(0, 200)} ${describePayload(request)}`
    const got = expectOutcome(response, expected, { echoes, what, ...(schema ? { schema } : {}) })
    expect(got.code, 'a fuzzed request crashed a handler').not.toBe('internal')
    const after = await fingerprint(ctx.app)
    expectDelta(before, after, got.code === null ? delta : {}, what)
    if (got.code !== null && options.state) expect(await options.state(), `what ${what} changed`).toEqual(stateBefore)
    if (got.code === null && options.after) await options.after(response, body)
    tally.set(got.code ?? 'success', (tally.get(got.code ?? 'success') ?? 0) + 1)
    return got
  }

  const junkCookies = new Set<string>()
  /** The request for a body route, with the envelope's content type, origin and cookie. */
  function post(
    url: string,
    env: Envelope,
    payload: string | Buffer | undefined,
    agent: Agent = alice,
    method: 'POST' | 'PATCH' = 'POST',
  ): Request {
    const cookie = cookieOf(agent, env)
    if (env.cookie === 'junk' && cookie) junkCookies.add(cookie)
    return { method, url, contentType: env.contentType, origin: env.origin, cookie, payload }
  }

  // ---- auth ----

  it('POST /api/auth/signup', async () => {
    const plan = fc.record({
      username: fc.oneof(
        { weight: 4, arbitrary: validUsername },
        { weight: 1, arbitrary: fc.record({ existing: fc.nat(), bits: fc.nat() }) },
      ),
      password: typedText(8, 40),
    })
    const resolve = (p: PlanOf<typeof plan>) => {
      const username =
        typeof p.username === 'string'
          ? p.username
          : recase(pick([...users.values()], p.username.existing).username, p.username.bits)
      return { username, password: p.password }
    }
    await fuzzRoute(5, fc.tuple(bodyOf(plan), envelope), 60, async ([body, env]) => {
      await exchange(post('/api/auth/signup', env, payloadOf(body, resolve)), {
        what: 'signup',
        body: Credentials,
        needsSession: false,
        async route(value) {
          const { username } = value as { username: string }
          if (users.has(username.toLowerCase())) return { expected: refused('username_taken') }
          return { expected: ok(201), schema: UserResponse, delta: { users: 1, sessions: 1 } }
        },
        after(response, value) {
          const { username, password } = value as { username: string; password: string }
          const user = response.json().user
          expect(user.username).toBe(username)
          expect(response.cookies.map((c) => c.name)).toContain(SESSION_COOKIE)
          users.set(username.toLowerCase(), { id: user.id, username, password })
        },
      })
    })
  })

  it('POST /api/auth/login', async () => {
    const plan = fc.record({
      username: fc.oneof(
        { weight: 3, arbitrary: fc.record({ existing: fc.nat(), bits: fc.nat() }) },
        { weight: 1, arbitrary: typedText(0, 20) },
      ),
      // null: the user's own password.
      password: fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: typedText(0, 30) }),
    })
    const resolve = (p: PlanOf<typeof plan>) => {
      const known = [...users.values()].filter((u) => u.password !== undefined)
      const user = typeof p.username === 'string' ? undefined : pick(known, p.username.existing)
      const username =
        user && typeof p.username !== 'string' ? recase(user.username, p.username.bits) : (p.username as string)
      return { username, password: p.password ?? user?.password ?? PASSWORD }
    }
    await fuzzRoute(5, fc.tuple(bodyOf(plan), envelope), 60, async ([body, env]) => {
      await exchange(post('/api/auth/login', env, payloadOf(body, resolve)), {
        what: 'login',
        body: LoginBody,
        needsSession: false,
        async route(value) {
          const { username, password } = value as { username: string; password: string }
          const user = users.get(username.toLowerCase())
          if (!user || user.password === undefined || user.password !== password) {
            return { expected: refused('invalid_credentials') }
          }
          return { expected: ok(200), schema: UserResponse, delta: { sessions: 1 } }
        },
        after(response) {
          expect(response.cookies.map((c) => c.name)).toContain(SESSION_COOKIE)
        },
      })
    })
  })

  it('POST /api/auth/logout (no body; any JSON is ignored, a bad one changes nothing)', async () => {
    const plan = fc.constant({})
    await fuzzRoute(5, fc.tuple(bodyOf(plan), envelope), 40, async ([body, env]) => {
      const { token } = await createSession(ctx.app.db, alice.user.id, 60_000)
      const session: Agent = { ...alice, cookie: `${SESSION_COOKIE}=${token}` }
      await exchange(
        post(
          '/api/auth/logout',
          env,
          payloadOf(body, () => ({})),
          session,
        ),
        {
          what: 'logout',
          body: 'any',
          async route() {
            return { expected: ok(204), delta: { sessions: -1 } }
          },
        },
      )
    })
  })

  // ---- rooms ----

  it('POST /api/rooms', async () => {
    const plan = fc.record({
      name: fc.oneof(
        { weight: 4, arbitrary: typedText(1, 80) },
        { weight: 1, arbitrary: fc.constantFrom(' ', '   ', '\t\n', '\u00a0', '\u2028', '\ufeff', '\u3000 ') },
        { weight: 1, arbitrary: typedText(1, 60).map((name) => `  ${name}\t `) },
      ),
      visibility: fc.constantFrom('public', 'private'),
    })
    await fuzzRoute(10, fc.tuple(bodyOf(plan), envelope), 100, async ([body, env]) => {
      await exchange(
        post(
          '/api/rooms',
          env,
          payloadOf(body, (p) => p),
        ),
        {
          what: 'create room',
          body: CreateRoomBody,
          async route(value) {
            const { name } = value as { name: string }
            if (name.trim() === '') return { expected: refused('validation_failed') }
            return { expected: ok(201), schema: RoomResponse, delta: { rooms: 1, members: 1 } }
          },
          after(response, value) {
            const { name, visibility } = value as { name: string; visibility: string }
            expect(response.json().room).toMatchObject({
              name: name.trim(),
              visibility,
              ownerId: alice.user.id,
              role: 'owner',
              memberCount: 1,
              lastSeq: 0,
            })
          },
        },
      )
    })
  })

  it('POST /api/rooms/:roomId/members', async () => {
    const plan = fc.record({
      username: fc.oneof(fc.record({ existing: fc.nat(), bits: fc.nat() }), typedText(0, 20), fc.constant('')),
    })
    const resolve = (p: PlanOf<typeof plan>) => ({
      username:
        typeof p.username === 'string'
          ? p.username
          : recase(pick([...users.values()], p.username.existing).username, p.username.bits),
    })
    const room = fc.oneof(
      { weight: 6, arbitrary: fc.constant('P') },
      { weight: 1, arbitrary: fc.constantFrom('bobShared', 'bobPublic', 'bobPrivate', 'unknown') },
    )
    await fuzzRoute(5, fc.tuple(bodyOf(plan), envelope, room), 80, async ([body, env, which]) => {
      const roomId = { P: roomP, bobShared, bobPublic, bobPrivate, unknown: randomUUID() }[which]
      await exchange(post(`/api/rooms/${roomId}/members`, env, payloadOf(body, resolve)), {
        what: 'add member',
        body: AddMemberBody,
        async route(value) {
          if (which === 'bobShared') return { expected: refused('forbidden') }
          if (which === 'bobPublic') return { expected: refused('not_member') }
          if (which !== 'P') return { expected: refused('not_found') }
          const user = users.get((value as { username: string }).username.toLowerCase())
          if (!user) return { expected: refused('not_found') }
          const member = await ctx.app.db
            .selectFrom('room_members')
            .select('user_id')
            .where('room_id', '=', roomP)
            .where('user_id', '=', user.id)
            .executeTakeFirst()
          // Adding writes member.joined, and the new member's read marker starts at it.
          return member
            ? { expected: ok(200), schema: MemberResponse }
            : { expected: ok(201), schema: MemberResponse, delta: joinDelta(await lastSeqOf(roomP)) }
        },
        after(response, value) {
          const user = users.get((value as { username: string }).username.toLowerCase())!
          expect(response.json().member).toMatchObject({ userId: user.id, username: user.username })
        },
      })
    })
  })

  it('POST /api/rooms/:roomId/read', async () => {
    const plan = fc.record({
      seq: fc.oneof(fc.nat({ max: 12 }), fc.constant(Number.MAX_SAFE_INTEGER), fc.nat()),
    })
    const room = fc.oneof(
      { weight: 6, arbitrary: fc.constant('R') },
      { weight: 1, arbitrary: fc.constantFrom('bobPublic', 'bobPrivate', 'unknown') },
    )
    await fuzzRoute(10, fc.tuple(bodyOf(plan), envelope, room), 80, async ([body, env, which]) => {
      const roomId = { R: roomR, bobPublic, bobPrivate, unknown: randomUUID() }[which]
      const marker = async () =>
        Number(
          (
            await ctx.app.db
              .selectFrom('room_members')
              .select('last_read_seq')
              .where('room_id', '=', roomR)
              .where('user_id', '=', alice.user.id)
              .executeTakeFirstOrThrow()
          ).last_read_seq,
        )
      let expectedMarker = 0
      await exchange(
        post(
          `/api/rooms/${roomId}/read`,
          env,
          payloadOf(body, (p) => p),
        ),
        {
          what: 'read marker',
          body: ReadBody,
          async route(value) {
            if (which === 'bobPublic') return { expected: refused('not_member') }
            if (which !== 'R') return { expected: refused('not_found') }
            const previous = await marker()
            const lastSeq = Number(
              (
                await ctx.app.db
                  .selectFrom('rooms')
                  .select('last_seq')
                  .where('id', '=', roomR)
                  .executeTakeFirstOrThrow()
              ).last_seq,
            )
            // Never backwards, never past the room's last seq.
            expectedMarker = Math.max(previous, Math.min((value as { seq: number }).seq, lastSeq))
            return { expected: ok(200), schema: ReadResponse, delta: { reads: expectedMarker - previous } }
          },
          after(response) {
            const unread = Math.min(999, bobSeqsInR.filter((seq) => seq > expectedMarker).length)
            expect(response.json()).toEqual({ lastReadSeq: expectedMarker, unreadCount: unread })
          },
        },
      )
    })
  })

  it('POST /api/rooms/:roomId/join and /leave (no body; any JSON is ignored)', async () => {
    const action = fc.record({
      route: fc.constantFrom('join', 'leave'),
      as: fc.constantFrom('bob', 'alice'),
      room: fc.oneof(
        { weight: 4, arbitrary: fc.constant('J') },
        { weight: 1, arbitrary: fc.constantFrom('P', 'bobPrivate', 'unknown') },
      ),
    })
    await fuzzRoute(10, fc.tuple(bodyOf(fc.constant({})), envelope, action), 80, async ([body, env, act]) => {
      const agent = act.as === 'bob' ? bob : alice
      const roomId = { J: roomJ, P: roomP, bobPrivate, unknown: randomUUID() }[act.room]
      const memberRow = (id: string) =>
        ctx.app.db
          .selectFrom('room_members')
          .select(['role', 'last_read_seq'])
          .where('room_id', '=', id)
          .where('user_id', '=', agent.user.id)
          .executeTakeFirst()
      const membership = async (id: string) => (await memberRow(id))?.role ?? null
      await exchange(
        post(
          `/api/rooms/${roomId}/${act.route}`,
          env,
          payloadOf(body, () => ({})),
          agent,
        ),
        {
          what: `${act.as} ${act.route}s ${act.room}`,
          body: 'any',
          async route() {
            const role = act.room === 'unknown' ? null : await membership(roomId)
            const isPrivate = act.room === 'P' || act.room === 'bobPrivate'
            if (isPrivate && role === null) return { expected: refused('not_found') }
            if (act.route === 'join') {
              if (isPrivate) return { expected: refused('forbidden') }
              if (act.room === 'unknown') return { expected: refused('not_found') }
              return {
                expected: ok(200),
                schema: RoomResponse,
                delta: role === null ? joinDelta(await lastSeqOf(roomId)) : {},
              }
            }
            if (act.room === 'unknown') return { expected: refused('not_found') }
            if (role === null) return { expected: refused('not_member') }
            if (role === 'owner') return { expected: refused('owner_cannot_leave') }
            // member.left is written; the leaver's read marker goes with their row.
            const read = Number((await memberRow(roomId))!.last_read_seq)
            return { expected: ok(204), delta: { members: -1, events: 1, seqs: 1, reads: -read } }
          },
        },
      )
    })
  })

  // ---- messages ----

  it('POST /api/rooms/:roomId/messages', async () => {
    const messageText = fc.oneof(
      { weight: 6, arbitrary: typedText(1, 200) },
      { weight: 1, arbitrary: fc.constantFrom('', ' ', ' \t\n ', '\u00a0\u2028', '\ufeff') },
      { weight: 1, arbitrary: typedText(1, 100).map((text) => `\n  ${text}  \t`) },
      {
        weight: 1,
        arbitrary: fc.constantFrom(
          'x'.repeat(LIMITS.messageBodyMax),
          'x'.repeat(LIMITS.messageBodyMax + 1),
          '😀'.repeat(LIMITS.messageBodyMax),
          `${' '.repeat(3000)}${'y'.repeat(LIMITS.messageBodyMax)}${' '.repeat(1000)}`,
          'z'.repeat(LIMITS.messageBodyMax * 2),
        ),
      },
      // Names Bob (a member of R) and someone who is not: only Bob is mentioned (issue 9).
      { weight: 1, arbitrary: fc.constant('@@mention@@') },
    )
    const outsider = (await signUp(ctx.app)).user.username
    /** R's messages when the request is built: what a reply names (issue 9). */
    let messagesOfR: Array<{ seq: number; clientId: string | null; alices: boolean }> = []
    const plan = fc.record(
      {
        clientId: fc.oneof(
          { weight: 4, arbitrary: fc.uuid().map((id) => ({ fresh: id })) },
          { weight: 1, arbitrary: fc.record({ existing: fc.nat(), bits: fc.nat() }) },
        ),
        body: messageText,
        afterClientId: fc.constantFrom('latest', 'unknown', 'itself'),
        reply: fc.record({
          to: fc.constantFrom('seq', 'seq', 'notMessage', 'clientId', 'bobsClientId', 'itself', 'both'),
          pick: fc.nat(),
        }),
      },
      { requiredKeys: ['clientId', 'body'] },
    )
    const replyFields = (reply: PlanOf<typeof plan>['reply'], clientId: string) => {
      if (reply === undefined) return {}
      const mine = messagesOfR.filter((m) => m.alices)
      const bobs = messagesOfR.filter((m) => !m.alices)
      switch (reply.to) {
        case 'seq':
          return { replyTo: pick(messagesOfR, reply.pick).seq }
        case 'notMessage':
          return { replyTo: messagesOfR.at(-1)!.seq + 1 + (reply.pick % 50) }
        case 'clientId':
          return { replyToClientId: pick(mine, reply.pick).clientId! }
        case 'bobsClientId':
          return { replyToClientId: pick(bobs, reply.pick).clientId! }
        case 'itself':
          return { replyToClientId: clientId.toUpperCase() }
        default:
          return { replyTo: pick(messagesOfR, reply.pick).seq, replyToClientId: pick(mine, reply.pick).clientId! }
      }
    }
    const resolve = (p: PlanOf<typeof plan>) => {
      const stored = [...aliceSent.values()]
      const clientId =
        'fresh' in p.clientId ? p.clientId.fresh : recase(pick(stored, p.clientId.existing).clientId, p.clientId.bits)
      const after =
        p.afterClientId === 'latest'
          ? stored.at(-1)!.clientId
          : p.afterClientId === 'unknown'
            ? randomUUID()
            : p.afterClientId === 'itself'
              ? clientId.toUpperCase()
              : undefined
      const text = p.body === '@@mention@@' ? `hi @${bob.user.username} and @${outsider}` : p.body
      return {
        clientId,
        body: text,
        ...(after === undefined ? {} : { afterClientId: after }),
        ...replyFields(p.reply, clientId),
      }
    }
    const room = fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom('R', 'R upper case') },
      { weight: 1, arbitrary: fc.constantFrom('bobPublic', 'bobPrivate', 'unknown') },
    )
    await fuzzRoute(10, fc.tuple(bodyOf(plan), envelope, room), 140, async ([body, env, which]) => {
      const roomId = { R: roomR, 'R upper case': roomR.toUpperCase(), bobPublic, bobPrivate, unknown: randomUUID() }[
        which
      ]
      const log = await logOf(roomR)
      messagesOfR = log.messages.map((m) => ({
        seq: Number(m.seq),
        clientId: m.client_id,
        alices: m.author_id === alice.user.id,
      }))
      let expectedSeq = 0
      let expectedReply: number | undefined
      let expectedMentions: string[] = []
      await exchange(post(`/api/rooms/${roomId}/messages`, env, payloadOf(body, resolve)), {
        what: `send to ${which}`,
        body: SendMessageBody,
        async route(value) {
          const {
            clientId,
            body: text,
            afterClientId,
          } = value as {
            clientId: string
            body: string
            afterClientId?: string
          }
          const send = value as SendMessageBody
          // The body, then the reply fields (docs/PROTOCOL.md, "Validation, in this order"), ids in any case.
          const problem =
            messageBodyProblem(text) ??
            replyProblem({
              clientId: clientId.toLowerCase(),
              ...(send.replyTo === undefined ? {} : { replyTo: send.replyTo }),
              ...(send.replyToClientId === undefined ? {} : { replyToClientId: send.replyToClientId.toLowerCase() }),
            })
          if (problem) return { expected: refused(problem.code) }
          if (afterClientId?.toLowerCase() === clientId.toLowerCase()) return { expected: refused('validation_failed') }
          if (which === 'bobPublic') return { expected: refused('not_member') }
          if (which !== 'R' && which !== 'R upper case') return { expected: refused('not_found') }
          if (aliceSent.has(clientId.toLowerCase())) return { expected: ok(200), schema: MessageResponse }
          if (afterClientId && !aliceSent.has(afterClientId.toLowerCase())) return { expected: refused('out_of_order') }
          // A reply names a message of R: any author's by seq, one's own by clientId; a deleted one is fine.
          const replied =
            send.replyTo !== undefined
              ? messagesOfR.find((m) => m.seq === send.replyTo)
              : send.replyToClientId !== undefined
                ? messagesOfR.find((m) => m.alices && m.clientId === send.replyToClientId!.toLowerCase())
                : undefined
          if ((send.replyTo !== undefined || send.replyToClientId !== undefined) && !replied) {
            return { expected: refused('target_not_found') }
          }
          expectedReply = replied?.seq
          const members = new Map([alice, bob].map((a) => [a.user.username.toLowerCase(), a.user.id]))
          expectedMentions = mentionedUsernames(text.trim()).flatMap((name) =>
            members.has(name) ? [members.get(name)!] : [],
          )
          const room = await ctx.app.db
            .selectFrom('rooms')
            .select('last_seq')
            .where('id', '=', roomR)
            .executeTakeFirstOrThrow()
          expectedSeq = Number(room.last_seq) + 1
          return { expected: ok(201), schema: MessageResponse, delta: { events: 1, seqs: 1 } }
        },
        after(response, value) {
          const { clientId, body: text } = value as { clientId: string; body: string }
          const message = response.json().message as Message
          const original = aliceSent.get(clientId.toLowerCase())
          if (response.statusCode === 200) {
            // A resend: the original message, whatever the body says now.
            expect(message).toEqual(original)
            return
          }
          // Exactly what was stored: the reply's seq and the members mentioned, absent when none.
          expect(message).toEqual({
            roomId: roomR,
            seq: expectedSeq,
            clientId: clientId.toLowerCase(),
            authorId: alice.user.id,
            authorName: alice.user.username,
            body: text.trim(),
            createdAt: expect.any(String),
            ...(expectedReply === undefined ? {} : { replyTo: expectedReply }),
            ...(expectedMentions.length === 0 ? {} : { mentions: expectedMentions }),
          })
          aliceSent.set(message.clientId, message)
        },
      })
    })
  })

  it('regression (found by the fuzz): a send to the room id in upper case is stored in that room, not refused 404', async () => {
    const before = await fingerprint(ctx.app)
    const clientId = '00000000-0000-1000-8000-000000000000'
    const response = await alice.request('POST', `/api/rooms/${roomR.toUpperCase()}/messages`, { clientId, body: '!' })
    expect(response.statusCode, response.body).toBe(201)
    expect(response.json().message).toMatchObject({ roomId: roomR, clientId, body: '!' })
    expectDelta(before, await fingerprint(ctx.app), { events: 1, seqs: 1 }, 'the send')
    aliceSent.set(clientId, response.json().message)
  })

  // ---- conversation operations, rename, roles (issue 9) ----

  /** What a room holds, for a plan to name: message seqs (with author), other seqs, Alice's client ids. */
  async function logOf(roomId: string) {
    const rows = await ctx.app.db
      .selectFrom('room_events')
      .select(['seq', 'kind', 'author_id', 'client_id', 'deleted_seq', 'edited_seq'])
      .where('room_id', '=', roomId)
      .orderBy('seq')
      .execute()
    const messages = rows.filter((r) => r.kind === 'message.created')
    return {
      rows,
      messages,
      others: rows.filter((r) => r.kind !== 'message.created').map((r) => Number(r.seq)),
      lastSeq: Number(rows.at(-1)?.seq ?? 0),
      /** Everything Alice stored in this room (messages and operations): the dedupe key and the sender chain. */
      alices: rows.filter((r) => r.author_id === alice.user.id && r.client_id !== null).map((r) => r.client_id!),
    }
  }

  it('POST /api/rooms/:roomId/operations (edit, delete, react)', async () => {
    // O: Alice's, Bob a member, a message each way; Alice may delete any message there (owner), in
    // bobShared only her own. Each message in O and bobShared is a target; so are seqs that are not messages.
    const roomO = (await createRoom(alice, 'public')).id
    await join(bob, roomO)
    for (const roomId of [roomO, bobShared]) {
      for (let i = 0; i < 3; i++) {
        await sendMessage(alice, roomId, `alice ${i} in ${roomId === roomO ? 'O' : 'shared'}`)
        await sendMessage(bob, roomId, `bob ${i}`)
      }
    }
    const outsider = (await signUp(ctx.app)).user
    const elsewhere = [...aliceSent.keys()]
    /** Alice and Bob are members of both O and bobShared: the names a mention resolves. */
    const membersO = new Map([alice, bob].map((a) => [a.user.username.toLowerCase(), a.user.id]))
    const emoji = fc.oneof(
      { weight: 5, arbitrary: fc.constantFrom('👍', '❤️', '🎉', '😂', '🇫🇷', '👩🏽‍💻', '1️⃣', '🏴󠁧󠁢󠁳󠁣󠁴󠁿') },
      {
        weight: 2,
        arbitrary: fc.constantFrom(
          'a',
          '👍👍',
          '',
          ' ',
          ':)',
          '👍 ',
          '\u200d',
          '🇫',
          '👨‍👩‍👧‍👦👨‍👩‍👧‍👦',
          '👩🏽‍👩🏽‍👧🏽‍👦🏽',
        ),
      },
      { weight: 1, arbitrary: nastyString(4) },
    )
    const plan = fc.record({
      type: fc.constantFrom('edit', 'delete', 'react'),
      clientId: fc.oneof(
        { weight: 4, arbitrary: fc.uuid().map((id) => ({ fresh: id })) },
        { weight: 1, arbitrary: fc.record({ existing: fc.nat(), bits: fc.nat() }) },
      ),
      target: fc.oneof(
        {
          weight: 6,
          arbitrary: fc.record({
            seqOf: fc.constantFrom('message', 'message', 'message', 'other', 'beyond'),
            pick: fc.nat(),
          }),
        },
        {
          weight: 3,
          arbitrary: fc.record({
            clientIdOf: fc.constantFrom('mine', 'mine', 'bobs', 'elsewhere', 'itself', 'unknown'),
            pick: fc.nat(),
            bits: fc.nat(),
          }),
        },
        { weight: 1, arbitrary: fc.constantFrom({ both: true }, { neither: true }) },
      ),
      body: fc.oneof(
        { weight: 5, arbitrary: typedText(1, 120) },
        { weight: 1, arbitrary: fc.constantFrom('', ' \t ', 'x'.repeat(LIMITS.messageBodyMax + 1), 'mention') },
      ),
      emoji,
      action: fc.constantFrom('add', 'remove'),
      after: fc.constantFrom('none', 'none', 'none', 'latest', 'latest', 'unknown', 'itself'),
    })
    const room = fc.oneof(
      { weight: 6, arbitrary: fc.constant('O') },
      { weight: 2, arbitrary: fc.constant('bobShared') },
      { weight: 1, arbitrary: fc.constantFrom('bobPublic', 'bobPrivate', 'unknown') },
    )
    await fuzzRoute(8, fc.tuple(bodyOf(plan), envelope, room), 150, async ([body, env, which]) => {
      const roomId = { O: roomO, bobShared, bobPublic, bobPrivate, unknown: randomUUID() }[which]
      const log = await logOf(roomId)
      const resolve = (p: PlanOf<typeof plan>) => {
        const clientId =
          'fresh' in p.clientId || log.alices.length === 0
            ? 'fresh' in p.clientId
              ? p.clientId.fresh
              : randomUUID()
            : recase(pick(log.alices, p.clientId.existing), p.clientId.bits)
        const t = p.target
        const target =
          'both' in t
            ? { targetSeq: 1, targetClientId: randomUUID() }
            : 'neither' in t
              ? {}
              : 'seqOf' in t
                ? {
                    targetSeq:
                      t.seqOf === 'message' && log.messages.length > 0
                        ? Number(pick(log.messages, t.pick).seq)
                        : t.seqOf === 'other' && log.others.length > 0
                          ? pick(log.others, t.pick)
                          : log.lastSeq + 1 + (t.pick % 1000),
                  }
                : {
                    targetClientId: recase(
                      t.clientIdOf === 'itself'
                        ? clientId
                        : t.clientIdOf === 'unknown'
                          ? randomUUID()
                          : t.clientIdOf === 'elsewhere'
                            ? pick(elsewhere, t.pick)
                            : (() => {
                                const author = t.clientIdOf === 'mine' ? alice.user.id : bob.user.id
                                const own = log.messages.filter((m) => m.author_id === author)
                                return own.length > 0 ? own[t.pick % own.length]!.client_id! : randomUUID()
                              })(),
                      t.bits,
                    ),
                  }
        const after =
          p.after === 'latest'
            ? log.alices.at(-1)
            : p.after === 'unknown'
              ? randomUUID()
              : p.after === 'itself'
                ? clientId.toUpperCase()
                : undefined
        const text = p.body === 'mention' ? `hi @${bob.user.username} and @${outsider.username}` : p.body
        return {
          type: p.type,
          clientId,
          ...target,
          ...(after === undefined ? {} : { afterClientId: after }),
          ...(p.type === 'edit' ? { body: text } : {}),
          ...(p.type === 'react' ? { emoji: p.emoji, action: p.action } : {}),
        }
      }
      let expectedSeq = 0
      let expectedMentions: string[] = []
      let duplicateOf: LogRow | undefined
      await exchange(post(`/api/rooms/${roomId}/operations`, env, payloadOf(body, resolve)), {
        what: `operation in ${which}`,
        body: OperationBody,
        async route(value) {
          const op = value as OperationBody
          const standing: Standing =
            which === 'bobPrivate' || which === 'unknown'
              ? 'hidden'
              : which === 'bobPublic'
                ? 'notMember'
                : which === 'O'
                  ? 'moderator'
                  : 'member'
          const verdict = judgeWrite(op, alice.user.id, standing, log.rows, membersO)
          if ('refused' in verdict) return { expected: refused(verdict.refused) }
          if ('duplicate' in verdict) {
            duplicateOf = verdict.duplicate
            return { expected: ok(200), schema: OperationResponse }
          }
          const target = verdict.stored.target!
          expectedSeq = log.lastSeq + 1
          expectedMentions = verdict.stored.mentions
          const held = async (emoji?: string) =>
            Number(
              (
                await sql<{ n: string }>`
                  SELECT count(*) AS n FROM message_reactions WHERE room_id = ${roomId} AND message_seq = ${target.seq}
                    AND (${emoji ?? null}::text IS NULL OR (emoji = ${emoji ?? null} AND user_id = ${alice.user.id}))`.execute(
                  ctx.app.db,
                )
              ).rows[0]!.n,
            )
          const delta: Partial<Fingerprint> = { events: 1, seqs: 1 }
          if (op.type === 'edit' && target.edited_seq === null) delta.edited = 1
          if (op.type === 'delete') {
            delta.deleted = 1
            delta.reactions = -(await held())
            if (target.edited_seq !== null) delta.edited = -1
          }
          if (op.type === 'react') {
            const holds = (await held(op.emoji)) > 0
            delta.reactions = op.action === 'add' ? (holds ? 0 : 1) : holds ? -1 : 0
          }
          return { expected: ok(201), schema: OperationResponse, delta }
        },
        async after(response, value) {
          const op = value as OperationBody
          const { event } = response.json() as { event: RoomEvent }
          if (response.statusCode === 200) {
            // A resend: the stored entry (as it is now), whatever this body says.
            expect(event).toMatchObject({ seq: Number(duplicateOf!.seq), kind: duplicateOf!.kind })
            expect(event.clientId).toBe(op.clientId.toLowerCase())
            return
          }
          const kind =
            op.type === 'edit'
              ? 'message.edited'
              : op.type === 'delete'
                ? 'message.deleted'
                : op.action === 'add'
                  ? 'reaction.added'
                  : 'reaction.removed'
          expect(event).toMatchObject({
            roomId,
            seq: expectedSeq,
            kind,
            authorId: alice.user.id,
            clientId: op.clientId.toLowerCase(),
            body: op.type === 'edit' ? op.body.trim() : null,
            reaction: op.type === 'react' ? op.emoji : null,
          })
          // Mentions: members only (Bob), never the outsider named in the same text.
          if (op.type === 'edit' && op.body.includes(`@${outsider.username}`))
            expect(event.mentions).toEqual([bob.user.id])
          expect(event.mentions ?? [], 'mentions: members only').toEqual(expectedMentions)
        },
      })
    })
  })

  it('PATCH /api/rooms/:roomId (rename)', async () => {
    const plan = fc.record({
      name: fc.oneof(
        { weight: 4, arbitrary: typedText(1, 80) },
        { weight: 1, arbitrary: fc.constantFrom(' ', '\t\n', '\u3000', 'x'.repeat(LIMITS.roomNameMax + 1), 'Same') },
      ),
      topic: fc.oneof(
        { weight: 3, arbitrary: typedText(0, 120) },
        { weight: 1, arbitrary: fc.constantFrom('', '  ', 'x'.repeat(LIMITS.roomTopicMax + 1), ' padded ') },
      ),
    })
    const room = fc.oneof(
      { weight: 6, arbitrary: fc.constant('R') },
      { weight: 1, arbitrary: fc.constantFrom('bobShared', 'bobPublic', 'bobPrivate', 'unknown') },
    )
    const nameOf = async (roomId: string) =>
      (await ctx.app.db.selectFrom('rooms').select(['name', 'topic']).where('id', '=', roomId).executeTakeFirst()) ??
      null
    await fuzzRoute(5, fc.tuple(bodyOf(plan), envelope, room), 60, async ([body, env, which]) => {
      const roomId = { R: roomR, bobShared, bobPublic, bobPrivate, unknown: randomUUID() }[which]
      await exchange(
        post(
          `/api/rooms/${roomId}`,
          env,
          payloadOf(body, (p) => p),
          alice,
          'PATCH',
        ),
        {
          what: `rename ${which}`,
          body: RenameRoomBody,
          state: () => nameOf(roomId),
          async route(value) {
            const rename = value as RenameRoomBody
            if (rename.name.trim() === '') return { expected: refused('validation_failed') }
            if (which === 'bobShared') return { expected: refused('forbidden') }
            if (which === 'bobPublic') return { expected: refused('not_member') }
            if (which !== 'R') return { expected: refused('not_found') }
            const now = await nameOf(roomR)
            const topic = rename.topic.trim() === '' ? null : rename.topic.trim()
            const same = now?.name === rename.name.trim() && now?.topic === topic
            return { expected: ok(200), schema: RoomResponse, delta: same ? {} : { events: 1, seqs: 1 } }
          },
          async after(response, value) {
            const rename = value as RenameRoomBody
            const topic = rename.topic.trim() === '' ? null : rename.topic.trim()
            expect(response.json().room).toMatchObject({ id: roomR, name: rename.name.trim(), topic, role: 'owner' })
            expect(await nameOf(roomR)).toEqual({ name: rename.name.trim(), topic })
          },
        },
      )
    })
  })

  it('PATCH /api/rooms/:roomId/members/:userId (roles, ownership)', async () => {
    // M: Alice's public room with three members; whoever owns it now acts as the owner, a member as
    // someone without the right, a signed-in stranger as a non-member. Transfers keep an owner.
    const roomM = (await createRoom(alice, 'public')).id
    const cast = [alice, bob, await signUp(ctx.app), await signUp(ctx.app)]
    for (const agent of cast.slice(1)) await join(agent, roomM)
    const stranger = await signUp(ctx.app)
    const rolesOf = async (roomId: string) => {
      const rows = await ctx.app.db
        .selectFrom('room_members')
        .select(['user_id', 'role'])
        .where('room_id', '=', roomId)
        .orderBy('user_id')
        .execute()
      const room = await ctx.app.db.selectFrom('rooms').select('owner_id').where('id', '=', roomId).executeTakeFirst()
      return { owner: room?.owner_id ?? null, roles: Object.fromEntries(rows.map((r) => [r.user_id, r.role])) }
    }
    const plan = fc.record({ role: fc.constantFrom('owner', 'admin', 'admin', 'member', 'member') })
    const action = fc.record({
      actor: fc.oneof(
        { weight: 5, arbitrary: fc.constant('owner' as const) },
        { weight: 1, arbitrary: fc.constantFrom('notOwner' as const, 'stranger' as const) },
      ),
      target: fc.oneof(
        { weight: 5, arbitrary: fc.nat().map((n) => ({ member: n })) },
        { weight: 1, arbitrary: fc.constantFrom({ self: true }, { stranger: true }, { nobody: true }) },
      ),
      upper: fc.boolean(),
      room: fc.oneof(
        { weight: 6, arbitrary: fc.constant('M') },
        { weight: 1, arbitrary: fc.constantFrom('bobShared', 'bobPublic', 'bobPrivate', 'unknown') },
      ),
    })
    await fuzzRoute(5, fc.tuple(bodyOf(plan), envelope, action), 80, async ([body, env, act]) => {
      const roomId = { M: roomM, bobShared, bobPublic, bobPrivate, unknown: randomUUID() }[act.room]
      const now = await rolesOf(roomM)
      const owner = cast.find((a) => a.user.id === now.owner)!
      const agent =
        act.room !== 'M'
          ? alice
          : act.actor === 'owner'
            ? owner
            : act.actor === 'stranger'
              ? stranger
              : cast.find((a) => now.roles[a.user.id] !== 'owner')!
      const t = act.target
      const targetId =
        'member' in t
          ? pick(cast, t.member).user.id
          : 'self' in t
            ? agent.user.id
            : 'stranger' in t
              ? stranger.user.id
              : randomUUID()
      const url = `/api/rooms/${roomId}/members/${act.upper ? targetId.toUpperCase() : targetId}`
      let expectedRoles = now
      await exchange(
        post(
          url,
          env,
          payloadOf(body, (p) => p),
          agent,
          'PATCH',
        ),
        {
          what: `role in ${act.room} by ${act.actor}`,
          body: SetRoleBody,
          state: () => rolesOf(roomId),
          async route(value) {
            const { role } = value as { role: Role }
            if (act.room === 'bobPrivate' || act.room === 'unknown') return { expected: refused('not_found') }
            if (act.room === 'bobPublic') return { expected: refused('not_member') }
            const roles = act.room === 'M' ? now.roles : (await rolesOf(roomId)).roles
            const actorRole = roles[agent.user.id]
            if (actorRole === undefined) return { expected: refused('not_member') }
            if (actorRole !== 'owner') return { expected: refused('forbidden') }
            const current = roles[targetId]
            if (current === undefined) return { expected: refused('not_found') }
            if (current === role) return { expected: ok(200), schema: MemberResponse }
            if (targetId === agent.user.id) return { expected: refused('forbidden') }
            const next = { ...roles, [targetId]: role }
            if (role === 'owner') next[agent.user.id] = 'admin'
            expectedRoles = { owner: role === 'owner' ? targetId : now.owner, roles: next }
            return { expected: ok(200), schema: MemberResponse }
          },
          async after(response, value) {
            const { role } = value as { role: Role }
            expect(response.json().member).toMatchObject({ userId: targetId, role })
            expect(await rolesOf(roomM)).toEqual(expectedRoles)
          },
        },
      )
    })
  })

  // ---- queries ----

  type Pair = [string, string]
  /** A query's pairs: each known key once with a valid value, then fuzzed keys and values. */
  const queryOf = (keys: readonly string[], validValue: (key: string) => fc.Arbitrary<string>) =>
    fc.oneof(
      {
        weight: 2,
        arbitrary: fc
          .subarray([...keys])
          .chain((chosen) => fc.tuple(...chosen.map((key) => validValue(key).map((v): Pair => [key, v])))),
      },
      {
        weight: 4,
        arbitrary: fc.array(
          fc.tuple(
            fc.oneof(
              { weight: 4, arbitrary: fc.constantFrom(...keys) },
              {
                weight: 1,
                arbitrary: fc.oneof(
                  fc.constantFrom('__proto__', 'constructor', 'toString', 'limit[]', 'LIMIT', 'after ', 'before', 'x'),
                  nastyString(8).map(wellFormed),
                ),
              },
            ),
            queryValue,
          ),
          { maxLength: 4 },
        ),
      },
    )
  const encodeQuery = (pairs: readonly Pair[]) =>
    pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&')

  type Judged = 'ok' | 'bad' | 'lenient'
  /** An integer query value: its plain decimal form in range must pass, anything that is not that number must not. */
  function judgeInteger(text: string, min: number, max: number): Judged {
    const value = Number(text)
    if (text.trim() === '' || !Number.isInteger(value) || value < min || value > max) return 'bad'
    return /^(0|[1-9][0-9]*)$/.test(text) ? 'ok' : 'lenient'
  }

  /**
   * The verdict on a query, from the schema's properties alone: unknown or
   * repeated keys and values that are not their type are refused; '05',
   * ' 5', '5.0' or '0x5' may pass as 5 (the server converts text with
   * Number), or not.
   */
  function judgeQuery(
    schema: TSchema,
    pairs: readonly Pair[],
  ): { verdict: Judged; values: Record<string, number | string> } {
    const properties = (
      schema as unknown as {
        properties: Record<string, TSchema & { type?: string; minimum?: number; maximum?: number }>
      }
    ).properties
    const values: Record<string, number | string> = {}
    let verdict: Judged = 'ok'
    const seen = new Set<string>()
    for (const [key, text] of pairs) {
      const property = Object.hasOwn(properties, key) ? properties[key] : undefined
      if (!property || seen.has(key)) return { verdict: 'bad', values }
      seen.add(key)
      const judged =
        property.type === 'integer'
          ? judgeInteger(text, property.minimum ?? Number.MIN_SAFE_INTEGER, property.maximum ?? Number.MAX_SAFE_INTEGER)
          : fits(property, text)
            ? 'ok'
            : 'bad'
      if (judged === 'bad') return { verdict: 'bad', values }
      if (judged === 'lenient') verdict = 'lenient'
      values[key] = property.type === 'integer' ? Number(text) : text
    }
    return { verdict, values }
  }

  async function queryExchange(
    url: string,
    schema: TSchema,
    pairs: readonly Pair[],
    options: {
      what: string
      readable: boolean
      response: TSchema
      check(body: unknown, values: Record<string, number | string>): Promise<void>
    },
  ) {
    const { verdict, values } = judgeQuery(schema, pairs)
    const query = encodeQuery(pairs)
    const before = await fingerprint(ctx.app)
    const response = await inject(ctx.app, { method: 'GET', url: `${url}?${query}`, cookie: alice.cookie })
    const success = options.readable ? ok(200) : refused('not_found')
    const expected =
      verdict === 'ok'
        ? [success]
        : verdict === 'bad'
          ? [refused('validation_failed')]
          : [success, refused('validation_failed')]
    const got = expectOutcome(response, expected, {
      what: `${options.what} ?${query.slice(0, 300)} (${verdict})`,
      echoes: pairs.flat(),
      schema: options.response,
    })
    expectDelta(before, await fingerprint(ctx.app), {}, options.what)
    if (got.status === 200) await options.check(response.json(), values)
    tally.set(got.code ?? 'success', (tally.get(got.code ?? 'success') ?? 0) + 1)
  }

  const limitOrSeq = (max: number) => (key: string) =>
    key === 'limit' ? fc.integer({ min: 1, max }).map(String) : fc.nat({ max: 30 }).map(String)

  it('GET /api/rooms/:roomId/messages?before=&limit= (history)', async () => {
    const room = fc.oneof(
      { weight: 5, arbitrary: fc.constant('R') },
      { weight: 1, arbitrary: fc.constantFrom('bobPublic', 'bobPrivate') },
    )
    await fuzzRoute(
      10,
      fc.tuple(queryOf(['before', 'limit'], limitOrSeq(LIMITS.historyPageMax)), room),
      100,
      async ([pairs, which]) => {
        const roomId = { R: roomR, bobPublic, bobPrivate }[which]
        await queryExchange(`/api/rooms/${roomId}/messages`, HistoryQuery, pairs, {
          what: `history of ${which}`,
          readable: which !== 'bobPrivate',
          response: HistoryResponse,
          async check(body, values) {
            const limit = (values.limit as number | undefined) ?? LIMITS.historyPageDefault
            const before = values.before as number | undefined
            const rows = await ctx.app.db
              .selectFrom('room_events')
              .select('seq')
              .where('room_id', '=', roomId)
              .where('kind', '=', 'message.created')
              .$if(before !== undefined, (q) => q.where('seq', '<', String(before)))
              .orderBy('seq', 'desc')
              .limit(limit + 1)
              .execute()
            const page = body as { messages: Message[]; hasMore: boolean }
            expect(page.messages.map((m) => m.seq)).toEqual(rows.slice(0, limit).map((r) => Number(r.seq)))
            expect(page.hasMore).toBe(rows.length > limit)
          },
        })
      },
    )
  })

  it('GET /api/rooms/:roomId/events?after=&limit= (catch-up)', async () => {
    const room = fc.oneof(
      { weight: 5, arbitrary: fc.constant('R') },
      { weight: 1, arbitrary: fc.constantFrom('bobPublic', 'bobPrivate') },
    )
    await fuzzRoute(
      10,
      fc.tuple(queryOf(['after', 'limit'], limitOrSeq(LIMITS.catchUpPageMax)), room),
      100,
      async ([pairs, which]) => {
        const roomId = { R: roomR, bobPublic, bobPrivate }[which]
        await queryExchange(`/api/rooms/${roomId}/events`, EventsQuery, pairs, {
          what: `events of ${which}`,
          readable: which !== 'bobPrivate',
          response: EventsResponse,
          async check(body, values) {
            const limit = (values.limit as number | undefined) ?? LIMITS.catchUpPageDefault
            const after = (values.after as number | undefined) ?? 0
            const rows = await ctx.app.db
              .selectFrom('room_events')
              .select('seq')
              .where('room_id', '=', roomId)
              .where('seq', '>', String(after))
              .orderBy('seq')
              .limit(limit + 1)
              .execute()
            const room = await ctx.app.db
              .selectFrom('rooms')
              .select('last_seq')
              .where('id', '=', roomId)
              .executeTakeFirstOrThrow()
            const page = body as { events: Array<{ seq: number; roomId: string }>; hasMore: boolean; lastSeq: number }
            expect(page.events.map((e) => e.seq)).toEqual(rows.slice(0, limit).map((r) => Number(r.seq)))
            expect(page.events.every((e) => e.roomId === roomId)).toBe(true)
            expect(page.hasMore).toBe(rows.length > limit)
            expect(page.lastSeq).toBe(Number(room.last_seq))
          },
        })
      },
    )
  })

  it('GET /api/rooms/discover?before=&limit=&q=', async () => {
    const search = fc.oneof(
      fc.constantFrom('room', 'ROOM', 'Pub', '%', '_', '\\', ' ', '', 'a'.repeat(LIMITS.roomSearchMax)),
      fc.string({ maxLength: 12 }),
    )
    await fuzzRoute(
      10,
      queryOf(['before', 'limit', 'q'], (key) =>
        key === 'limit'
          ? fc.integer({ min: 1, max: LIMITS.roomDiscoverPageMax }).map(String)
          : key === 'q'
            ? search
            : fc.uuid(),
      ),
      100,
      async (pairs) => {
        await queryExchange('/api/rooms/discover', DiscoverQuery, pairs, {
          what: 'discover',
          readable: true,
          response: DiscoverResponse,
          async check(body, values) {
            const limit = (values.limit as number | undefined) ?? LIMITS.roomDiscoverPageDefault
            const page = body as {
              rooms: Array<{ id: string; name: string; visibility: string; role: unknown }>
              hasMore: boolean
            }
            expect(page.rooms.length).toBeLessThanOrEqual(limit)
            for (const room of page.rooms) expect(room).toMatchObject({ visibility: 'public', role: null })
            const q = String(values.q ?? '').trim()
            // ASCII case folding is the same in JavaScript and in every database's lower().
            if (/^[\x20-\x7e]*$/.test(q))
              for (const room of page.rooms) expect(room.name.toLowerCase()).toContain(q.toLowerCase())
            if (values.before === undefined && q === '') {
              const { rows } = await sql<{ n: string }>`
              SELECT count(*) AS n FROM rooms p WHERE p.visibility = 'public'
                AND NOT EXISTS (SELECT 1 FROM room_members m WHERE m.room_id = p.id AND m.user_id = ${alice.user.id})`.execute(
                ctx.app.db,
              )
              const total = Number(rows[0]!.n)
              expect(page.rooms.length).toBe(Math.min(limit, total))
              expect(page.hasMore).toBe(total > limit)
            }
          },
        })
      },
    )
  })

  it('answers query strings that do not decode, or hold odd separators, with 200 or a typed 400', async () => {
    const raw = fc.oneof(
      fc.constantFrom(
        '%',
        '%zz',
        '%ff=1',
        'limit=%ff',
        'limit=%',
        '&&&',
        '=',
        '==',
        'limit',
        'limit=1=2',
        'a&b&c',
        '%00=%00',
        'limit=1;2',
        'limit=1#x',
      ),
      fc
        .array(fc.constantFrom('limit', 'before', 'after', '=', '&', '%', '2', 'f', '%2', '%E2%82', '+', '[', ']'), {
          maxLength: 12,
        })
        .map((parts) => parts.join('')),
    )
    const route = fc.constantFrom('/api/rooms/discover', 'history', 'events')
    await fuzz(fc.tuple(raw, route), 70, async ([query, which]) => {
      const url =
        which === 'history' ? `/api/rooms/${roomR}/messages` : which === 'events' ? `/api/rooms/${roomR}/events` : which
      const response = await inject(ctx.app, { method: 'GET', url: `${url}?${query}`, cookie: alice.cookie })
      expectOutcome(response, [ok(200), refused('validation_failed'), refused('bad_request')], {
        what: `${url}?${query}`,
        echoes: [query],
        schema: which === 'history' ? HistoryResponse : which === 'events' ? EventsResponse : DiscoverResponse,
      })
    })
  })

  // ---- room ids in paths, and methods ----

  const ROOM_ROUTES = [
    { method: 'GET', path: '' },
    { method: 'GET', path: '/members' },
    { method: 'GET', path: '/messages' },
    { method: 'GET', path: '/events' },
    { method: 'POST', path: '/join' },
    { method: 'POST', path: '/read', body: () => ({ seq: 0 }) },
    { method: 'POST', path: '/members', body: () => ({ username: bob.user.username }) },
    { method: 'POST', path: '/messages', body: () => ({ clientId: randomUUID(), body: 'path fuzz' }) },
  ] as const

  function roomRequest(route: (typeof ROOM_ROUTES)[number], segment: string): Request {
    const body = 'body' in route ? route.body() : undefined
    return {
      method: route.method,
      url: `/api/rooms/${segment}${route.path}`,
      cookie: alice.cookie,
      ...(route.method === 'POST' ? { contentType: 'application/json' } : {}),
      ...(body ? { payload: JSON.stringify(body) } : {}),
    }
  }

  it('refuses room ids that are not UUIDs (junk, percent-encoded junk, too long) with a typed 4xx and changes nothing', async () => {
    const segment = fc.oneof(
      nastyString(40).map((text) => encodeURIComponent(wellFormed(text))),
      fc.constantFrom(
        '%ff',
        '%fe%ff',
        '%',
        '%zz',
        '%ED%A0%80',
        '%C0%80',
        '%00',
        '%2F',
        '..',
        '.',
        '%2e%2e',
        '%20',
        'null',
        '0',
        '-1',
        '1e3',
      ),
      fc.integer({ min: 37, max: 900 }).map((n) => 'a'.repeat(n)),
      fc.uuid().map((id) => `${id}x`),
      fc.uuid().map((id) => id.replaceAll('-', '')),
      fc.uuid().map((id) => `{${id}}`),
      fc.uuid().map((id) => `${id}%00`),
      fc.uuid().map((id) => `${id.slice(0, 35)}g`),
    )
    await fuzz(fc.tuple(segment, fc.constantFrom(...ROOM_ROUTES)), 100, async ([seg, route]) => {
      let decoded: string | undefined
      try {
        decoded = decodeURIComponent(seg)
      } catch {}
      // A UUID is a room id (the next property); nothing at all is the room list.
      fc.pre(seg !== '' && (decoded === undefined || !fits(Uuid, decoded)))
      // `/api/rooms/.` is `/api/rooms/` once the URL is normalised (as a browser does too): the room list, not a room id.
      fc.pre(!(seg === '.' && route.path === ''))
      const before = await fingerprint(ctx.app)
      const request = roomRequest(route, seg)
      const response = await inject(ctx.app, request)
      expectOutcome(
        response,
        [refused('validation_failed'), refused('bad_request'), refused('uri_too_long'), refused('not_found')],
        { what: `${request.method} ${request.url.slice(0, 300)}`, echoes: [seg, decoded ?? ''] },
      )
      expectDelta(before, await fingerprint(ctx.app), {}, request.url)
    })
  })

  it('treats a room id in any letter case, or percent-encoded, as the room itself', async () => {
    const variant = fc.oneof(
      fc.nat().map((bits) => ({ bits, encode: false })),
      fc.nat().map((bits) => ({ bits, encode: true })),
    )
    const room = fc.constantFrom('R', 'P', 'bobPublic', 'bobPrivate')
    await fuzz(
      fc.tuple(variant, room, fc.constantFrom(...ROOM_ROUTES)),
      80,
      async ([{ bits, encode }, which, route]) => {
        const roomId = { R: roomR, P: roomP, bobPublic, bobPrivate }[which]
        let segment = recase(roomId, bits)
        if (encode)
          segment = [...segment]
            .map((c, i) => ((bits >> (i % 16)) & 1 ? `%${c.charCodeAt(0).toString(16)}` : c))
            .join('')
        const canonical = await inject(ctx.app, roomRequest(route, roomId))
        const variantResponse = await inject(ctx.app, roomRequest(route, segment))
        const what = `${route.method} /api/rooms/${segment}${route.path} (${which})`
        // Adding a member twice: the second is 200.
        const status = route.path === '/members' && canonical.statusCode === 201 ? 200 : canonical.statusCode
        const expected = status >= 400 ? refused(canonical.json().error.code) : ok(status)
        expect(expected.code, `${route.method} ${route.path} on ${which}: ${canonical.body}`).not.toBe('internal')
        expectOutcome(variantResponse, expected, { what })
        if (route.method === 'GET' || route.path === '/read' || route.path === '/join') {
          expect(variantResponse.json(), what).toEqual(canonical.json())
        }
      },
    )
  })

  it('answers methods and paths that have no route with a typed 404', async () => {
    const path = fc.constantFrom(
      '/api/rooms',
      '/api/rooms/discover',
      '/api/auth/login',
      '/api/auth/me',
      '/api/nope',
      '/api/rooms/x/y/z',
      '/api',
      '/api/',
    )
    await fuzz(
      fc.tuple(fc.constantFrom('PUT', 'PATCH', 'DELETE', 'OPTIONS') as fc.Arbitrary<Request['method']>, path),
      30,
      async ([method, url]) => {
        const before = await fingerprint(ctx.app)
        const response = await inject(ctx.app, {
          method,
          // PATCH /api/rooms/:roomId renames: a path under the room that has no route instead.
          url: url === '/api/rooms' ? `${url}/${roomR}${method === 'PATCH' ? '/nothing' : ''}` : url,
          cookie: alice.cookie,
          contentType: 'application/json',
          payload: '{}',
        })
        // PATCH /api/rooms/discover is the rename route with a room id that is not a UUID.
        const renameRoute = method === 'PATCH' && url === '/api/rooms/discover'
        expectOutcome(response, refused(renameRoute ? 'validation_failed' : 'not_found'), { what: `${method} ${url}` })
        expectDelta(before, await fingerprint(ctx.app), {}, url)
      },
    )
  })
})
