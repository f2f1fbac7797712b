/**
 * Member notices and renames (issue 9) in the room list: they take seqs in the
 * room's log but are not messages, so they never count as unread, never become
 * the preview and never open a room at an "N new messages" divider.
 */
import { describe, expect, it } from 'vitest'
import { applyEventsToRoom } from '../../client/state/reducers.ts'
import { dividerAtOpen } from '../../client/state/unread.ts'
import type { Room } from '../../shared/schemas.ts'
import { ALICE, BOB, event, ROOM_A } from './support.ts'

const notice = { clientId: null, body: null, authorId: BOB, subjectId: BOB, subjectName: 'bob' }

describe('notices in the room list', () => {
  const lastMessage = { ...event(ROOM_A, 2), clientId: event(ROOM_A, 2).clientId! } as Room['lastMessage']
  const room: Room = {
    id: ROOM_A,
    name: 'general',
    visibility: 'public',
    ownerId: ALICE,
    createdAt: new Date(0).toISOString(),
    lastSeq: 2,
    role: 'member',
    memberCount: 2,
    lastMessage,
    unreadCount: 0,
    lastReadSeq: 2,
  }

  it('member.joined / left / removed and room.renamed by others advance lastSeq only', () => {
    const next = applyEventsToRoom(
      room,
      [
        event(ROOM_A, 3, { ...notice, kind: 'member.joined' }),
        event(ROOM_A, 4, { ...notice, kind: 'member.left' }),
        event(ROOM_A, 5, { ...notice, kind: 'member.removed', authorId: BOB, subjectId: ALICE }),
        event(ROOM_A, 6, { clientId: null, kind: 'room.renamed', body: 'Harbour', topic: null }),
      ],
      ALICE,
      false,
    )
    expect(next).toEqual({ ...room, lastSeq: 6 })
    expect(dividerAtOpen(next)).toBeNull()
  })

  it('a message after notices is one unread and the preview', () => {
    const next = applyEventsToRoom(
      room,
      [event(ROOM_A, 3, { ...notice, kind: 'member.joined' }), event(ROOM_A, 4, { authorId: BOB })],
      ALICE,
      false,
    )
    expect(next).toMatchObject({ lastSeq: 4, unreadCount: 1, lastMessage: { seq: 4 } })
  })
})
