/**
 * The Members screen and leaving (issue 9 items 4 and 5) on happy-dom, against a fake server and
 * fake-indexeddb: who sees which control, confirmations, the refusals worded for people, role
 * changes shown without a reload, and offline refused at once with nothing changed.
 * Chromium: test/e2e/members.e2e.test.ts.
 */
import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/preact'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { getDb } from '../../client/db/page.ts'
import { dropMembership, listCachedRooms, putRoom } from '../../client/db/rooms.ts'
import { startFeed } from '../../client/state/feed.ts'
import { memberActions, startMemberRefresh } from '../../client/state/members.ts'
import { OWNER_MUST_TRANSFER } from '../../client/state/membership.ts'
import { members, notice, outbox, presence, rooms, route, status, timeline, user } from '../../client/state/store.ts'
import { publish } from '../../client/tabs/bus.ts'
import { RoomView } from '../../client/ui/RoomView.tsx'
import type { Member, Role, Room } from '../../shared/schemas.ts'
import { ALICE, BOB, event, FIXTURE_TIME, ROOM_A, ROOM_B, roomFixture } from './support.ts'

const CAROL = '00000000-0000-4000-8000-0000000ca201'
const at = new Date(FIXTURE_TIME).toISOString()
const member = (userId: string, username: string, role: Role): Member => ({ userId, username, role, joinedAt: at })

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } })
const refuse = (status: number, code: string, message: string) => json({ error: { code, message } }, status)

interface Call {
  method: string
  url: string
  body: unknown
}

/** A fake server: each handler answers one "METHOD path"; anything else is a 404 the test would see. */
function server(routes: Record<string, (body: unknown) => Response>): Call[] {
  const calls: Call[] = []
  vi.stubGlobal('fetch', async (url: string, init: RequestInit) => {
    const body = typeof init.body === 'string' ? JSON.parse(init.body) : null
    calls.push({ method: init.method ?? 'GET', url, body })
    const handler = routes[`${init.method ?? 'GET'} ${url}`]
    return handler ? handler(body) : refuse(404, 'not_found', `no fake for ${init.method} ${url}`)
  })
  return calls
}

/** No network at all: fetch rejects, as a browser's does offline. */
function offline(): Call[] {
  const calls: Call[] = []
  vi.stubGlobal('fetch', async (url: string, init: RequestInit) => {
    calls.push({ method: init.method ?? 'GET', url, body: null })
    throw new TypeError('Failed to fetch')
  })
  return calls
}

const writes = (calls: Call[]) => calls.filter((c) => c.method !== 'GET')

let me: { id: string; username: string } = { id: ALICE, username: 'alice' }
let stopFeed: () => void = () => undefined
let stopRefresh: () => void = () => undefined

/** The room open on screen with the viewer in `role`, and its members as the server last said. */
async function openAs(role: Role, list: Member[], over: Partial<Room> = {}): Promise<Room> {
  const room = roomFixture(ROOM_A, { role, ownerId: list.find((m) => m.role === 'owner')?.userId ?? BOB, ...over })
  const db = await getDb()
  await putRoom(db, room)
  rooms.value = [room]
  // A copy: the tests change their server's list, never the one on screen behind its back.
  members.value = { [ROOM_A]: [...list] }
  route.value = { name: 'room', roomId: ROOM_A }
  return room
}

const membersRoute = (list: () => Member[]) => ({
  [`GET /api/rooms/${ROOM_A}/members`]: () => json({ members: list() }),
})

function openSheet(): HTMLElement {
  render(<RoomView roomId={ROOM_A} />)
  fireEvent.click(screen.getByRole('button', { name: 'Members' }))
  return screen.getByRole('dialog', { name: 'Members' })
}

const buttonNames = (within: HTMLElement) =>
  [...within.querySelectorAll('.members button')].map((b) => b.getAttribute('aria-label') ?? b.textContent)

beforeEach(async () => {
  const db = await getDb()
  for (const store of ['rooms', 'messages', 'cursors', 'drafts'] as const) await db.clear(store)
  me = { id: ALICE, username: 'alice' }
  user.value = { id: me.id, username: me.username, createdAt: at }
  outbox.value = []
  timeline.value = {
    roomId: ROOM_A,
    entries: [],
    hasOlder: false,
    loadingOlder: false,
    hasNewer: false,
    following: true,
  }
  status.value = { socket: 'open', retryAt: null, catchingUp: 0, offline: false }
  stopFeed = startFeed(db)
  stopRefresh = startMemberRefresh()
})

afterEach(() => {
  cleanup()
  stopFeed()
  stopRefresh()
  vi.unstubAllGlobals()
  members.value = {}
  presence.value = {}
  rooms.value = []
})

describe('who may do what (the server’s rights as buttons)', () => {
  const owner = member(ALICE, 'alice', 'owner')
  const admin = member(BOB, 'bob', 'admin')
  const plain = member(CAROL, 'carol', 'member')

  it('the owner sets roles, hands over and removes; an admin removes plain members; nobody acts on themself or the owner', () => {
    expect(memberActions('owner', plain, ALICE)).toEqual(['make-admin', 'make-owner', 'remove'])
    expect(memberActions('owner', admin, ALICE)).toEqual(['make-member', 'make-owner', 'remove'])
    expect(memberActions('owner', owner, ALICE)).toEqual([])
    expect(memberActions('admin', plain, BOB)).toEqual(['remove'])
    expect(memberActions('admin', admin, CAROL)).toEqual([])
    expect(memberActions('admin', owner, BOB)).toEqual([])
    expect(memberActions('admin', admin, BOB)).toEqual([])
    expect(memberActions('member', plain, BOB)).toEqual([])
    expect(memberActions(null, plain, BOB)).toEqual([])
  })

  it('on screen: the owner’s buttons each name their member; a plain member gets none, nor an invite form', async () => {
    const list = [owner, admin, plain]
    server(membersRoute(() => list))
    await openAs('owner', list)
    const sheet = openSheet()
    expect(buttonNames(sheet)).toEqual([
      'Make member: bob',
      'Make owner: bob',
      'Remove bob',
      'Make admin: carol',
      'Make owner: carol',
      'Remove carol',
    ])
    expect(screen.getByRole('textbox', { name: 'Invite by username' })).toBeTruthy()
    expect(screen.getByRole('button', { name: 'Edit name and topic' })).toBeTruthy()
    cleanup()

    me = { id: CAROL, username: 'carol' }
    user.value = { id: CAROL, username: 'carol', createdAt: at }
    await openAs('member', list)
    const theirs = openSheet()
    expect(buttonNames(theirs)).toEqual([])
    expect(screen.queryByRole('textbox', { name: 'Invite by username' })).toBeNull()
    expect(screen.queryByRole('button', { name: 'Edit name and topic' })).toBeNull()
    // Roles are shown to everyone, owner and admins first.
    expect([...theirs.querySelectorAll('.member__who')].map((li) => li.textContent)).toEqual([
      'aliceowner',
      'bobadmin',
      'carol (you)',
    ])
  })
})

describe('live role changes', () => {
  it('a member promoted on another screen sees Remove appear without a reload (the room row is the viewer’s role)', async () => {
    me = { id: BOB, username: 'bob' }
    user.value = { id: BOB, username: 'bob', createdAt: at }
    const list = [member(ALICE, 'alice', 'owner'), member(BOB, 'bob', 'member'), member(CAROL, 'carol', 'member')]
    server(membersRoute(() => list))
    const room = await openAs('member', list)
    const sheet = openSheet()
    expect(buttonNames(sheet)).toEqual([])
    // room_added with role admin, as the engine stores it: the row changes, the tabs are told.
    list[1] = member(BOB, 'bob', 'admin')
    await putRoom(await getDb(), { ...room, role: 'admin' })
    publish({ type: 'rooms-changed' })
    publish({ type: 'room-changed', roomId: ROOM_A })
    await waitFor(() => expect(buttonNames(sheet)).toEqual(['Remove carol']))
    // The list reloaded too: bob is shown as an admin.
    await waitFor(() => expect(sheet.textContent).toContain('bob (you)admin'))
  })

  it('another member’s open list follows a role change (room-changed) and member notices in the log; a closed room’s list is dropped', async () => {
    const list = [member(BOB, 'bob', 'owner'), member(ALICE, 'alice', 'member'), member(CAROL, 'carol', 'member')]
    const calls = server(membersRoute(() => list))
    await openAs('member', list)
    const sheet = openSheet()
    list[2] = member(CAROL, 'carol', 'admin')
    publish({ type: 'room-changed', roomId: ROOM_A })
    await waitFor(() => expect(sheet.textContent).toContain('caroladmin'))
    const asked = calls.length
    list.pop()
    publish({ type: 'events', roomId: ROOM_A, events: [event(ROOM_A, 3, { kind: 'member.removed', body: null })] })
    await waitFor(() => expect(sheet.querySelectorAll('li')).toHaveLength(2))
    expect(calls.length).toBe(asked + 1)
    // A message is no reason to ask again.
    publish({ type: 'events', roomId: ROOM_A, events: [event(ROOM_A, 4)] })
    // Another room's list (not open) is forgotten, to be loaded when it opens.
    members.value = { ...members.value, [ROOM_B]: list }
    publish({ type: 'room-changed', roomId: ROOM_B })
    expect(Object.keys(members.value)).toEqual([ROOM_A])
    expect(calls.length).toBe(asked + 1)
  })
})

describe('removing and handing over, after a yes', () => {
  it('Remove asks first (focus on Cancel); Cancel asks nothing of the server; yes removes and the list follows', async () => {
    const list = [member(ALICE, 'alice', 'owner'), member(BOB, 'bob', 'member')]
    const calls = server({
      ...membersRoute(() => list),
      [`DELETE /api/rooms/${ROOM_A}/members/${BOB}`]: () => {
        list.pop()
        return new Response(null, { status: 204 })
      },
      [`GET /api/rooms/${ROOM_A}`]: () =>
        json({ room: roomFixture(ROOM_A, { role: 'owner', ownerId: ALICE, memberCount: list.length }) }),
    })
    await openAs('owner', list, { ownerId: ALICE })
    const sheet = openSheet()
    fireEvent.click(screen.getByRole('button', { name: 'Remove bob' }))
    expect(sheet.textContent).toContain('They lose this room and its history at once')
    const cancel = screen.getByRole('button', { name: 'Cancel' })
    expect(document.activeElement).toBe(cancel)
    fireEvent.click(cancel)
    expect(writes(calls)).toEqual([])
    fireEvent.click(screen.getByRole('button', { name: 'Remove bob' }))
    fireEvent.click(screen.getByRole('button', { name: 'Remove bob from the room' }))
    await waitFor(() => expect(sheet.querySelectorAll('li')).toHaveLength(1))
    expect(writes(calls).map((c) => `${c.method} ${c.url}`)).toEqual([`DELETE /api/rooms/${ROOM_A}/members/${BOB}`])
    // The counts follow: the sheet's from the list, the header's from the room row asked again.
    expect(sheet.querySelector('.sheet__subtitle')?.textContent).toBe('1 member')
    await waitFor(() => expect(document.querySelector('.room-view__subtitle')?.textContent).toContain('1 member'))
    expect(sheet.querySelector('.members [role="status"]')?.textContent).toBe('bob was removed from the room.')
  })

  it('Make admin goes at once; Make owner asks, then the viewer’s own row turns admin without waiting for the socket', async () => {
    const list = [member(ALICE, 'alice', 'owner'), member(BOB, 'bob', 'member')]
    let serverRoom = roomFixture(ROOM_A, { role: 'owner', ownerId: ALICE })
    const calls = server({
      ...membersRoute(() => list),
      [`PATCH /api/rooms/${ROOM_A}/members/${BOB}`]: (body) => {
        const role = (body as { role: Role }).role
        list[1] = member(BOB, 'bob', role)
        if (role === 'owner') {
          list[0] = member(ALICE, 'alice', 'admin')
          serverRoom = { ...serverRoom, role: 'admin', ownerId: BOB }
        }
        return json({ member: list[1] })
      },
      [`GET /api/rooms/${ROOM_A}`]: () => json({ room: serverRoom }),
    })
    await openAs('owner', list, { ownerId: ALICE })
    const sheet = openSheet()
    fireEvent.click(screen.getByRole('button', { name: 'Make admin: bob' }))
    await waitFor(() =>
      expect(sheet.querySelector('.members [role="status"]')?.textContent).toBe('bob is now an admin.'),
    )
    expect(sheet.textContent).toContain('bobadmin')
    fireEvent.click(screen.getByRole('button', { name: 'Make owner: bob' }))
    expect(sheet.textContent).toContain('Make bob the owner of Cabin? You become an admin')
    fireEvent.click(screen.getByRole('button', { name: 'Make bob the owner' }))
    await waitFor(() => expect(rooms.value[0]?.role).toBe('admin'))
    expect((await listCachedRooms(await getDb()))[0]).toMatchObject({ role: 'admin', ownerId: BOB })
    // Now an admin: bob (the owner) has no buttons; the invite form stays (admins invite).
    await waitFor(() => expect(buttonNames(sheet)).toEqual([]))
    expect(writes(calls).map((c) => c.body)).toEqual([{ role: 'admin' }, { role: 'owner' }])
  })

  it('a refusal is said under the list and changes nothing here', async () => {
    const list = [member(BOB, 'bob', 'owner'), member(ALICE, 'alice', 'admin'), member(CAROL, 'carol', 'member')]
    server({
      ...membersRoute(() => list),
      [`DELETE /api/rooms/${ROOM_A}/members/${CAROL}`]: () =>
        refuse(403, 'forbidden', 'Only the owner or an admin removes members'),
    })
    await openAs('admin', list)
    const sheet = openSheet()
    fireEvent.click(screen.getByRole('button', { name: 'Remove carol' }))
    fireEvent.click(screen.getByRole('button', { name: 'Remove carol from the room' }))
    const alert = await screen.findByRole('alert')
    expect(alert.textContent).toBe(
      'You are not allowed to do that in this room (Only the owner or an admin removes members).',
    )
    expect(sheet.querySelectorAll('li')).toHaveLength(3)
  })
})

describe('inviting by username', () => {
  const list = [member(ALICE, 'alice', 'owner'), member(BOB, 'bob', 'member')]

  async function invite(name: string): Promise<void> {
    const box = screen.getByRole('textbox', { name: 'Invite by username' }) as HTMLInputElement
    box.value = name
    fireEvent.submit(box.form!)
  }

  it('says each answer plainly: added, no such person, already a member (without asking), not allowed', async () => {
    const shown = [...list]
    const calls = server({
      ...membersRoute(() => shown),
      [`POST /api/rooms/${ROOM_A}/members`]: (body) => {
        const { username } = body as { username: string }
        if (username === 'zed') return refuse(404, 'not_found', 'No user named "zed"')
        if (username === 'mallory') return refuse(403, 'forbidden', 'Only the owner or an admin adds members')
        shown.push(member(CAROL, 'carol', 'member'))
        return json({ member: member(CAROL, 'carol', 'member') }, 201)
      },
    })
    await openAs('owner', list, { ownerId: ALICE })
    const sheet = openSheet()

    await invite('zed')
    expect((await screen.findByRole('alert')).textContent).toBe('No one on Ferry is called “zed”. Check the spelling.')
    await invite('BOB')
    await waitFor(() => expect(screen.getByRole('alert').textContent).toBe('bob is already a member of this room.'))
    await invite('mallory')
    await waitFor(() => expect(screen.getByRole('alert').textContent).toContain('You are not allowed to do that'))
    await invite('@carol')
    await waitFor(() => expect(sheet.querySelector('.invite__done')?.textContent).toBe('carol was added to Cabin.'))
    expect(sheet.querySelectorAll('li')).toHaveLength(3)
    expect(screen.queryByRole('alert')).toBeNull()
    expect(writes(calls).map((c) => c.body)).toEqual([
      { username: 'zed' },
      { username: 'mallory' },
      { username: 'carol' },
    ])
  })
})

describe('renaming', () => {
  it('the owner or an admin edits name and topic; an empty name is refused here; the row follows the answer', async () => {
    const list = [member(BOB, 'bob', 'owner'), member(ALICE, 'alice', 'admin')]
    const calls = server({
      ...membersRoute(() => list),
      [`PATCH /api/rooms/${ROOM_A}`]: (body) =>
        json({ room: roomFixture(ROOM_A, { role: 'admin', ...(body as { name: string; topic: string }) }) }),
    })
    await openAs('admin', list)
    const sheet = openSheet()
    fireEvent.click(screen.getByRole('button', { name: 'Edit name and topic' }))
    const name = screen.getByRole('textbox', { name: 'Room name' }) as HTMLInputElement
    expect(document.activeElement).toBe(name)
    const topic = screen.getByRole('textbox', { name: 'Topic (optional)' }) as HTMLInputElement
    name.value = '   '
    fireEvent.submit(name.form!)
    expect((await screen.findByRole('alert')).textContent).toBe(
      'Give the room a name: it cannot be empty or only spaces.',
    )
    expect(writes(calls)).toEqual([])
    name.value = ' Harbour '
    topic.value = 'Boats in and out'
    fireEvent.submit(name.form!)
    await waitFor(() => expect(rooms.value[0]?.name).toBe('Harbour'))
    expect(writes(calls).map((c) => c.body)).toEqual([{ name: 'Harbour', topic: 'Boats in and out' }])
    expect(within(sheet).getByRole('heading', { name: 'Harbour' })).toBeTruthy()
    expect(within(sheet).getByText('Boats in and out')).toBeTruthy()
    expect(document.activeElement).toBe(within(sheet).getByRole('button', { name: 'Edit name and topic' }))
  })
})

describe('leaving', () => {
  const openMenu = () => {
    render(<RoomView roomId={ROOM_A} />)
    fireEvent.click(screen.getByRole('button', { name: 'Room options' }))
    fireEvent.click(screen.getByRole('button', { name: 'Leave room' }))
  }

  it('a member confirms, then the room is gone here and the view is the list', async () => {
    const calls = server({
      [`POST /api/rooms/${ROOM_A}/leave`]: () => new Response(null, { status: 204 }),
      'GET /api/rooms': () => json({ rooms: [] }),
    })
    await openAs('member', [])
    openMenu()
    const cancel = await screen.findByRole('button', { name: 'Cancel' })
    expect(document.activeElement).toBe(cancel)
    expect(
      screen.getByRole('group', { name: /^Leave Cabin\? It goes from your rooms on all your devices/ }),
    ).toBeTruthy()
    expect(writes(calls)).toEqual([])
    notice.value = null
    fireEvent.click(screen.getByRole('button', { name: 'Leave' }))
    await waitFor(() => expect(route.value.name).toBe('rooms'))
    expect(writes(calls).map((c) => c.url)).toEqual([`/api/rooms/${ROOM_A}/leave`])
    expect(await listCachedRooms(await getDb())).toEqual([])
    // Left from here: no "no longer a member" notice for what the person just did.
    expect(notice.value).toBeNull()
  })

  it('an owner with others in the room is told to hand it over first, and nothing is asked to leave', async () => {
    const calls = server(membersRoute(() => [member(ALICE, 'alice', 'owner'), member(BOB, 'bob', 'member')]))
    await openAs('owner', [], { ownerId: ALICE, memberCount: 1 })
    openMenu()
    expect((await screen.findByRole('alert')).textContent).toBe(OWNER_MUST_TRANSFER)
    expect(writes(calls)).toEqual([])
    expect(route.value.name).toBe('room')
  })

  it('an owner who handed the room over a moment ago (the row still says owner) is asked as a member', async () => {
    server({
      ...membersRoute(() => [member(BOB, 'bob', 'owner'), member(ALICE, 'alice', 'admin')]),
      [`POST /api/rooms/${ROOM_A}/leave`]: () => new Response(null, { status: 204 }),
      'GET /api/rooms': () => json({ rooms: [] }),
    })
    await openAs('owner', [], { ownerId: ALICE })
    openMenu()
    await screen.findByRole('group', { name: /^Leave Cabin\?/ })
    expect(screen.queryByRole('alert')).toBeNull()
  })

  it('an owner who is the last member is told the room will be deleted; yes deletes it here, public or not', async () => {
    const calls = server({
      ...membersRoute(() => [member(ALICE, 'alice', 'owner')]),
      [`POST /api/rooms/${ROOM_A}/leave`]: () => new Response(null, { status: 204 }),
      'GET /api/rooms': () => json({ rooms: [] }),
    })
    await openAs('owner', [], { ownerId: ALICE, visibility: 'public', memberCount: 3 })
    openMenu()
    await screen.findByRole('button', { name: 'Leave and delete the room' })
    expect(screen.getByRole('group', { name: /leaving deletes the room and all its messages/ })).toBeTruthy()
    fireEvent.click(screen.getByRole('button', { name: 'Leave and delete the room' }))
    await waitFor(() => expect(route.value.name).toBe('rooms'))
    expect(writes(calls).map((c) => c.url)).toEqual([`/api/rooms/${ROOM_A}/leave`])
    expect(await listCachedRooms(await getDb())).toEqual([])
  })
})

describe('removed while looking at the room', () => {
  it('the row dropped by the room-list stream sends the view back to the list, saying why', async () => {
    server({ 'GET /api/rooms': () => json({ rooms: [] }) })
    notice.value = null
    await openAs('member', [member(BOB, 'bob', 'owner'), member(ALICE, 'alice', 'member')])
    render(<RoomView roomId={ROOM_A} />)
    expect(route.value.name).toBe('room')
    // room_removed, as the engine applies it: the row goes, the tabs are told.
    await dropMembership(await getDb(), ROOM_A, 'private')
    publish({ type: 'rooms-changed' })
    await waitFor(() => expect(route.value.name).toBe('rooms'))
    expect(notice.value).toBe('You are no longer a member of Cabin.')
  })

  it('a public room keeps its row (unjoined), so its screen stays, with Join', async () => {
    server({})
    notice.value = null
    await openAs('member', [], { visibility: 'public' })
    render(<RoomView roomId={ROOM_A} />)
    await dropMembership(await getDb(), ROOM_A, 'public')
    publish({ type: 'rooms-changed' })
    await screen.findByRole('button', { name: 'Join this room' })
    expect(route.value.name).toBe('room')
    expect(notice.value).toBeNull()
  })
})

describe('offline: refused at once, nothing changed (docs/CLIENT.md, "Members and moderation")', () => {
  it('remove, roles, invite, rename and leave each say "you are offline"; the list and the room stay', async () => {
    const list = [member(ALICE, 'alice', 'owner'), member(BOB, 'bob', 'member')]
    offline()
    status.value = { socket: 'waiting', retryAt: null, catchingUp: 0, offline: true }
    await openAs('owner', list, { ownerId: ALICE })
    const sheet = openSheet()
    expect(sheet.textContent).toContain(
      'You are offline: this is the list as last seen, and changes need a connection.',
    )
    const said = async () => (await screen.findByRole('alert')).textContent

    fireEvent.click(screen.getByRole('button', { name: 'Make admin: bob' }))
    expect(await said()).toBe(
      'You are offline: changing a role needs a connection. Try again when you are back online.',
    )
    fireEvent.click(screen.getByRole('button', { name: 'Remove bob' }))
    fireEvent.click(screen.getByRole('button', { name: 'Remove bob from the room' }))
    await waitFor(() => expect(screen.getByRole('alert').textContent).toContain('removing someone needs a connection'))
    expect(members.value[ROOM_A]).toEqual(list)

    const box = screen.getByRole('textbox', { name: 'Invite by username' }) as HTMLInputElement
    box.value = 'carol'
    fireEvent.submit(box.form!)
    await waitFor(() =>
      expect(sheet.querySelector('#invite-problem')?.textContent).toContain('inviting someone needs a connection'),
    )

    fireEvent.click(screen.getByRole('button', { name: 'Edit name and topic' }))
    const name = screen.getByRole('textbox', { name: 'Room name' }) as HTMLInputElement
    name.value = 'Harbour'
    fireEvent.submit(name.form!)
    await waitFor(() =>
      expect([...sheet.querySelectorAll('[role="alert"]')].map((a) => a.textContent).join()).toContain(
        'renaming the room needs a connection',
      ),
    )
    expect(rooms.value[0]?.name).toBe('Cabin')
    cleanup()

    render(<RoomView roomId={ROOM_A} />)
    fireEvent.click(screen.getByRole('button', { name: 'Room options' }))
    fireEvent.click(screen.getByRole('button', { name: 'Leave room' }))
    expect(await said()).toBe('You are offline: leaving a room needs a connection. Try again when you are back online.')
    expect((await listCachedRooms(await getDb())).map((r) => r.id)).toEqual([ROOM_A])
    expect(route.value.name).toBe('room')
  })
})
