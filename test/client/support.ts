import 'fake-indexeddb/auto'
import { openFerryDb } from '../../client/db/open.ts'
import type { FerryDatabase } from '../../client/db/schema.ts'
import type { Message, Room, RoomEvent } from '../../shared/schemas.ts'

export const ROOM_A = '00000000-0000-4000-8000-00000000000a'
export const ROOM_B = '00000000-0000-4000-8000-00000000000b'
export const ALICE = '00000000-0000-4000-8000-0000000a11ce'
export const BOB = '00000000-0000-4000-8000-000000000b0b'

/** The instant every fixture event is dated from; tests that show days pin the clock to it. */
export const FIXTURE_TIME = Date.UTC(2026, 10, 23, 12, 0, 0)

let n = 0
/** A fresh database per test: a unique name on the shared fake IndexedDB. */
export function freshDb(): Promise<FerryDatabase> {
  n += 1
  return openFerryDb({}, `ferry-test-${Date.now()}-${n}`)
}

/** A private room Bob owns and the person has read to its end; override what a test needs. */
export function roomFixture(id: string, over: Partial<Room> = {}): Room {
  return {
    id,
    name: 'Cabin',
    visibility: 'private',
    ownerId: BOB,
    createdAt: new Date(FIXTURE_TIME).toISOString(),
    lastSeq: 2,
    role: 'member',
    memberCount: 2,
    lastMessage: null,
    unreadCount: 0,
    lastReadSeq: 2,
    ...over,
  }
}

export function event(roomId: string, seq: number, over: Partial<RoomEvent> = {}): RoomEvent {
  return {
    roomId,
    seq,
    kind: 'message.created',
    authorId: BOB,
    authorName: 'bob',
    clientId: `00000000-0000-4000-8000-${String(seq).padStart(12, '0')}`,
    body: `message ${seq}`,
    targetSeq: null,
    reaction: null,
    createdAt: new Date(FIXTURE_TIME + seq * 1000).toISOString(),
    ...over,
  }
}

export function message(roomId: string, seq: number, clientId: string, body: string, authorId = ALICE): Message {
  return {
    roomId,
    seq,
    clientId,
    authorId,
    authorName: authorId === ALICE ? 'alice' : 'bob',
    body,
    createdAt: new Date().toISOString(),
  }
}
