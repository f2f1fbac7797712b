import fc from 'fast-check'

/**
 * fast-check arbitraries shared by the fuzz tests: valid client frames, and
 * mutations of them that keep the JSON mostly plausible so the fuzzing
 * reaches the validators and handlers, not only the JSON parser.
 */

/** One UTF-16 "character" that breaks naive code: U+0000, lone surrogates, BOM, separators, quotes, any code point. */
const nastyChar = fc.oneof(
  {
    arbitrary: fc.constantFrom(
      '\u0000',
      '\ud800',
      '\udbff',
      '\udc00',
      '\udfff',
      '\ufeff',
      '\u2028',
      '\u202e',
      '"',
      '\\',
    ),
    weight: 1,
  },
  { arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }), weight: 2 },
  { arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }), weight: 3 },
)

export const nastyString = (maxLength: number) => fc.string({ unit: nastyChar, maxLength })

const uuid = fc.uuid()
const seq = fc.oneof(fc.constant(0), fc.nat(), fc.constant(Number.MAX_SAFE_INTEGER))
/** Printable text: what a person types (the schemas' notion of a valid body). */
const text = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 200 })

export const subscribeFrame = fc.record({
  type: fc.constant('subscribe' as const),
  rooms: fc.array(fc.record({ roomId: uuid, after: seq }), { minLength: 1, maxLength: 5 }),
})
export const unsubscribeFrame = fc.record({
  type: fc.constant('unsubscribe' as const),
  roomIds: fc.array(uuid, { minLength: 1, maxLength: 5 }),
})
export const sendFrame = fc.record(
  {
    type: fc.constant('send' as const),
    roomId: uuid,
    clientId: uuid,
    body: text,
    afterClientId: uuid,
    replyTo: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
    replyToClientId: uuid,
  },
  { requiredKeys: ['type', 'roomId', 'clientId', 'body'] },
)
/** Issue 9's frames: a target by seq or clientId (the schema allows both or neither; the server refuses them). */
const messageSeq = fc.oneof(fc.integer({ min: 1, max: 50 }), fc.constant(Number.MAX_SAFE_INTEGER))
const operation = { roomId: uuid, clientId: uuid, afterClientId: uuid, targetSeq: messageSeq, targetClientId: uuid }
const operationKeys = ['type', 'roomId', 'clientId'] as const
export const editFrame = fc.record(
  { type: fc.constant('edit' as const), ...operation, body: text },
  { requiredKeys: [...operationKeys, 'body'] },
)
export const deleteFrame = fc.record(
  { type: fc.constant('delete' as const), ...operation },
  { requiredKeys: [...operationKeys] },
)
export const reactFrame = fc.record(
  {
    type: fc.constant('react' as const),
    ...operation,
    emoji: fc.constantFrom('👍', '❤️', '🎉', '🇫🇷', 'a', '👍👍'),
    action: fc.constantFrom('add' as const, 'remove' as const),
  },
  { requiredKeys: [...operationKeys, 'emoji', 'action'] },
)
export const readFrame = fc.record({ type: fc.constant('read' as const), roomId: uuid, seq })
export const typingFrame = fc.record({ type: fc.constant('typing' as const), roomId: uuid })
export const pingFrame = fc.record({
  type: fc.constant('ping' as const),
  id: fc.oneof(fc.nat(), fc.constant(Number.MAX_SAFE_INTEGER)),
})

/** Every client → server frame type of shared/protocol.ts, valid by its schema. */
export const validClientFrame = fc.oneof(
  subscribeFrame,
  unsubscribeFrame,
  sendFrame,
  typingFrame,
  pingFrame,
  readFrame,
  editFrame,
  deleteFrame,
  reactFrame,
)

/** Numbers that overflow, lose precision or are out of every range (written as JSON text). */
const RAW_NUMBERS = [
  '1e999',
  '-1e999',
  '123456789012345678901234567890',
  '9007199254740993',
  '-0',
  '1e-400',
  '0.0000001',
]

const deeplyNested = fc
  .integer({ min: 20, max: 3_000 })
  .chain((depth) => fc.constantFrom('[', '{"x":').map((open) => ({ depth, open })))

/** Text a lenient parser could take for a number, a boolean or nothing. */
export const NUMBER_LIKE_STRINGS = [
  'NaN',
  'Infinity',
  '-Infinity',
  '1e999',
  '-0',
  '0x10',
  ' 1',
  '1 ',
  '+1',
  '1.0',
  '1.5',
  '1e3',
  '\u0663',
  '9007199254740993',
  'null',
  'undefined',
  'true',
  '',
] as const

export const weirdValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(Number.MAX_SAFE_INTEGER + 1, 2 ** 64, 1e308, -1e308, -1, 0.5, Number.MIN_VALUE, 0),
  fc.constantFrom(...NUMBER_LIKE_STRINGS),
  fc.double(),
  fc.integer(),
  nastyString(40),
  fc.string({ unit: 'grapheme', minLength: 8_001, maxLength: 8_100 }),
  fc.constantFrom(null, true, false, [], {}, ''),
  fc.jsonValue({ maxDepth: 3 }),
  uuid,
  fc.uuid().map((id) => id.toUpperCase()),
  fc.array(uuid, { maxLength: 300 }),
)

const extraKey = fc.oneof(
  fc.constantFrom(
    '__proto__',
    'constructor',
    'prototype',
    'type',
    'admin',
    'roomId',
    'clientId',
    'after',
    'body',
    'username',
    'password',
    'name',
    'visibility',
    'seq',
    'afterClientId',
    'targetSeq',
    'targetClientId',
    'replyTo',
    'replyToClientId',
    'emoji',
    'action',
  ),
  nastyString(12),
)

const frameTypeName = fc.oneof(
  fc.constantFrom(
    'send',
    'subscribe',
    'unsubscribe',
    'typing',
    'ping',
    'read',
    'edit',
    'delete',
    'react',
    'pong',
    'ack',
    'hello',
    'SEND',
    'send ',
    'rename',
    '',
  ),
  nastyString(12),
)

export type Mutation =
  | { kind: 'set'; pick: number; value: unknown }
  | { kind: 'delete'; pick: number }
  | { kind: 'add'; pick: number; key: string; value: unknown }
  | { kind: 'rawNumber'; pick: number; raw: string }
  | { kind: 'nest'; pick: number; depth: number; open: string }
  | { kind: 'retype'; type: unknown }

/** The mutations of any JSON object (every kind but `retype`, which only frames have a use for). */
const valueMutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), pick: fc.nat(), value: weirdValue }),
  fc.record({ kind: fc.constant('delete' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('add' as const), pick: fc.nat(), key: extraKey, value: weirdValue }),
  fc.record({ kind: fc.constant('rawNumber' as const), pick: fc.nat(), raw: fc.constantFrom(...RAW_NUMBERS) }),
  deeplyNested.chain(({ depth, open }) =>
    fc.record({
      kind: fc.constant('nest' as const),
      pick: fc.nat(),
      depth: fc.constant(depth),
      open: fc.constant(open),
    }),
  ),
)

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  valueMutation,
  fc.record({ kind: fc.constant('retype' as const), type: fc.oneof(frameTypeName, weirdValue) }),
)

type Container = Record<string, unknown>

function containersOf(root: unknown): Container[] {
  const found: Container[] = []
  const pending = [root]
  while (pending.length > 0) {
    const value = pending.pop()
    if (typeof value !== 'object' || value === null) continue
    found.push(value as Container)
    pending.push(...Object.values(value))
  }
  return found
}

/**
 * Defines an own property even for `__proto__` (plain assignment would change
 * the prototype instead). The value is copied: generated values may be shared
 * between runs, and a shared one put twice would let a later mutation make a cycle.
 */
function put(target: Container, key: string, value: unknown): void {
  Object.defineProperty(target, key, {
    value: structuredClone(value),
    enumerable: true,
    writable: true,
    configurable: true,
  })
}

/** Applies the mutations to a copy of `frame` and returns the JSON text to send. */
export function mutate(frame: object, mutations: readonly Mutation[]): string {
  const root = JSON.parse(JSON.stringify(frame)) as Container
  const raw = new Map<string, string>()
  for (const change of mutations) {
    if (change.kind === 'retype') {
      put(root, 'type', change.type)
      continue
    }
    const containers = containersOf(root)
    const target = containers[change.pick % containers.length]!
    const keys = Object.keys(target)
    const key = keys.length > 0 ? keys[Math.floor(change.pick / containers.length) % keys.length]! : 'x'
    switch (change.kind) {
      case 'set':
        put(target, key, change.value)
        break
      case 'delete':
        delete target[key]
        break
      case 'add':
        put(target, change.key, change.value)
        break
      case 'rawNumber':
      case 'nest': {
        const marker = `@@raw${raw.size}@@`
        const close = change.kind === 'nest' && change.open === '[' ? ']' : '}'
        raw.set(
          marker,
          change.kind === 'rawNumber'
            ? change.raw
            : `${change.open.repeat(change.depth)}0${close.repeat(change.depth)}`,
        )
        put(target, key, marker)
        break
      }
    }
  }
  let text = JSON.stringify(root)
  for (const [marker, replacement] of raw) text = text.replace(`"${marker}"`, replacement)
  return text
}

/** A valid frame with one to four mutations, as JSON text. */
export const mutateFrame: fc.Arbitrary<string> = fc
  .tuple(validClientFrame, fc.array(mutation, { minLength: 1, maxLength: 4 }))
  .map(([frame, mutations]) => mutate(frame, mutations))

/** One to four mutations of a JSON object (an HTTP body, a frame), to apply with `mutate`. */
export const bodyMutations: fc.Arbitrary<Mutation[]> = fc.array(valueMutation, { minLength: 1, maxLength: 4 })

// ---- HTTP ------------------------------------------------------------------

/** Usernames the sign-up rules accept (LIMITS.usernamePattern). */
export const validUsername = fc.stringMatching(/^[A-Za-z0-9_-]{3,32}$/)

/** Free text of `minLength`–`maxLength` graphemes a person could type (callers filter by the schema's own count). */
export const typedText = (minLength: number, maxLength: number) =>
  fc.oneof(
    fc.string({ unit: 'grapheme', minLength, maxLength }),
    fc.string({ unit: 'grapheme-ascii', minLength, maxLength }),
  )

/**
 * Bodies that are not a JSON object: JSON of another shape, text that is not
 * JSON at all, nothing, and nesting deeper than any parser's stack.
 */
export const rawBody: fc.Arbitrary<string> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.stringify(value)),
  nastyString(60),
  fc.constantFrom('', ' ', '{', '}', '{"a":1}}', "{'a':1}", 'null', '[]', '"x"', '0', 'true', 'NaN', '{"a":undefined}'),
  fc.constantFrom('{"__proto__":{"admin":true}}', '{"constructor":{"prototype":{"admin":true}}}', '[{"__proto__":1}]'),
  fc.integer({ min: 5_000, max: 32_000 }).map((depth) => `${'['.repeat(depth)}${']'.repeat(depth)}`),
  // Deep, with a word that makes a JSON parser scan the whole tree for prototype keys.
  fc
    .integer({ min: 1_000, max: 12_000 })
    .map((depth) => `${'{"a":'.repeat(depth)}{"constructor":{"prototype":{}}}${'}'.repeat(depth)}`),
  fc.integer({ min: 1_000, max: 30_000 }).map((depth) => `${'['.repeat(depth)}"__proto__"${']'.repeat(depth)}`),
  fc.integer({ min: 1_000, max: 12_000 }).map((depth) => `${'{"a":'.repeat(depth)}"constructor"${'}'.repeat(depth)}`),
)

/** Content types a client might send; only `application/json` (any case, any parameters) may write. */
export const contentType: fc.Arbitrary<string | undefined> = fc.oneof(
  { weight: 12, arbitrary: fc.constant('application/json') },
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      'application/json; charset=utf-8',
      'APPLICATION/JSON',
      'application/json;',
      ' application/json ',
      'application/json; charset=latin1',
    ),
  },
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      undefined,
      'text/plain',
      'text/plain; charset=utf-8',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=xyz',
      'application/jsonp',
      'application/vnd.api+json',
      'application/octet-stream',
      'text/json',
      '',
    ),
  },
)

/** Query-string values: numbers in and out of every range, number-like text, UUIDs, junk. */
export const queryValue: fc.Arbitrary<string> = fc.oneof(
  fc.nat({ max: 600 }).map(String),
  fc.integer({ min: -5, max: 5 }).map(String),
  fc.constantFrom(String(Number.MAX_SAFE_INTEGER), String(Number.MAX_SAFE_INTEGER + 1), '99999999999999999999'),
  fc.constantFrom(...NUMBER_LIKE_STRINGS, '5.0', '05', '0x5', '5e0', '1e1', ' 5', 'abc', '1,2', '%'),
  fc.uuid(),
  fc.uuid().map((id) => id.toUpperCase()),
  nastyString(20).map(wellFormed),
  fc.string({ unit: 'grapheme-ascii', minLength: 500, maxLength: 3_000 }),
)

/** The text with every lone surrogate replaced by U+FFFD, as a UTF-8 encoder does (encodeURIComponent throws on one instead). */
export function wellFormed(text: string): string {
  return Buffer.from(text, 'utf8').toString('utf8')
}

/** This run's seed: FUZZ_SEED when set (to reproduce a failure), else random; a failure prints it. */
export const FUZZ_SEED =
  process.env.FUZZ_SEED === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(process.env.FUZZ_SEED)

/** Runs an async property with the run's seed; a failure says how to reproduce it. FUZZ_SHRINK=0 skips shrinking. */
export async function fuzzAsync<T>(
  what: string,
  arbitrary: fc.Arbitrary<T>,
  numRuns: number,
  run: (value: T) => Promise<void>,
  seed = FUZZ_SEED,
): Promise<void> {
  try {
    await fc.assert(fc.asyncProperty(arbitrary, run), {
      seed,
      numRuns,
      endOnFailure: process.env.FUZZ_SHRINK === '0',
    })
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    throw new Error(`${what} failed; reproduce with FUZZ_SEED=${seed}\n${message}`, { cause: error })
  }
}

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype'])

/** Whether a key that could pollute prototypes appears anywhere. Iterative: the fuzz nests deeper than the call stack. */
export function holdsForbiddenKey(root: unknown): boolean {
  const pending = [root]
  while (pending.length > 0) {
    const value = pending.pop()
    if (typeof value !== 'object' || value === null) continue
    for (const [key, child] of Object.entries(value)) {
      if (FORBIDDEN_KEYS.has(key)) return true
      pending.push(child)
    }
  }
  return false
}
