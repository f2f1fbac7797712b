/** Where the person is: the route, the address bar and its history entries. */

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

export function navigate(next: Route, replace = false): void {
  const path = next.name === 'room' ? `/rooms/${next.roomId}` : next.name === 'discover' ? '/discover' : '/'
  // Where a room was opened from rides in the history entry, so Back after a reload or popstate still knows.
  const state = next.name === 'room' && next.from ? { from: next.from } : null
  if (location.pathname !== path) history[replace ? 'replaceState' : 'pushState'](state, '', path)
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
  return pathname === '/discover' ? { name: 'discover' } : { name: 'rooms' }
}
