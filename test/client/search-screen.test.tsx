/**
 * The search screen (issue 12): snippets are text with <mark> around the ranges (never markup),
 * its states (empty, searching, no results, error with Retry), the offline wording, the way in from
 * the room list and a room header, keyboard, and a result opening the room at its message.
 */
import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/preact'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { deviceIndexComplete, searchDevice } from '../../client/search/sources.ts'
import { navigate, routeFromPath, searchAddress } from '../../client/state/navigation.ts'
import { openSearch, stopSearch } from '../../client/state/search.ts'
import { type Route, rooms, route, status, timeline, user } from '../../client/state/store.ts'
import { setClock } from '../../client/time/clock.ts'
import { setTimeSettings } from '../../client/time/format.ts'
import { RoomList } from '../../client/ui/RoomList.tsx'
import { RoomView } from '../../client/ui/RoomView.tsx'
import {
  markedParts,
  NEWEST_ON_DEVICE,
  ON_DEVICE,
  SearchScreen,
  SnippetText,
  STILL_INDEXING,
} from '../../client/ui/Search.tsx'
import type { SearchHit, Snippet } from '../../shared/search/contract.ts'
import { ALICE, FIXTURE_TIME, ROOM_A, ROOM_B, roomFixture } from './support.ts'

vi.mock('../../client/search/sources.ts', async (original) => ({
  ...(await original<typeof import('../../client/search/sources.ts')>()),
  searchDevice: vi.fn(async () => []),
  deviceIndexComplete: vi.fn(async () => true),
}))
const device = vi.mocked(searchDevice)
const indexComplete = vi.mocked(deviceIndexComplete)

const json = (body: unknown, code = 200) =>
  new Response(JSON.stringify(body), { status: code, headers: { 'content-type': 'application/json' } })

const hit = (roomId: string, seq: number, snippet: Partial<Snippet> = {}, minutesAgo = 5): SearchHit => ({
  roomId,
  roomName: roomId === ROOM_A ? 'Depot' : 'Quay',
  seq,
  authorId: ALICE,
  authorName: 'ann',
  createdAt: new Date(FIXTURE_TIME - minutesAgo * 60_000).toISOString(),
  edited: false,
  snippet: { text: 'the depot gate', ranges: [[4, 9]], cutStart: false, cutEnd: false, ...snippet },
})

const marks = (root: Element) => Array.from(root.querySelectorAll('mark')).map((m) => m.textContent)

describe('marked ranges', () => {
  it('cuts the text at the ranges, including ranges at its very start and end', () => {
    expect(
      markedParts('depot gate', [
        [0, 5],
        [6, 10],
      ]),
    ).toEqual([
      { text: 'depot', mark: true },
      { text: ' ', mark: false },
      { text: 'gate', mark: true },
    ])
    expect(markedParts('depot', [[0, 5]])).toEqual([{ text: 'depot', mark: true }])
    expect(markedParts('no match', [])).toEqual([{ text: 'no match', mark: false }])
  })

  it('keeps emoji whole: offsets are code units, and an edge inside a surrogate pair moves out of it', () => {
    const text = '🚢 depot 🚧'
    // "depot" is [3, 8): the ship is two code units, then a space.
    expect(markedParts(text, [[3, 8]])).toEqual([
      { text: '🚢 ', mark: false },
      { text: 'depot', mark: true },
      { text: ' 🚧', mark: false },
    ])
    const split = markedParts(text, [
      [1, 2],
      [10, 11],
    ])
    expect(split.map((p) => p.text).join('')).toBe(text)
    expect(split.filter((p) => p.mark).map((p) => p.text)).toEqual(['🚢', '🚧'])
  })

  it('a range from a bad answer (out of the text, reversed, overlapping, unsorted) cannot break the text', () => {
    const parts = markedParts('depot gate', [
      [6, 99],
      [3, 1],
      [0, 5],
      [2, 4],
    ])
    expect(parts.map((p) => p.text).join('')).toBe('depot gate')
    expect(parts.filter((p) => p.mark).map((p) => p.text)).toEqual(['depot', 'gate'])
  })

  it('renders text and <mark> elements, never markup, with "…" where the message was cut', () => {
    const { container } = render(
      <SnippetText
        snippet={{ text: '<img src=x onerror=alert(1)> depot', ranges: [[29, 34]], cutStart: true, cutEnd: true }}
      />,
    )
    expect(container.querySelector('img')).toBeNull()
    expect(container.textContent).toBe('…<img src=x onerror=alert(1)> depot…')
    expect(marks(container)).toEqual(['depot'])
    cleanup()
    const whole = render(<SnippetText snippet={{ text: 'depot', ranges: [[0, 5]], cutStart: false, cutEnd: false }} />)
    expect(whole.container.textContent).toBe('depot')
  })
})

describe('the search address', () => {
  it('reads /search?q=&room=&in=all, and ignores a room that is no room id', () => {
    expect(routeFromPath('/search', null, '?q=depot%20gate')).toEqual({ name: 'search', q: 'depot gate' })
    expect(routeFromPath('/search', null, '')).toEqual({ name: 'search', q: '' })
    expect(routeFromPath('/search', null, `?q=x&room=${ROOM_A.toUpperCase()}`)).toEqual({
      name: 'search',
      q: 'x',
      roomId: ROOM_A,
      scope: 'room',
    })
    expect(routeFromPath('/search', null, `?q=x&room=${ROOM_A}&in=all`)).toEqual({
      name: 'search',
      q: 'x',
      roomId: ROOM_A,
      scope: 'all',
    })
    expect(routeFromPath('/search', null, '?q=x&room=nope&in=all')).toEqual({ name: 'search', q: 'x' })
    expect(routeFromPath('/search', null, `?q=${'a'.repeat(5000)}`)).toEqual({ name: 'search', q: 'a'.repeat(200) })
  })

  it('reads and writes sort=relevance (best match); absent or anything else is newest first', () => {
    expect(routeFromPath('/search', null, '?q=x&sort=relevance')).toEqual({ name: 'search', q: 'x', sort: 'relevance' })
    expect(routeFromPath('/search', null, '?q=x&sort=recent')).toEqual({ name: 'search', q: 'x' })
    expect(routeFromPath('/search', null, '?q=x&sort=RELEVANCE%00')).toEqual({ name: 'search', q: 'x' })
    expect(routeFromPath('/search', null, `?q=x&room=${ROOM_A}&in=all&sort=relevance`)).toEqual({
      name: 'search',
      q: 'x',
      roomId: ROOM_A,
      scope: 'all',
      sort: 'relevance',
    })
    const best = { name: 'search', q: 'depot gate', roomId: ROOM_A, scope: 'room', sort: 'relevance' } as const
    expect(searchAddress(best)).toBe(`/search?q=depot+gate&room=${ROOM_A}&sort=relevance`)
    const url = new URL(searchAddress(best), 'http://ferry.test')
    expect(routeFromPath(url.pathname, null, url.search)).toEqual(best)
    expect(searchAddress({ name: 'search', q: 'x' })).toBe('/search?q=x')
  })
})

function Screen() {
  const current = route.value
  return current.name === 'search' ? <SearchScreen route={current} /> : <p>elsewhere</p>
}

describe('the search screen', () => {
  beforeEach(() => {
    setClock(() => FIXTURE_TIME)
    setTimeSettings({ locale: 'en-GB', timeZone: 'UTC' })
    user.value = { id: ALICE, username: 'alice', createdAt: new Date(FIXTURE_TIME).toISOString() }
    rooms.value = [roomFixture(ROOM_A, { name: 'Depot' }), roomFixture(ROOM_B, { name: 'Quay' })]
    timeline.value = null
    status.value = { socket: 'open', retryAt: null, catchingUp: 0, offline: false }
    device.mockReset()
    device.mockResolvedValue([])
    indexComplete.mockReset()
    indexComplete.mockResolvedValue(true)
    openSearch('', null, 'all')
    vi.stubGlobal('fetch', async (url: string) => {
      if (url.startsWith('/api/search')) return json({ hits: [], nextCursor: null })
      return json({ rooms: [] })
    })
  })
  afterEach(() => {
    cleanup()
    stopSearch()
    setClock(undefined)
    setTimeSettings({})
    vi.unstubAllGlobals()
  })

  const show = (next: Route, offline = false) => {
    navigate(next)
    // Navigating sets the status as last heard from the leader (state/feed.ts): a test's status comes after.
    status.value = { socket: offline ? 'waiting' : 'open', retryAt: null, catchingUp: 0, offline }
    return render(<Screen />)
  }

  it('opens from the room list with the field focused, in a labelled search landmark, and says what it searches', async () => {
    show({ name: 'search', q: '' })
    expect(location.pathname + location.search).toBe('/search?q=')
    const field = screen.getByRole('searchbox', { name: 'Search messages' })
    expect(document.activeElement).toBe(field)
    // <search> is the search landmark (Chromium maps it; this DOM library's role table does not know it yet).
    const landmark = field.closest('search')
    expect(landmark?.getAttribute('aria-label')).toBe('Messages')
    expect(screen.getByText('Search messages in all your rooms.')).toBeTruthy()
    // No scope toggle without a room to narrow to (the sort is there, newest first).
    expect(screen.queryByRole('radio', { name: 'This room' })).toBeNull()
    expect(screen.getAllByRole('radio').map((r) => r.getAttribute('name'))).toEqual(['search-sort', 'search-sort'])
  })

  it('shows hits with room, author, relative time and marked snippet, and announces the count politely', async () => {
    vi.stubGlobal('fetch', async () =>
      json({
        hits: [hit(ROOM_A, 40), hit(ROOM_B, 7, { text: 'gate', ranges: [[0, 4]], cutStart: true }, 60 * 24)],
        nextCursor: null,
      }),
    )
    show({ name: 'search', q: 'depot gate' })
    const list = await screen.findByRole('list', { name: 'Results' })
    const items = await within(list).findAllByRole('listitem')
    expect(items.map((li) => li.textContent)).toEqual(['Depot 5 min ann the depot gate', 'Quay Yesterday ann …gate'])
    expect(marks(items[0]!)).toEqual(['depot'])
    expect(items[0]!.querySelector('time')?.getAttribute('datetime')).toBe(hit(ROOM_A, 40).createdAt)
    const count = screen.getByRole('status')
    expect(count.textContent).toBe('2 messages found')
    expect(count.getAttribute('aria-live') ?? 'polite').toBe('polite')
    expect(screen.queryByText(ON_DEVICE)).toBeNull()
  })

  it('tapping a result opens its room at that message', async () => {
    vi.stubGlobal('fetch', async (url: string) =>
      url.startsWith('/api/search') ? json({ hits: [hit(ROOM_A, 40)], nextCursor: null }) : json({ events: [] }),
    )
    show({ name: 'search', q: 'depot' })
    const link = await screen.findByRole('link', { name: /Depot/ })
    expect(link.getAttribute('href')).toBe(`/rooms/${ROOM_A}?at=40`)
    fireEvent.click(link)
    expect(route.value).toEqual({ name: 'room', roomId: ROOM_A, at: 40 })
    expect(location.pathname).toBe(`/rooms/${ROOM_A}`)
  })

  it('no results, searching, and an error with Retry', async () => {
    let answer: (r: Response) => void = () => undefined
    vi.stubGlobal(
      'fetch',
      () =>
        new Promise<Response>((resolve) => {
          answer = resolve
        }),
    )
    show({ name: 'search', q: 'zebra' })
    await waitFor(() => expect(screen.getByRole('status').textContent).toBe('Searching…'))
    expect(screen.getByRole('list', { name: 'Results' }).getAttribute('aria-busy')).toBe('true')
    answer(json({ hits: [], nextCursor: null }))
    await screen.findByText('No messages in all your rooms match “zebra”.')
    expect(screen.getByRole('status').textContent).toBe('No messages found')

    device.mockRejectedValue(new Error('IndexedDB is gone'))
    vi.spyOn(console, 'warn').mockImplementation(() => undefined)
    fireEvent.submit(screen.getByRole('searchbox').closest('form')!)
    answer(json({ error: { code: 'overloaded', message: 'Busy' } }, 503))
    expect((await screen.findByRole('alert')).textContent).toBe('The server could not search: Busy')
    device.mockResolvedValue([])
    fireEvent.click(screen.getByRole('button', { name: 'Retry' }))
    answer(json({ hits: [hit(ROOM_A, 3)], nextCursor: null }))
    await screen.findByRole('link', { name: /Depot/ })
    expect(screen.queryByRole('alert')).toBeNull()
  })

  it('offline: searches the device and says so', async () => {
    const searched: string[] = []
    vi.stubGlobal('fetch', async (url: string) => {
      if (url.startsWith('/api/search')) searched.push(url)
      return json({ hits: [], nextCursor: null })
    })
    device.mockResolvedValue([hit(ROOM_B, 2)])
    show({ name: 'search', q: 'depot' }, true)
    await screen.findByRole('link', { name: /Quay/ })
    expect(screen.getByText(ON_DEVICE)).toBeTruthy()
    expect(ON_DEVICE).toBe('Searching messages on this device')
    expect(screen.queryByText(STILL_INDEXING)).toBeNull()
    expect(screen.getByRole('status').textContent).toBe('1 message found on this device')
    expect(searched).toEqual([])
    device.mockResolvedValue([])
    fireEvent.input(screen.getByRole('searchbox'), { target: { value: 'zebra' } })
    await screen.findByText('No messages in all your rooms match “zebra” among those on this device.')
    expect(location.search).toBe('?q=zebra')
  })

  it('offline while older messages are still being indexed: says so beside what the device found', async () => {
    device.mockResolvedValue([hit(ROOM_B, 2)])
    indexComplete.mockResolvedValue(false)
    show({ name: 'search', q: 'depot' }, true)
    await screen.findByRole('link', { name: /Quay/ })
    expect(screen.getByText(ON_DEVICE)).toBeTruthy()
    expect(screen.getByText(STILL_INDEXING)).toBeTruthy()
    expect(STILL_INDEXING).toBe('Still indexing older messages on this device')
  })

  it('from a room: this room by default, a toggle to all rooms, and Back (or Escape) returns to the room', async () => {
    const asked: string[] = []
    vi.stubGlobal('fetch', async (url: string) => {
      asked.push(url)
      return url.startsWith('/api/search') ? json({ hits: [], nextCursor: null }) : json({ events: [] })
    })
    show({ name: 'search', q: 'depot', roomId: ROOM_A, scope: 'room' })
    const thisRoom = screen.getByRole('radio', { name: 'This room' }) as HTMLInputElement
    expect(thisRoom.checked).toBe(true)
    await waitFor(() => expect(asked.some((u) => u.includes(`roomId=${ROOM_A}`))).toBe(true))
    await screen.findByText('No messages in Depot match “depot”.')
    fireEvent.click(screen.getByRole('radio', { name: 'All rooms' }))
    await screen.findByText('No messages in all your rooms match “depot”.')
    expect(asked.filter((u) => u.startsWith('/api/search')).at(-1)).not.toContain('roomId')
    expect(location.search).toBe(`?q=depot&room=${ROOM_A}&in=all`)
    fireEvent.keyDown(screen.getByRole('searchbox'), { key: 'Escape' })
    expect(route.value).toEqual({ name: 'room', roomId: ROOM_A })
  })

  it('keyboard: ↓ from the field walks the results, ↑ back to the field; Enter in the field searches at once', async () => {
    const asked: string[] = []
    vi.stubGlobal('fetch', async (url: string) => {
      if (url.startsWith('/api/search')) asked.push(url)
      return json({ hits: [hit(ROOM_A, 2), hit(ROOM_B, 1)], nextCursor: null })
    })
    show({ name: 'search', q: '' })
    const field = screen.getByRole('searchbox')
    fireEvent.input(field, { target: { value: 'depot' } })
    fireEvent.submit(field.closest('form')!)
    // Enter does not wait for the typing pause.
    expect(asked).toHaveLength(1)
    const links = await screen.findAllByRole('link')
    fireEvent.keyDown(field, { key: 'ArrowDown' })
    expect(document.activeElement).toBe(links[0])
    fireEvent.keyDown(links[0]!, { key: 'ArrowDown' })
    expect(document.activeElement).toBe(links[1])
    fireEvent.keyDown(links[1]!, { key: 'ArrowDown' })
    expect(document.activeElement).toBe(links[1])
    fireEvent.keyDown(links[1]!, { key: 'ArrowUp' })
    fireEvent.keyDown(links[0]!, { key: 'ArrowUp' })
    expect(document.activeElement).toBe(field)
    fireEvent.keyDown(field, { key: 'Escape' })
    expect(route.value).toEqual({ name: 'rooms' })
  })

  it('the way in: a search button in the room list header (all rooms) and in the room header (this room)', () => {
    render(<RoomList />)
    const button = screen.getByRole('button', { name: 'Search messages' })
    expect(button.getAttribute('aria-current')).toBeNull()
    fireEvent.click(button)
    expect(route.value).toEqual({ name: 'search', q: '' })
    expect(location.pathname + location.search).toBe('/search?q=')
    // At desktop width the list stays beside the search: its button says the search is open.
    expect(button.getAttribute('aria-current')).toBe('page')
    cleanup()
    render(<RoomView roomId={ROOM_A} />)
    fireEvent.click(screen.getByRole('button', { name: 'Search in this room' }))
    expect(route.value).toEqual({ name: 'search', q: '', roomId: ROOM_A, scope: 'room' })
    expect(location.search).toBe(`?q=&room=${ROOM_A}`)
  })

  it('sort: a labelled choice Newest / Best match; best match asks for it, keeps the order, and the address follows', async () => {
    const asked: string[] = []
    vi.stubGlobal('fetch', async (url: string) => {
      if (!url.startsWith('/api/search')) return json({ events: [] })
      asked.push(url)
      return url.includes('sort=relevance')
        ? json({ hits: [hit(ROOM_B, 7, {}, 60), hit(ROOM_A, 40, {}, 5)], nextCursor: null })
        : json({ hits: [hit(ROOM_A, 40, {}, 5), hit(ROOM_B, 7, {}, 60)], nextCursor: null })
    })
    // The device found one the server did not: after the server's hits, not among them.
    device.mockResolvedValue([hit(ROOM_A, 41, {}, 1)])
    show({ name: 'search', q: 'depot' })
    const group = screen.getByRole('group', { name: 'Sort' })
    const newest = within(group).getByRole('radio', { name: 'Newest' }) as HTMLInputElement
    const best = within(group).getByRole('radio', { name: 'Best match' }) as HTMLInputElement
    expect(newest.checked).toBe(true)
    await waitFor(() => expect(screen.getAllByRole('link').map((a) => a.getAttribute('href'))).toHaveLength(3))
    expect(asked.at(-1)).not.toContain('sort=')
    fireEvent.click(best)
    expect(best.checked).toBe(true)
    expect(location.search).toBe('?q=depot&sort=relevance')
    await waitFor(() =>
      expect(screen.getAllByRole('link').map((a) => a.getAttribute('href'))).toEqual([
        `/rooms/${ROOM_B}?at=7`,
        `/rooms/${ROOM_A}?at=40`,
        `/rooms/${ROOM_A}?at=41`,
      ]),
    )
    expect(asked.at(-1)).toContain('sort=relevance')
    expect(screen.queryByText(NEWEST_ON_DEVICE)).toBeNull()
    // Back to newest first: the address drops the sort.
    fireEvent.click(newest)
    expect(location.search).toBe('?q=depot')
    await waitFor(() => expect(asked.at(-1)).not.toContain('sort='))
  })

  it('best match offline: the device answers newest first, and the screen says so', async () => {
    device.mockResolvedValue([hit(ROOM_B, 2)])
    show({ name: 'search', q: 'depot', sort: 'relevance' }, true)
    await screen.findByRole('link', { name: /Quay/ })
    expect(screen.getByText(ON_DEVICE)).toBeTruthy()
    expect(screen.getByText(NEWEST_ON_DEVICE)).toBeTruthy()
    expect(NEWEST_ON_DEVICE).toBe('Sorted by newest on this device')
    expect((screen.getByRole('radio', { name: 'Best match' }) as HTMLInputElement).checked).toBe(true)
    expect(location.search).toBe('?q=depot&sort=relevance')
  })
})
