/**
 * The push payload is input from outside (issue 10): anything that is not a
 * version-1 PushPayload, or whose entry is not the message it announces, is
 * ignored by the service worker and changes nothing.
 */
import { describe, expect, it } from 'vitest'
import { atSeqOf, messageLink, notificationTargetOf, openMessageRequestOf } from '../../client/push/links.ts'
import { parsePushPayload } from '../../client/push/payload.ts'
import { payload } from './push-support.ts'
import { event, ROOM_A, ROOM_B } from './support.ts'

describe('push payload validation', () => {
  it('reads a version-1 payload, with or without its entry', () => {
    expect(parsePushPayload(JSON.stringify(payload()))).toEqual(payload())
    const { event: _e, ...bare } = payload()
    expect(parsePushPayload(JSON.stringify(bare))).toEqual(bare)
  })

  const bad: Array<[string, string | null]> = [
    ['no data', null],
    ['empty', ''],
    ['not JSON', '{"v":1,'],
    ['JSON but not an object', '"hello"'],
    ['another version', JSON.stringify(payload({ v: 2 as 1 }))],
    ['a room id that is not one', JSON.stringify(payload({ roomId: '../etc' }))],
    ['a negative seq', JSON.stringify(payload({ seq: -1 }))],
    ['seq 0 (no message has it)', JSON.stringify(payload({ seq: 0, event: event(ROOM_A, 0) }))],
    ['a fractional unread count', JSON.stringify(payload({ unread: 1.5 }))],
    ['mention as text', JSON.stringify({ ...payload(), mention: 'yes' })],
    ['an unknown field', JSON.stringify({ ...payload(), html: '<b>x</b>' })],
    ['a preview past the limit', JSON.stringify(payload({ preview: 'x'.repeat(281) }))],
    ['an entry of another room', JSON.stringify(payload({ event: event(ROOM_B, 50) }))],
    ['an entry at another seq', JSON.stringify(payload({ event: event(ROOM_A, 49) }))],
    [
      'an entry that is not a message',
      JSON.stringify(payload({ event: event(ROOM_A, 50, { kind: 'message.edited', targetSeq: 3 }) })),
    ],
    ['an entry missing fields', JSON.stringify({ ...payload(), event: { roomId: ROOM_A, seq: 50 } })],
    ['larger than a payload can be', JSON.stringify(payload({ preview: 'x'.repeat(3100) }))],
  ]
  it.each(bad)('ignores %s', (_name, text) => {
    expect(parsePushPayload(text)).toBeNull()
  })
})

describe('notification links', () => {
  it('names the room and the message, and reads them back', () => {
    expect(messageLink(ROOM_A.toUpperCase(), 50)).toBe(`/rooms/${ROOM_A}?at=50`)
    expect(atSeqOf('?at=50')).toBe(50)
    for (const search of ['', '?at=', '?at=0', '?at=-3', '?at=1e3', '?at=12abc', `?at=${'9'.repeat(20)}`])
      expect(atSeqOf(search)).toBeNull()
  })

  it('checks what a notification and a worker message carry', () => {
    expect(notificationTargetOf({ roomId: ROOM_A, seq: 4 })).toEqual({ roomId: ROOM_A, seq: 4 })
    for (const data of [
      null,
      'x',
      { roomId: 'nope', seq: 4 },
      { roomId: ROOM_A, seq: 0 },
      { roomId: ROOM_A, seq: '4' },
    ])
      expect(notificationTargetOf(data)).toBeNull()
    expect(openMessageRequestOf({ type: 'open-message', roomId: ROOM_A, seq: 4 })).toEqual({
      type: 'open-message',
      roomId: ROOM_A,
      seq: 4,
    })
    expect(openMessageRequestOf({ type: 'SKIP_WAITING', roomId: ROOM_A, seq: 4 })).toBeNull()
  })
})
