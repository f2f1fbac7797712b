import { Type } from 'typebox'
import { describe, expect, it } from 'vitest'
import { parseClientFrame } from '../../server/realtime/frames.ts'
import { RoomParams, SendMessageBody } from '../../shared/api.ts'
import { uuidCanonicalizer } from '../../shared/canonical-ids.ts'
import { OperationBody } from '../../shared/conversation/requests.ts'
import { RoomEvent } from '../../shared/schemas.ts'

const UPPER = 'A1B2C3D4-E5F6-4A7B-8C9D-0E1F2A3B4C5D'
const lower = UPPER.toLowerCase()

describe('uuidCanonicalizer', () => {
  it('lower-cases uuid fields (optional, nullable, nested in arrays) and nothing else', () => {
    const body = { clientId: UPPER, body: 'Hello WORLD', afterClientId: UPPER }
    uuidCanonicalizer(SendMessageBody)!(body)
    expect(body).toEqual({ clientId: lower, body: 'Hello WORLD', afterClientId: lower })
    const params = { roomId: UPPER }
    uuidCanonicalizer(RoomParams)!(params)
    expect(params.roomId).toBe(lower)
    const event = { roomId: UPPER, clientId: null, authorId: UPPER, body: UPPER }
    uuidCanonicalizer(RoomEvent)!(event)
    expect(event).toMatchObject({ roomId: lower, clientId: null, authorId: lower, body: UPPER })
  })

  it('lower-cases the ids of a union of objects (the HTTP operation body), by the branch the value is', () => {
    // Was: untouched, so `afterClientId` naming the operation itself in another case got past the
    // "not itself" rule and was answered out_of_order (transient: an outbox would resend it forever).
    const edit = { type: 'edit', clientId: UPPER, afterClientId: UPPER, targetClientId: UPPER, body: 'Text ID' }
    uuidCanonicalizer(OperationBody)!(edit)
    expect(edit).toEqual({
      type: 'edit',
      clientId: lower,
      afterClientId: lower,
      targetClientId: lower,
      body: 'Text ID',
    })
    const react = { type: 'react', clientId: UPPER, targetSeq: 1, emoji: '👍', action: 'add' }
    uuidCanonicalizer(OperationBody)!(react)
    expect(react.clientId).toBe(lower)
    // A key that is an id in one branch and text in another is lowered only where it is an id.
    const mixed = Type.Union([
      Type.Object({ kind: Type.Literal('id'), value: Type.String({ format: 'uuid' }) }),
      Type.Object({ kind: Type.Literal('text'), value: Type.String() }),
    ])
    const asText = { kind: 'text', value: UPPER }
    uuidCanonicalizer(mixed)!(asText)
    expect(asText.value).toBe(UPPER)
    const asId = { kind: 'id', value: UPPER }
    uuidCanonicalizer(mixed)!(asId)
    expect(asId.value).toBe(lower)
  })

  it('costs nothing for a schema without ids', () => {
    expect(uuidCanonicalizer(Type.Object({ name: Type.String() }))).toBeNull()
  })
})

describe('frames carry ids in lower case, as stored', () => {
  it.each([
    [
      { type: 'send', roomId: UPPER, clientId: UPPER, body: 'x', afterClientId: UPPER },
      { roomId: lower, clientId: lower, afterClientId: lower },
    ],
    [{ type: 'subscribe', rooms: [{ roomId: UPPER, after: 0 }] }, { rooms: [{ roomId: lower, after: 0 }] }],
    [{ type: 'unsubscribe', roomIds: [UPPER] }, { roomIds: [lower] }],
    [{ type: 'typing', roomId: UPPER }, { roomId: lower }],
  ])('%o', (frame, expected) => {
    const parsed = parseClientFrame(JSON.stringify(frame))
    expect(parsed.ok && parsed.frame).toMatchObject(expected)
  })
})
