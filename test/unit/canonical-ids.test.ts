import { Type } from 'typebox'
import { describe, expect, it } from 'vitest'
import { parseClientFrame } from '../../server/realtime/frames.ts'
import { RoomParams, SendMessageBody } from '../../shared/api.ts'
import { uuidCanonicalizer } from '../../shared/canonical-ids.ts'
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
