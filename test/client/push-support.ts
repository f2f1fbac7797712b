/** Fixtures of the notification tests (issue 10). */
import type { PushPayload } from '../../shared/push/contract.ts'
import { event, ROOM_A } from './support.ts'

/** A push for Bob's message at seq 50 in Cabin, carrying its entry; override what a test needs. */
export function payload(over: Partial<PushPayload> = {}): PushPayload {
  return {
    v: 1,
    roomId: ROOM_A,
    roomName: 'Cabin',
    seq: 50,
    authorName: 'bob',
    preview: 'the ferry leaves at six',
    mention: false,
    unread: 3,
    sentAt: '2026-11-23T12:00:50.000Z',
    event: event(ROOM_A, 50, { body: 'the ferry leaves at six' }),
    ...over,
  }
}
