/** What a new user meets first (issue 8, UI side), on happy-dom; the same in Chromium: test/e2e/new-user-ui.e2e.test.ts. */
import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/preact'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { getDb } from '../../client/db/page.ts'
import type { ShownMessage } from '../../client/log/timeline.ts'
import { listOutbox } from '../../client/outbox/store.ts'
import { friendlyRoomProblem, roomNameProblem } from '../../client/state/membership.ts'
import { outbox, roomLoading, rooms, route, status, timeline, user } from '../../client/state/store.ts'
import { setClock } from '../../client/time/clock.ts'
import { setTimeSettings } from '../../client/time/format.ts'
import { AuthScreen } from '../../client/ui/AuthScreen.tsx'
import { Composer } from '../../client/ui/Composer.tsx'
import { charactersLeft } from '../../client/ui/LengthCounter.tsx'
import { MessageList } from '../../client/ui/MessageList.tsx'
import { RoomList } from '../../client/ui/RoomList.tsx'
import { RoomView } from '../../client/ui/RoomView.tsx'
import { StatusLine } from '../../client/ui/StatusLine.tsx'
import { LIMITS } from '../../shared/limits.ts'
import type { Room } from '../../shared/schemas.ts'
import { ALICE, BOB, FIXTURE_TIME, ROOM_A, ROOM_B } from './support.ts'

afterEach(() => {
  cleanup()
  vi.restoreAllMocks()
  setClock(undefined)
  setTimeSettings({})
})

function room(id: string, name: string, over: Partial<Room> = {}): Room {
  return {
    id,
    name,
    visibility: 'public',
    ownerId: ALICE,
    createdAt: new Date(FIXTURE_TIME).toISOString(),
    lastSeq: 0,
    role: 'owner',
    memberCount: 1,
    lastMessage: null,
    unreadCount: 0,
    lastReadSeq: 0,
    ...over,
  }
}

describe('sign-in form (defect 1)', () => {
  it('states the sign-up rules up front, and logging in after a look at sign-up has no sign-up pattern left', () => {
    render(<AuthScreen />)
    fireEvent.click(screen.getByRole('button', { name: 'New here? Create an account' }))
    const name = screen.getByLabelText('Username') as HTMLInputElement
    const rules = document.getElementById(name.getAttribute('aria-describedby') ?? '')
    expect(rules?.textContent).toBe(`${LIMITS.usernameMin}–${LIMITS.usernameMax} characters: letters, numbers, _ and -`)
    expect(name.getAttribute('pattern')).toBe(LIMITS.usernamePattern.slice(1, -1))
    expect(screen.getByText(`At least ${LIMITS.passwordMin} characters.`)).toBeTruthy()
    fireEvent.input(name, { target: { value: 'ann' } })

    fireEvent.click(screen.getByRole('button', { name: 'Have an account? Log in' }))
    const login = screen.getByLabelText('Username') as HTMLInputElement
    expect(login.hasAttribute('pattern')).toBe(false)
    expect(login.hasAttribute('minlength')).toBe(false)
    expect(login.value).toBe('ann')
    expect(screen.queryByText(/characters: letters/)).toBeNull()
  })
})

describe('status line (defect 4)', () => {
  beforeEach(() => {
    outbox.value = []
  })

  it('takes no space when up to date, yet stays a polite live region', () => {
    status.value = { socket: 'open', retryAt: null, catchingUp: 0, offline: false }
    render(<StatusLine />)
    const line = screen.getByRole('status')
    expect(line.textContent).toBe('Up to date')
    expect(line.getAttribute('aria-live')).toBe('polite')
    expect(line.classList.contains('visually-hidden')).toBe(true)
  })

  it('shows itself whole whenever it has something to say', () => {
    status.value = { socket: 'idle', retryAt: null, catchingUp: 0, offline: true }
    render(<StatusLine />)
    const line = screen.getByRole('status')
    expect(line.textContent).toBe('Offline')
    expect(line.classList.contains('visually-hidden')).toBe(false)
  })
})

describe('composer keys and counter (item 5)', () => {
  beforeEach(async () => {
    await (await getDb()).clear('outbox')
  })

  const box = () => screen.getByRole('textbox', { name: 'Message' }) as HTMLTextAreaElement
  const pointer = (coarse: boolean) =>
    vi
      .spyOn(window, 'matchMedia')
      .mockImplementation(
        (query: string) => ({ matches: coarse && query === '(pointer: coarse)', media: query }) as MediaQueryList,
      )

  it('on a touch screen Enter is a new line and Send sends', async () => {
    pointer(true)
    render(<Composer roomId={ROOM_A} disabled={false} />)
    fireEvent.input(box(), { target: { value: 'two\nlines' } })
    const enter = fireEvent.keyDown(box(), { key: 'Enter' })
    expect(enter).toBe(true) // not prevented: the browser inserts the line break
    expect(box().getAttribute('enterkeyhint')).toBe('enter')
    expect(await listOutbox(await getDb())).toEqual([])
    fireEvent.click(screen.getByRole('button', { name: 'Send' }))
    await waitFor(async () => expect((await listOutbox(await getDb())).map((i) => i.body)).toEqual(['two\nlines']))
  })

  it('with a mouse Enter sends and Shift+Enter does not', async () => {
    pointer(false)
    render(<Composer roomId={ROOM_A} disabled={false} />)
    fireEvent.input(box(), { target: { value: 'hello' } })
    expect(fireEvent.keyDown(box(), { key: 'Enter', shiftKey: true })).toBe(true)
    expect(fireEvent.keyDown(box(), { key: 'Enter' })).toBe(false)
    await waitFor(async () => expect((await listOutbox(await getDb())).map((i) => i.body)).toEqual(['hello']))
  })

  it('counts down as the limit nears, in good grammar', () => {
    const max = LIMITS.messageBodyMax
    expect(charactersLeft('a'.repeat(max * 0.5))).toBeNull()
    expect(charactersLeft('a'.repeat(max - 50))).toBe('50 characters left')
    expect(charactersLeft('a'.repeat(max - 1))).toBe('1 character left')
    expect(charactersLeft('a'.repeat(max + 1))).toBeNull() // past it the refusal says how far
    render(<Composer roomId={ROOM_A} disabled={false} />)
    fireEvent.input(box(), { target: { value: 'a'.repeat(max - 50) } })
    expect(document.getElementById(box().getAttribute('aria-describedby') ?? '')?.textContent).toBe(
      '50 characters left',
    )
  })
})

describe('room names (item 5)', () => {
  it('a spaces-only or too long name is refused here with what to do; server schema text is translated', () => {
    expect(roomNameProblem('   ')).toBe('Give the room a name: it cannot be empty or only spaces.')
    expect(roomNameProblem('x'.repeat(LIMITS.roomNameMax + 1))).toContain(`at most ${LIMITS.roomNameMax}`)
    expect(roomNameProblem('  Harbour ')).toBeNull()
    expect(
      friendlyRoomProblem({ code: 'validation_failed', message: 'body.name must not have fewer than 1 characters' }),
    ).toBe(`Room names are ${LIMITS.roomNameMin}–${LIMITS.roomNameMax} characters.`)
    expect(friendlyRoomProblem({ code: 'validation_failed', message: 'body.visibility must be equal to one of' })).toBe(
      'The server could not accept that. Check the form and try again.',
    )
    // Worded by its code, whatever the message: a plain refusal passes through.
    expect(friendlyRoomProblem({ code: 'network', message: 'Failed to fetch' })).toContain('You are offline')
    expect(friendlyRoomProblem({ code: 'rate_limited', message: 'Too many requests, slow down' })).toBe(
      'Too many requests, slow down',
    )
  })

  it('rooms of one name show a short id; links read "name, private. last message"', () => {
    user.value = { id: ALICE, username: 'alice', createdAt: new Date(FIXTURE_TIME).toISOString() }
    route.value = { name: 'rooms' }
    outbox.value = []
    rooms.value = [
      room(ROOM_A, 'Twin'),
      room(ROOM_B, 'twin', { visibility: 'private' }),
      room('00000000-0000-4000-8000-00000000000c', 'Other'),
    ]
    render(<RoomList />)
    const links = screen.getAllByRole('link')
    expect(links.map((a) => a.getAttribute('aria-label'))).toEqual([
      'Twin #0000. No messages yet',
      'twin #0000, private. No messages yet',
      'Other. No messages yet',
    ])
    expect(links[2]?.textContent).not.toContain('#')
    expect(links[1]?.querySelector('.room__preview')?.getAttribute('dir')).toBe('auto')
  })
})

describe('messages for screen readers (item 5)', () => {
  const shown = (seq: number, authorId: string, authorName: string, body: string): ShownMessage => ({
    kind: 'message',
    key: `m${seq}`,
    seq,
    clientId: null,
    authorId,
    authorName,
    body,
    createdAt: new Date(FIXTURE_TIME + seq * 1000).toISOString(),
    edited: false,
    deleted: false,
    reactions: [],
    replyTo: null,
    mentions: [],
  })
  const list = (entries: ShownMessage[], empty = false) => (
    <MessageList
      entries={entries}
      pending={[]}
      meId={ALICE}
      empty={empty}
      hasOlder={false}
      loadingOlder={false}
      onNearTop={() => undefined}
    />
  )

  it('every message carries its author (own ones as "You"), bodies are marked dir=auto, times in the pinned locale', () => {
    setClock(() => FIXTURE_TIME)
    setTimeSettings({ locale: 'en-GB', timeZone: 'UTC' })
    render(list([shown(1, BOB, 'bob', 'first'), shown(2, BOB, 'bob', 'second'), shown(3, ALICE, 'alice', 'مرحبا')]))
    const rows = [...document.querySelectorAll('li[data-seq]')]
    expect(rows.map((r) => r.querySelector('.msg__bubble')?.firstElementChild?.textContent)).toEqual([
      'bob',
      'bob: ',
      'You: ',
    ])
    expect(rows[2]?.querySelector('.msg__body')?.getAttribute('dir')).toBe('auto')
    expect(rows[0]?.querySelector('time')?.textContent).toBe('12:00')
  })

  it('an empty room says so, and offers no older messages', () => {
    render(list([], true))
    expect(screen.getByText('No messages yet')).toBeTruthy()
    expect(screen.queryByRole('button', { name: 'Load older messages' })).toBeNull()
  })
})

/** What openRoom shows for a room with nothing cached: an empty window whose cursor still says "older may exist". */
const emptyWindow = (roomId: string) => ({
  roomId,
  entries: [],
  hasOlder: true,
  loadingOlder: false,
  hasNewer: false,
  following: true,
})

describe('a room with no history (item 5)', () => {
  it('offers no older messages even while something of mine waits to be sent', () => {
    user.value = { id: ALICE, username: 'alice', createdAt: new Date(FIXTURE_TIME).toISOString() }
    rooms.value = [room(ROOM_A, 'Fresh')]
    route.value = { name: 'room', roomId: ROOM_A }
    timeline.value = emptyWindow(ROOM_A)
    outbox.value = []
    const { unmount } = render(<RoomView roomId={ROOM_A} />)
    expect(screen.getByText('No messages yet')).toBeTruthy()
    expect(screen.queryByRole('button', { name: 'Load older messages' })).toBeNull()
    unmount()
    outbox.value = [
      {
        clientId: crypto.randomUUID(),
        roomId: ROOM_A,
        body: 'first words',
        order: 1,
        createdAt: new Date(FIXTURE_TIME).toISOString(),
        state: 'waiting',
        error: null,
        attempts: 0,
      },
    ]
    render(<RoomView roomId={ROOM_A} />)
    expect(screen.getByText('first words')).toBeTruthy()
    expect(screen.queryByText('No messages yet')).toBeNull()
    expect(screen.queryByRole('button', { name: 'Load older messages' })).toBeNull()
  })
})

describe('a room whose first page is on its way (issue 8, defect 2 follow-up)', () => {
  it('says it is loading, offers no "Load older", and shows the messages once they come', () => {
    user.value = { id: ALICE, username: 'alice', createdAt: new Date(FIXTURE_TIME).toISOString() }
    // A room known from the list (lastSeq 5) with nothing cached yet: what a link on a new device shows.
    rooms.value = [{ ...room(ROOM_A, 'Quay'), lastSeq: 5 }]
    route.value = { name: 'room', roomId: ROOM_A }
    outbox.value = []
    timeline.value = emptyWindow(ROOM_A)
    roomLoading.value = ROOM_A
    try {
      const { unmount } = render(<RoomView roomId={ROOM_A} />)
      expect(screen.getByText('Loading messages…').getAttribute('aria-busy')).toBe('true')
      expect(screen.queryByRole('button', { name: 'Load older messages' })).toBeNull()
      expect(screen.queryByText('No messages yet')).toBeNull()
      unmount()
      roomLoading.value = null
      render(<RoomView roomId={ROOM_A} />)
      expect(screen.queryByText('Loading messages…')).toBeNull()
    } finally {
      roomLoading.value = null
    }
  })
})
