import fc from 'fast-check'
import { Compile } from 'typebox/compile'
import { describe, expect, it } from 'vitest'
import { parseClientFrame } from '../../server/realtime/frames.ts'
import { ERROR_CODES } from '../../shared/errors.ts'
import { ClientFrame, ErrorFrame } from '../../shared/protocol.ts'
import { holdsForbiddenKey, mutateFrame, nastyString, validClientFrame } from '../support/fuzz.ts'

/**
 * Property-based fuzz of the WebSocket frame parser: whatever text arrives,
 * `parseClientFrame` returns (never throws) either a frame the shared schema
 * accepts or a typed error frame, and the verdict matches the shared schema
 * exactly: nothing valid is refused, nothing invalid gets through.
 */

const clientFrameSchema = Compile(ClientFrame)
const errorFrameSchema = Compile(ErrorFrame)
const RUNS = 2_000
const prototypeNames = Object.getOwnPropertyNames(Object.prototype).sort()

function parseNeverThrowing(text: string): ReturnType<typeof parseClientFrame> {
  let parsed: ReturnType<typeof parseClientFrame> | undefined
  expect(() => {
    parsed = parseClientFrame(text)
  }).not.toThrow()
  return parsed!
}

/** A frame the schema accepts, or an error frame with a known code and a message; no prototype touched. */
function expectWellFormedAnswer(text: string): ReturnType<typeof parseClientFrame> {
  const parsed = parseNeverThrowing(text)
  if (parsed.ok) {
    expect(clientFrameSchema.Check(parsed.frame), JSON.stringify(parsed.frame)).toBe(true)
  } else {
    expect(errorFrameSchema.Check(parsed.error), JSON.stringify(parsed.error)).toBe(true)
    expect(ERROR_CODES).toContain(parsed.error.code)
    expect(parsed.error.message.length).toBeGreaterThan(0)
  }
  expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeNames)
  return parsed
}

/** Client frames' ids, as the parser hands them on: lower case, as stored (bodies stay as sent). */
function withLowerCaseIds(frame: unknown): unknown {
  const lower = (id: unknown) => (typeof id === 'string' ? id.toLowerCase() : id)
  const f = structuredClone(frame) as Record<string, any>
  for (const key of ['roomId', 'clientId', 'afterClientId', 'targetClientId', 'replyToClientId'])
    if (key in f) f[key] = lower(f[key])
  if (Array.isArray(f.roomIds)) f.roomIds = f.roomIds.map(lower)
  if (Array.isArray(f.rooms)) for (const room of f.rooms) room.roomId = lower(room.roomId)
  return f
}

/** What the parser must answer for this text, judged by the shared schema alone. */
function expectVerdictOfTheSchema(text: string): void {
  const parsed = expectWellFormedAnswer(text)
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    expect(parsed).toMatchObject({ ok: false, error: { code: 'bad_request' } })
    return
  }
  if (holdsForbiddenKey(value)) {
    expect(parsed).toMatchObject({ ok: false, error: { code: 'bad_request' } })
  } else if (clientFrameSchema.Check(value)) {
    expect(parsed).toEqual({ ok: true, frame: withLowerCaseIds(value) })
  } else {
    expect(parsed.ok, `accepted a frame the schema refuses: ${text.slice(0, 300)}`).toBe(false)
  }
}

describe('parseClientFrame under fuzzing', () => {
  it('accepts every valid client frame as it was sent (ids in lower case)', () => {
    fc.assert(
      fc.property(validClientFrame, (frame) => {
        expect(parseNeverThrowing(JSON.stringify(frame))).toEqual({ ok: true, frame: withLowerCaseIds(frame) })
      }),
      { numRuns: RUNS },
    )
  })

  it('answers mutated frames (wrong types, extra or missing fields, prototype keys, huge numbers, odd unicode, deep nesting) as the schema says', () => {
    fc.assert(
      fc.property(mutateFrame, (text) => expectVerdictOfTheSchema(text)),
      { numRuns: RUNS * 2 },
    )
  })

  it('answers any JSON value with a typed error unless it is a valid frame', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (value) => expectVerdictOfTheSchema(JSON.stringify(value))),
      { numRuns: RUNS },
    )
  })

  it('answers arbitrary text, including U+0000 and lone surrogates, with a typed error', () => {
    fc.assert(
      fc.property(nastyString(200), (text) => expectVerdictOfTheSchema(text)),
      { numRuns: RUNS },
    )
  })

  it('survives nesting far deeper than any frame, with and without a prototype word in the text', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1_000, max: 200_000 }),
        fc.constantFrom('[', '{"a":'),
        fc.boolean(),
        (depth, open, withProtoWord) => {
          const close = open === '[' ? ']' : '}'
          const inner = withProtoWord ? '"constructor"' : '0'
          const text = `{"type":"send","body":${open.repeat(depth)}${inner}${close.repeat(depth)}}`
          const parsed = expectWellFormedAnswer(text)
          expect(parsed.ok).toBe(false)
        },
      ),
      { numRuns: 40 },
    )
  })
})
