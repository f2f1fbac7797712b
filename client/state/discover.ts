/**
 * What Discover lists, live: the server's results for the search, plus public rooms created since
 * (room_created), minus rooms the person has joined meanwhile, here or on another device (the
 * room list holds those, kept by room_added). Pure, so unit-tested.
 */
import type { Room } from '../../shared/schemas.ts'

/** Rooms per Discover page: a phone screen or two. */
export const DISCOVER_PAGE = 20

/** Adds a room heard of in room_created, newest last, keeping a page: a burst of new rooms cannot grow it. */
export function rememberCreated(list: readonly Room[], room: Room, keep = DISCOVER_PAGE): Room[] {
  return [...list.filter((r) => r.id !== room.id), room].slice(-keep)
}

/** The server's rule for `q`: the name contains it, ignoring case; surrounding spaces do not count. */
export function matchesSearch(name: string, search: string): boolean {
  const q = search.trim().toLocaleLowerCase()
  return q === '' || name.toLocaleLowerCase().includes(q)
}

/**
 * Newly created rooms that match the search and are newer than the newest result (so not among
 * them) come first, newest first; then the results. None the person is a member of, none twice.
 */
export function discoverList(
  results: readonly Room[],
  created: readonly Room[],
  joinedIds: ReadonlySet<string>,
  search: string,
): Room[] {
  const newest = results[0]?.createdAt ?? ''
  const fresh = created.filter((r) => r.createdAt > newest && matchesSearch(r.name, search)).reverse()
  const seen = new Set<string>()
  return [...fresh, ...results].filter((r) => {
    if (joinedIds.has(r.id) || seen.has(r.id)) return false
    seen.add(r.id)
    return true
  })
}
