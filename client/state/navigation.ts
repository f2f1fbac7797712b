/** Where the person is: the route, the address bar and its history entries. */

import { SEARCH_LIMITS } from '../../shared/search/contract.ts'
import { atSeqOf } from '../push/links.ts'
import { setRoomLoading } from './feed.ts'
import { refreshRooms } from './membership.ts'
import { warnAndSay } from './notify.ts'
import { openRoom } from './room-view.ts'
import { type Route, route, timeline } from './store.ts'

export function currentRoomId(): string | null {
  const current = route.value
  return current.name === 'room' ? current.roomId : null
}

/** The message the open room was asked to open at (a notification's link), if any. */
export function currentAt(): number | undefined {
  const current = route.value
  return current.name === 'room' ? current.at : undefined
}

type SearchRoute = Extract<Route, { name: 'search' }>

/**
 * The address of a search: `/search?q=…`, with `room=` when opened from a room, `in=all` for all
 * rooms from there, and `sort=relevance` for best match (newest first has none).
 */
export function searchAddress(search: SearchRoute): string {
  const params = new URLSearchParams({ q: search.q })
  if (search.roomId) {
    params.set('room', search.roomId)
    if (search.scope === 'all') params.set('in', 'all')
  }
  if (search.sort === 'relevance') params.set('sort', 'relevance')
  return `/search?${params}`
}

function pathOf(next: Route): string {
  if (next.name === 'room') return `/rooms/${next.roomId}`
  if (next.name === 'discover') return '/discover'
  if (next.name === 'search') return searchAddress(next)
  return '/'
}

/**
 * The search screen's query or scope changed: the address (and the route) follow, in the same
 * history entry, so Back from a result returns to the search as it was, and a reload keeps it.
 */
export function replaceSearchRoute(search: SearchRoute): void {
  const path = searchAddress(search)
  if (location.pathname + location.search !== path) history.replaceState(null, '', path)
  route.value = search
}

export function navigate(next: Route, replace = false): void {
  const path = pathOf(next)
  // Where a room was opened from rides in the history entry, so Back after a reload or popstate still knows.
  const state = next.name === 'room' && next.from ? { from: next.from } : null
  const here = next.name === 'search' ? location.pathname + location.search : location.pathname
  if (here !== path) history[replace ? 'replaceState' : 'pushState'](state, '', path)
  route.value = next
  if (next.name === 'room')
    void openRoom(next.roomId, next.at).catch(warnAndSay('opening a room', 'Could not open that room.'))
  else {
    timeline.value = null
    setRoomLoading(null)
    void refreshRooms()
  }
}

/**
 * A room link in any letter case names the room; ids are held in lower case, as the server stores
 * them. `state` is the history entry's (navigate): a room opened from Discover says so. `search`
 * may name a message to open the room at (`?at=seq`, a notification's link).
 */
export function routeFromPath(pathname: string, state?: unknown, search = ''): Route {
  const match = /^\/rooms\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i.exec(pathname)
  if (match?.[1]) {
    const fromDiscover = (state as { from?: unknown } | null)?.from === 'discover'
    const at = atSeqOf(search)
    return {
      name: 'room',
      roomId: match[1].toLowerCase(),
      ...(fromDiscover ? { from: 'discover' as const } : {}),
      ...(at !== null ? { at } : {}),
    }
  }
  if (pathname === '/search') return searchRouteOf(search)
  return pathname === '/discover' ? { name: 'discover' } : { name: 'rooms' }
}

const ROOM_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/**
 * `?q=&room=&in=all&sort=relevance`: a room that is not a room id is ignored (all rooms), as is a
 * scope without a room; a sort other than `relevance` is newest first.
 */
function searchRouteOf(search: string): SearchRoute {
  const params = new URLSearchParams(search)
  const room = params.get('room')
  const roomId = room && ROOM_ID.test(room) ? room.toLowerCase() : undefined
  return {
    name: 'search',
    q: (params.get('q') ?? '').slice(0, SEARCH_LIMITS.queryMax),
    ...(roomId ? { roomId, scope: params.get('in') === 'all' ? ('all' as const) : ('room' as const) } : {}),
    ...(params.get('sort') === 'relevance' ? { sort: 'relevance' as const } : {}),
  }
}
