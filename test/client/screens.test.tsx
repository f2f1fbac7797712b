import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/preact'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { getDb } from '../../client/db/page.ts'
import { listOutbox } from '../../client/outbox/store.ts'
import { outbox, rooms, route, timeline, user } from '../../client/state/store.ts'
import { setClock } from '../../client/time/clock.ts'
import { AuthScreen } from '../../client/ui/AuthScreen.tsx'
import { RoomView } from '../../client/ui/RoomView.tsx'
import { StatusLine } from '../../client/ui/StatusLine.tsx'
import { ALICE, event, FIXTURE_TIME, ROOM_A } from './support.ts'

afterEach(cleanup)

describe('accessible names', () => {
  it('the sign-in form has labelled Username and Password fields', () => {
    render(<AuthScreen />)
    expect(screen.getByLabelText('Username')).toBeTruthy()
    expect(screen.getByLabelText('Password').getAttribute('type')).toBe('password')
    expect(screen.getByRole('button', { name: 'Log in' })).toBeTruthy()
  })
})

describe('room view', () => {
  afterEach(() => setClock(undefined))
  beforeEach(() => {
    setClock(() => FIXTURE_TIME)
    user.value = { id: ALICE, username: 'alice', createdAt: new Date().toISOString() }
    rooms.value = [
      {
        id: ROOM_A,
        name: 'general',
        visibility: 'public',
        ownerId: ALICE,
        createdAt: new Date().toISOString(),
        lastSeq: 2,
        role: 'owner',
        memberCount: 1,
        lastMessage: null,
        unreadCount: 0,
        lastReadSeq: 2,
      },
    ]
    route.value = { name: 'room', roomId: ROOM_A }
    timeline.value = {
      roomId: ROOM_A,
      entries: [event(ROOM_A, 1, { body: 'hello from bob' }), event(ROOM_A, 2, { body: 'and again' })],
      hasOlder: false,
      loadingOlder: false,
      hasNewer: false,
      following: true,
    }
    outbox.value = []
  })

  it('shows the log, and Enter in the Message box writes to the outbox and echoes it as waiting', async () => {
    render(<RoomView roomId={ROOM_A} />)
    const log = screen.getByRole('log')
    expect(log.textContent).toContain('hello from bob')
    expect(log.textContent).toContain('Today')
    const box = screen.getByRole('textbox', { name: 'Message' })
    expect(screen.getByRole('button', { name: 'Send' })).toBeTruthy()
    fireEvent.input(box, { target: { value: '  queued while offline  ' } })
    fireEvent.keyDown(box, { key: 'Enter' })
    const db = await getDb()
    await waitFor(async () => expect((await listOutbox(db)).map((i) => i.body)).toEqual(['queued while offline']))
    await waitFor(() => expect(screen.getByRole('button', { name: 'Waiting, not sent yet' })).toBeTruthy())
    expect((box as HTMLTextAreaElement).value).toBe('')
  })

  it('the status line counts waiting messages', () => {
    outbox.value = [
      {
        clientId: crypto.randomUUID(),
        roomId: ROOM_A,
        body: 'x',
        order: 1,
        createdAt: '',
        state: 'waiting',
        error: null,
        attempts: 0,
      },
    ]
    render(<StatusLine />)
    expect(screen.getByRole('status').textContent).toBe('Connecting… · 1 waiting to send')
  })
})

describe('day separators', () => {
  afterEach(() => setClock(undefined))

  it('label a day by the injected clock, not the day the test runs', () => {
    user.value = { id: ALICE, username: 'alice', createdAt: new Date(FIXTURE_TIME).toISOString() }
    route.value = { name: 'room', roomId: ROOM_A }
    outbox.value = []
    timeline.value = {
      roomId: ROOM_A,
      entries: [event(ROOM_A, 1, { body: 'from yesterday' })],
      hasOlder: false,
      loadingOlder: false,
      hasNewer: false,
      following: true,
    }
    setClock(() => FIXTURE_TIME + 86_400_000)
    render(<RoomView roomId={ROOM_A} />)
    expect(screen.getByRole('log').textContent).toContain('Yesterday')
  })
})
