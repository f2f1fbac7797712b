import { describe, expect, it } from 'vitest'
import { parseClientFrame } from '../../server/realtime/frames.ts'
import { SendRateLimiter } from '../../server/realtime/rate-limit.ts'

const ROOM = '3b241101-e2bb-4255-8caf-4136c566a962'
const CLIENT = '6f1c2a4e-8d3b-4c5e-9f7a-1b2c3d4e5f60'

describe('parseClientFrame', () => {
  it('accepts each client frame type', () => {
    for (const frame of [
      { type: 'subscribe', rooms: [{ roomId: ROOM, after: 0 }] },
      { type: 'unsubscribe', roomIds: [ROOM] },
      { type: 'send', roomId: ROOM, clientId: CLIENT, body: 'hi' },
      { type: 'typing', roomId: ROOM },
    ]) {
      expect(parseClientFrame(JSON.stringify(frame))).toEqual({ ok: true, frame })
    }
  })

  it.each([
    ['not JSON', '{nope', 'bad_request'],
    ['a JSON array', '[1,2]', 'bad_request'],
    ['a JSON string', '"send"', 'bad_request'],
    ['null', 'null', 'bad_request'],
    ['no type', '{"roomId":"x"}', 'unknown_frame'],
    ['an unknown type', '{"type":"explode"}', 'unknown_frame'],
    ['a type that is not a string', '{"type":7}', 'unknown_frame'],
    ['an extra field', JSON.stringify({ type: 'typing', roomId: ROOM, admin: true }), 'validation_failed'],
    [
      'a wrong field type',
      JSON.stringify({ type: 'send', roomId: ROOM, clientId: CLIENT, body: 5 }),
      'validation_failed',
    ],
    ['a bad uuid', JSON.stringify({ type: 'typing', roomId: 'room-1' }), 'validation_failed'],
    [
      'a negative after',
      JSON.stringify({ type: 'subscribe', rooms: [{ roomId: ROOM, after: -1 }] }),
      'validation_failed',
    ],
    [
      'a fractional after',
      JSON.stringify({ type: 'subscribe', rooms: [{ roomId: ROOM, after: 1.5 }] }),
      'validation_failed',
    ],
    ['an empty subscribe', JSON.stringify({ type: 'subscribe', rooms: [] }), 'validation_failed'],
    ['__proto__ at the top', `{"type":"typing","roomId":"${ROOM}","__proto__":{"admin":true}}`, 'bad_request'],
    ['__proto__ nested', `{"type":"subscribe","rooms":[{"roomId":"${ROOM}","after":0,"__proto__":{}}]}`, 'bad_request'],
    ['constructor', `{"type":"typing","roomId":"${ROOM}","constructor":{"prototype":{}}}`, 'bad_request'],
  ])('refuses %s with %s and pollutes nothing', (_name, text, code) => {
    const parsed = parseClientFrame(text)
    expect(parsed.ok).toBe(false)
    if (!parsed.ok) {
      expect(parsed.error.type).toBe('error')
      expect(parsed.error.code).toBe(code)
      expect(parsed.error.message.length).toBeGreaterThan(0)
    }
    expect(({} as Record<string, unknown>).admin).toBeUndefined()
  })

  it('answers a refused send with its clientId and roomId so the client can mark it failed', () => {
    const parsed = parseClientFrame(JSON.stringify({ type: 'send', roomId: ROOM, clientId: CLIENT, body: ['x'] }))
    expect(parsed).toMatchObject({ ok: false, error: { code: 'validation_failed', clientId: CLIENT, roomId: ROOM } })
  })

  it('accepts message text that merely mentions prototype words', () => {
    const frame = {
      type: 'send',
      roomId: ROOM,
      clientId: CLIENT,
      body: 'the constructor sets __proto__ on a prototype',
    }
    expect(parseClientFrame(JSON.stringify(frame))).toEqual({ ok: true, frame })
  })
})

describe('SendRateLimiter', () => {
  it('allows the burst, then refills at the rate, with a retry hint', () => {
    let now = 0
    const limiter = new SendRateLimiter(10, 30, () => now)
    for (let i = 0; i < 30; i++) expect(limiter.take('u')).toBe(0)
    const wait = limiter.take('u')
    expect(wait).toBeGreaterThan(0)
    expect(wait).toBeLessThanOrEqual(100)
    now += wait
    expect(limiter.take('u')).toBe(0)
    expect(limiter.take('u')).toBeGreaterThan(0)
  })

  it('keeps one bucket per user', () => {
    const limiter = new SendRateLimiter(10, 2, () => 0)
    expect(limiter.take('a')).toBe(0)
    expect(limiter.take('a')).toBe(0)
    expect(limiter.take('a')).toBeGreaterThan(0)
    expect(limiter.take('b')).toBe(0)
  })

  it('never holds more than the burst, and sweeping full buckets changes nothing', () => {
    let now = 0
    const limiter = new SendRateLimiter(10, 3, () => now)
    limiter.take('u')
    now += 60_000
    limiter.sweep()
    for (let i = 0; i < 3; i++) expect(limiter.take('u')).toBe(0)
    expect(limiter.take('u')).toBeGreaterThan(0)
  })
})
