/** Issue 8, item 9 (layout) on happy-dom: the header's counts, folding long messages, the members sheet, empty states. Chromium: test/e2e/layout.e2e.test.ts. */
import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/preact'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { members, outbox, presence, rooms, route, status, timeline, user } from '../../client/state/store.ts'
import type { ConnStatus } from '../../client/tabs/messages.ts'
import { NoRoomOpen } from '../../client/ui/EmptyStates.tsx'
import { CHARS_PER_LINE, estimatedLines, isLongMessage } from '../../client/ui/long-message.ts'
import { MessageText } from '../../client/ui/MessageText.tsx'
import { RoomView } from '../../client/ui/RoomView.tsx'
import { onlineCount, subtitleParts } from '../../client/ui/room-subtitle.ts'
import { ALICE, BOB, FIXTURE_TIME, ROOM_A, roomFixture } from './support.ts'

const UP: ConnStatus = { socket: 'open', retryAt: null, catchingUp: 0, offline: false }
const alice = { userId: ALICE, username: 'alice' }
const bob = { userId: BOB, username: 'bob' }

afterEach(() => {
  cleanup()
  presence.value = {}
  members.value = {}
  status.value = { socket: 'idle', retryAt: null, catchingUp: 0, offline: false }
})

describe('when a message is folded', () => {
  it('counts line breaks, and a line longer than fits as several', () => {
    expect(estimatedLines('one')).toBe(1)
    expect(estimatedLines('one\ntwo\n\nfour')).toBe(4)
    expect(estimatedLines('x'.repeat(CHARS_PER_LINE))).toBe(1)
    expect(estimatedLines('x'.repeat(CHARS_PER_LINE + 1))).toBe(2)
    // Code points: 64 emoji fill one line, not two.
    expect(estimatedLines('😀'.repeat(CHARS_PER_LINE))).toBe(1)
  })

  it('folds over 30 lines, or about 2,000 characters without a break; not at 30', () => {
    const lines = (n: number) => Array.from({ length: n }, (_, i) => `line ${i + 1}`).join('\n')
    expect(isLongMessage(lines(30))).toBe(false)
    expect(isLongMessage(lines(31))).toBe(true)
    expect(isLongMessage(lines(60))).toBe(true)
    expect(isLongMessage('a'.repeat(1900))).toBe(false)
    expect(isLongMessage('a'.repeat(2000))).toBe(true)
    expect(isLongMessage('short and sweet')).toBe(false)
  })

  it('a long message shows Show more (aria-expanded false), unfolds in place, and Show less folds it again', () => {
    const body = Array.from({ length: 60 }, (_, i) => `line ${i + 1}`).join('\n')
    render(
      <p class="msg__body">
        <MessageText text={body} />
      </p>,
    )
    const more = screen.getByRole('button', { name: 'Show more' })
    expect(more.getAttribute('aria-expanded')).toBe('false')
    const text = document.getElementById(more.getAttribute('aria-controls') ?? '')
    expect(text?.classList.contains('msg__text--folded')).toBe(true)
    // Folding hides, never drops: the whole text is in the page for search and screen readers.
    expect(text?.textContent).toBe(body)
    fireEvent.click(more)
    expect(more.textContent).toBe('Show less')
    expect(more.getAttribute('aria-expanded')).toBe('true')
    expect(text?.classList.contains('msg__text--folded')).toBe(false)
    fireEvent.click(more)
    expect(more.textContent).toBe('Show more')
    expect(text?.classList.contains('msg__text--folded')).toBe(true)
  })

  it('a short message has no button', () => {
    render(<MessageText text={'hello\nthere'} />)
    expect(screen.queryByRole('button')).toBeNull()
  })
})

describe('the room header subtitle', () => {
  it('says kind, members and, when known, how many distinct people are here', () => {
    const room = roomFixture(ROOM_A, { visibility: 'public', memberCount: 12 })
    expect(subtitleParts(room, 3).join(' · ')).toBe('Public · 12 members · 3 online')
    expect(subtitleParts({ visibility: 'private', memberCount: 1 }, 1).join(' · ')).toBe(
      'Private · 1 member · 1 online',
    )
    expect(subtitleParts(room, null).join(' · ')).toBe('Public · 12 members')
  })

  it('online is unknown (null), never 0, offline, while reconnecting, or before the snapshot', () => {
    expect(onlineCount([alice, bob], UP)).toBe(2)
    // The same person twice (two devices reported apart) counts once.
    expect(onlineCount([alice, bob, alice], UP)).toBe(2)
    expect(onlineCount([alice, bob], { ...UP, offline: true })).toBeNull()
    expect(onlineCount([alice, bob], { ...UP, socket: 'waiting' })).toBeNull()
    expect(onlineCount([alice], { ...UP, socket: 'connecting' })).toBeNull()
    expect(onlineCount(undefined, UP)).toBeNull()
    expect(onlineCount([], UP)).toBeNull()
  })
})

describe('the room screen', () => {
  beforeEach(() => {
    user.value = { id: ALICE, username: 'alice', createdAt: new Date(FIXTURE_TIME).toISOString() }
    rooms.value = [roomFixture(ROOM_A, { visibility: 'public', memberCount: 12, lastSeq: 0, role: 'owner' })]
    route.value = { name: 'room', roomId: ROOM_A }
    outbox.value = []
    timeline.value = {
      roomId: ROOM_A,
      entries: [],
      hasOlder: false,
      loadingOlder: false,
      hasNewer: false,
      following: true,
    }
    members.value = {
      [ROOM_A]: [
        { userId: ALICE, username: 'alice', role: 'owner', joinedAt: new Date(FIXTURE_TIME).toISOString() },
        { userId: BOB, username: 'bob', role: 'member', joinedAt: new Date(FIXTURE_TIME).toISOString() },
      ],
    }
  })

  it('the subtitle follows presence live, and drops the online count when the socket goes', async () => {
    status.value = UP
    presence.value = { [ROOM_A]: [alice] }
    render(<RoomView roomId={ROOM_A} />)
    const subtitle = () => document.querySelector('.room-view__subtitle')?.textContent
    expect(subtitle()).toBe('Public · 12 members · 1 online')
    presence.value = { [ROOM_A]: [alice, bob] }
    await waitFor(() => expect(subtitle()).toBe('Public · 12 members · 2 online'))
    status.value = { ...UP, socket: 'waiting' }
    await waitFor(() => expect(subtitle()).toBe('Public · 12 members'))
  })

  it('Members opens a labelled modal sheet; Close shuts it and focus returns to the Members button', () => {
    status.value = UP
    presence.value = { [ROOM_A]: [alice, bob] }
    render(<RoomView roomId={ROOM_A} />)
    const button = screen.getByRole('button', { name: 'Members' })
    expect(button.getAttribute('aria-expanded')).toBe('false')
    fireEvent.click(button)
    const sheet = screen.getByRole('dialog', { name: 'Members' })
    expect(sheet.tagName).toBe('DIALOG')
    expect((sheet as HTMLDialogElement).open).toBe(true)
    expect(sheet.getAttribute('aria-modal')).toBe('true')
    expect(button.getAttribute('aria-expanded')).toBe('true')
    // The loaded list's count (the room row's 12 is older than the list).
    expect(sheet.textContent).toContain('2 members · 2 online')
    expect([...sheet.querySelectorAll('li .member__who')].map((li) => li.textContent)).toEqual([
      'alice (you)owner',
      'bob',
    ])
    fireEvent.click(screen.getByRole('button', { name: 'Close' }))
    expect(screen.queryByRole('dialog')).toBeNull()
    expect(document.activeElement).toBe(button)
    expect(button.getAttribute('aria-expanded')).toBe('false')
  })

  it('an empty room says so and offers to write the first message, which focuses the message box', () => {
    render(<RoomView roomId={ROOM_A} />)
    expect(screen.getByText('No messages yet')).toBeTruthy()
    fireEvent.click(screen.getByRole('button', { name: 'Write the first message' }))
    expect(document.activeElement?.id).toBe('composer-input')
  })

  it('an empty room someone has not joined says to join first, with no write button', () => {
    rooms.value = [roomFixture(ROOM_A, { visibility: 'public', lastSeq: 0, role: null })]
    render(<RoomView roomId={ROOM_A} />)
    expect(screen.getByText('Join the room to write the first message.')).toBeTruthy()
    expect(screen.queryByRole('button', { name: 'Write the first message' })).toBeNull()
    expect(screen.getByRole('button', { name: 'Join this room' })).toBeTruthy()
  })
})

describe('no room open (desktop main area)', () => {
  it('says what to do, with rooms and without', () => {
    route.value = { name: 'rooms' }
    const { unmount } = render(<NoRoomOpen hasRooms={true} />)
    expect(screen.getByRole('heading', { name: 'No room open' })).toBeTruthy()
    expect(screen.getByText(/Choose a room from the list/)).toBeTruthy()
    expect(screen.queryByRole('button')).toBeNull()
    unmount()
    render(<NoRoomOpen hasRooms={false} />)
    expect(screen.getByRole('heading', { name: 'Start a conversation' })).toBeTruthy()
    expect(screen.getByText(/You are in no rooms yet/)).toBeTruthy()
    fireEvent.click(screen.getByRole('button', { name: 'Find public rooms' }))
    expect(route.value).toEqual({ name: 'discover' })
  })
})
