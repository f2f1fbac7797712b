/** The unread total in the document title (issue 8 item 6). */
import { afterEach, describe, expect, it } from 'vitest'
import { rooms, route, user } from '../../client/state/store.ts'
import { documentTitle, followDocumentTitle } from '../../client/ui/document-title.ts'
import { ALICE, FIXTURE_TIME, ROOM_A, ROOM_B, roomFixture } from './support.ts'

const room = roomFixture

describe('documentTitle', () => {
  it('is the app name alone when nothing is unread, and when signed out whatever the cache says', () => {
    expect(documentTitle([room(ROOM_A)], { name: 'rooms' }, true)).toBe('Ferry')
    expect(documentTitle([room(ROOM_A, { unreadCount: 4 })], { name: 'rooms' }, false)).toBe('Ferry')
  })

  it('leads with the unread total of the rooms the person belongs to', () => {
    const list = [
      room(ROOM_A, { unreadCount: 3 }),
      room(ROOM_B, { name: 'Depot', unreadCount: 2 }),
      // A public room not joined counts for nothing, whatever it carries.
      room('00000000-0000-4000-8000-0000000000cc', { role: null, visibility: 'public', unreadCount: 7 }),
    ]
    expect(documentTitle(list, { name: 'rooms' }, true)).toBe('(5) Ferry')
    expect(documentTitle(list, { name: 'room', roomId: ROOM_B }, true)).toBe('(5) Depot · Ferry')
  })

  it('names the open room, and an unknown room link only as the app', () => {
    expect(documentTitle([room(ROOM_A)], { name: 'room', roomId: ROOM_A }, true)).toBe('Cabin · Ferry')
    expect(documentTitle([room(ROOM_A)], { name: 'room', roomId: ROOM_B }, true)).toBe('Ferry')
  })
})

describe('followDocumentTitle', () => {
  let stop: (() => void) | undefined
  afterEach(() => {
    stop?.()
    rooms.value = []
    route.value = { name: 'rooms' }
    user.value = undefined
  })

  it('follows the signals: a message arriving elsewhere, then reading it', () => {
    user.value = { id: ALICE, username: 'alice', createdAt: new Date(FIXTURE_TIME).toISOString() }
    rooms.value = [room(ROOM_A)]
    stop = followDocumentTitle()
    expect(document.title).toBe('Ferry')
    rooms.value = [room(ROOM_A, { unreadCount: 1, lastSeq: 10 })]
    expect(document.title).toBe('(1) Ferry')
    route.value = { name: 'room', roomId: ROOM_A }
    rooms.value = [room(ROOM_A, { unreadCount: 0, lastSeq: 10, lastReadSeq: 10 })]
    expect(document.title).toBe('Cabin · Ferry')
    user.value = null
    expect(document.title).toBe('Ferry')
  })
})
