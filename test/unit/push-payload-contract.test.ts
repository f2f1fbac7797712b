/**
 * The two halves of issue 10 against each other: what the server's sender
 * builds (server/push/payload.ts) is what the service worker accepts
 * (client/push/payload.ts), with the entry when it fits and without it when
 * it does not (the worker then fetches it), for any message the server stores.
 */
import { describe, expect, it } from 'vitest'
import { parsePushPayload } from '../../client/push/payload.ts'
import { buildPayload } from '../../server/push/payload.ts'
import { LIMITS } from '../../shared/limits.ts'
import type { RoomEvent } from '../../shared/schemas.ts'

const ROOM = '00000000-0000-4000-8000-00000000000a'
const BOB = '00000000-0000-4000-8000-000000000b0b'

function entry(body: string, over: Partial<RoomEvent> = {}): RoomEvent {
  return {
    roomId: ROOM,
    seq: 42,
    kind: 'message.created',
    authorId: BOB,
    authorName: 'bob',
    clientId: '00000000-0000-4000-8000-000000000042',
    body,
    targetSeq: null,
    reaction: null,
    createdAt: '2026-11-23T12:00:42.000Z',
    mentions: [],
    replyTo: null,
    ...over,
  }
}

describe('the server’s push payload, read by the service worker', () => {
  it('a short message arrives with its entry', () => {
    const event = entry('the ferry leaves at six')
    const read = parsePushPayload(buildPayload({ event, roomName: 'Harbour', unread: 3, mention: false }))
    expect(read).toMatchObject({ roomId: ROOM, seq: 42, preview: 'the ferry leaves at six', unread: 3, event })
  })

  it('the longest message, in any script, arrives without its entry but with its preview', () => {
    for (const char of ['a', 'é', '漢', '🚢']) {
      const body = char.repeat(LIMITS.messageBodyMax)
      const text = buildPayload({
        event: entry(body),
        roomName: '🚢'.repeat(LIMITS.roomNameMax),
        unread: 999_999,
        mention: true,
      })
      const read = parsePushPayload(text)
      expect(read, char).not.toBeNull()
      expect(read?.event).toBeUndefined()
      expect([...read!.preview]).toHaveLength(LIMITS.pushPreviewMax)
    }
  })
})
