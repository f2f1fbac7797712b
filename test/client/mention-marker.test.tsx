/**
 * The room list's `@` (issue 9 item 2): a room where someone else mentioned the person in a
 * message they have not read shows an @ until they read past it, on any device. The server
 * sends `unreadMentionSeq` on every room row (GET /api/rooms, room_added); live messages raise
 * it on the device (applyEventsToRoom); it shows while it is above the read marker, so reading
 * here or a `read_marker` from another device clears it.
 */
import { cleanup, render, screen, waitFor } from '@testing-library/preact'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { confirmRead, getCachedRoom, markSeenLocally, replaceRooms } from '../../client/db/rooms.ts'
import { applyEventsToRoom } from '../../client/state/reducers.ts'
import { drafts, outbox, rooms, route, user } from '../../client/state/store.ts'
import { mentionedUnread } from '../../client/state/unread.ts'
import { setClock } from '../../client/time/clock.ts'
import { setTimeSettings } from '../../client/time/format.ts'
import { RoomList } from '../../client/ui/RoomList.tsx'
import { ALICE, BOB, event, FIXTURE_TIME, freshDb, ROOM_A, roomFixture } from './support.ts'

const base = roomFixture(ROOM_A, { name: 'Harbour', lastSeq: 2, lastReadSeq: 2, unreadCount: 0 })

describe('the @ marker from live messages', () => {
  it('a message by someone else naming the person raises it; own messages and plain ones do not', () => {
    let room = applyEventsToRoom(base, [event(ROOM_A, 3), event(ROOM_A, 4, { mentions: [BOB] })], ALICE, false)
    expect(mentionedUnread(room)).toBe(false)
    room = applyEventsToRoom(room, [event(ROOM_A, 5, { authorId: ALICE, mentions: [ALICE] })], ALICE, false)
    expect(mentionedUnread(room)).toBe(false)
    room = applyEventsToRoom(room, [event(ROOM_A, 6, { mentions: [BOB, ALICE] })], ALICE, false)
    expect(room).toMatchObject({ unreadMentionSeq: 6, unreadCount: 3 })
    expect(mentionedUnread(room)).toBe(true)
    // More messages after it: still there until read past 6.
    room = applyEventsToRoom(room, [event(ROOM_A, 7)], ALICE, false)
    expect(mentionedUnread({ ...room, lastReadSeq: 5 })).toBe(true)
    expect(mentionedUnread({ ...room, lastReadSeq: 6 })).toBe(false)
  })

  it('not in the room being read: a mention that arrives there is read at once', () => {
    const room = applyEventsToRoom(base, [event(ROOM_A, 3, { mentions: [ALICE] })], ALICE, true)
    expect(mentionedUnread(room)).toBe(false)
  })

  it('never for a room the person is not in', () => {
    expect(mentionedUnread({ ...base, role: null, unreadMentionSeq: 9 })).toBe(false)
  })
})

describe('the @ marker on the device', () => {
  it('comes with the server’s row, and reading here or on another device clears it', async () => {
    const db = await freshDb()
    await replaceRooms(db, [{ ...base, lastSeq: 9, unreadCount: 7, unreadMentionSeq: 6 }])
    expect(mentionedUnread((await getCachedRoom(db, ROOM_A))!)).toBe(true)

    // Read up to 5 here: still there.
    await markSeenLocally(db, ROOM_A, 5)
    expect(mentionedUnread((await getCachedRoom(db, ROOM_A))!)).toBe(true)
    // Another device read to 7 (read_marker): gone, on this device too.
    await confirmRead(db, ROOM_A, 7, { lastReadSeq: 7, unreadCount: 2 })
    expect(mentionedUnread((await getCachedRoom(db, ROOM_A))!)).toBe(false)

    // A room-list refresh after the server read it says none, and none shows.
    await replaceRooms(db, [{ ...base, lastSeq: 9, lastReadSeq: 7, unreadCount: 2, unreadMentionSeq: null }])
    expect(mentionedUnread((await getCachedRoom(db, ROOM_A))!)).toBe(false)
    db.close()
  })

  it('rows from an older server or cache (no field) show none', () => {
    const { unreadMentionSeq: _none, ...old } = { ...base, unreadMentionSeq: undefined }
    expect(mentionedUnread(old)).toBe(false)
  })
})

describe('the @ marker in the room list', () => {
  beforeEach(() => {
    setClock(() => FIXTURE_TIME)
    setTimeSettings({ locale: 'en-GB', timeZone: 'UTC' })
    user.value = { id: ALICE, username: 'alice', createdAt: new Date(FIXTURE_TIME).toISOString() }
    route.value = { name: 'rooms' }
    outbox.value = []
    drafts.value = {}
  })
  afterEach(() => {
    cleanup()
    setClock(undefined)
    setTimeSettings({})
  })

  it('shows an @ after the unread badge, named for screen readers, in the link’s name in the same order; gone once read', async () => {
    rooms.value = [{ ...base, lastSeq: 9, unreadCount: 7, unreadMentionSeq: 6 }]
    render(<RoomList />)
    const link = screen.getByRole('link')
    const marker = link.querySelector('.badge--mention')!
    expect(marker.textContent).toBe('@')
    expect(marker.getAttribute('role')).toBe('img')
    expect(marker.getAttribute('aria-label')).toBe('@ mentioned you')
    expect([...link.querySelectorAll('.badge')].map((b) => b.textContent)).toEqual(['7', '@'])
    expect(link.getAttribute('aria-label')).toBe('Harbour, private. No messages yet. 7 unread. @ mentioned you')

    rooms.value = [{ ...base, lastSeq: 9, lastReadSeq: 6, unreadCount: 3, unreadMentionSeq: 6 }]
    await waitFor(() => expect(link.querySelector('.badge--mention')).toBeNull())
    expect(link.getAttribute('aria-label')).toBe('Harbour, private. No messages yet. 3 unread')
  })
})
