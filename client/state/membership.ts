/**
 * Rooms the person belongs to, from the room screens: the room list as the server
 * has it, joining a public room, leaving one, creating one with a name checked
 * here first, and telling an unknown room link from one that does not exist.
 * Nothing here rejects: failures come back as text (or go to the notice).
 */
import type { DiscoverResponse, RoomResponse, RoomsResponse } from '../../shared/api.ts'
import { LIMITS } from '../../shared/limits.ts'
import type { Room, Visibility } from '../../shared/schemas.ts'
import { ApiError, api, isTransient } from '../api/http.ts'
import { getDb } from '../db/page.ts'
import { dropMembership, putRoom, replaceRooms } from '../db/rooms.ts'
import { requestPersistence } from '../pwa/persist.ts'
import { publish } from '../tabs/bus.ts'
import { DISCOVER_PAGE } from './discover.ts'
import { navigate } from './navigation.ts'
import { say } from './notify.ts'
import { markMissing, notice, showVisiting } from './store.ts'

/** Why a room name cannot be used, or null. The server's rule: 1–80 characters after trimming. */
export function roomNameProblem(name: string): string | null {
  const trimmed = name.trim()
  if (trimmed === '') return 'Give the room a name: it cannot be empty or only spaces.'
  if ([...trimmed].length > LIMITS.roomNameMax) return `Room names are at most ${LIMITS.roomNameMax} characters.`
  return null
}

/**
 * Words a refusal by its code: the server's schema messages ("body.name must not have fewer
 * than 1 characters") are for developers, so the person gets what to do instead. Anything
 * else the server says is already plain.
 */
export function friendlyRoomProblem(refusal: Refusal): string {
  if (refusal.code === 'network') return 'You are offline: creating a room needs the server. Try again when connected.'
  if (refusal.code === 'validation_failed')
    return /^body\.name\b/.test(refusal.message)
      ? `Room names are ${LIMITS.roomNameMin}–${LIMITS.roomNameMax} characters.`
      : 'The server could not accept that. Check the form and try again.'
  return refusal.message
}

/** Creates the room (and opens it); null when done, else why not, for the form. */
export async function createNamedRoom(name: string, visibility: Visibility): Promise<string | null> {
  const problem = roomNameProblem(name)
  if (problem) return problem
  const refusal = await createRoom(name.trim(), visibility)
  return refusal === null ? null : friendlyRoomProblem(refusal)
}

/** What an owner who is not the room's last member is told when they try to leave. */
export const OWNER_MUST_TRANSFER =
  'You own this room. Make another member the owner first (Members, then “Make owner”), then leave.'

const LEAVE_REFUSALS: Record<string, string> = {
  owner_cannot_leave: OWNER_MUST_TRANSFER,
  network: 'You are offline: leaving a room needs the server. Try again when connected.',
}

/**
 * Leaves the room on the server, then forgets it here: a public room stays listed (with Join),
 * a private one is gone with its history, as the server no longer lets this person read it. An
 * owner who is the last member deletes the room by leaving (`deleting`): gone here too, public or not.
 * Null when left, else why not.
 */
export async function leaveRoom(room: Room, deleting = false): Promise<string | null> {
  try {
    await api('POST', `/api/rooms/${room.id}/leave`, {})
  } catch (error) {
    // Not a member any more (left on another device): the same end as leaving now.
    const gone = error instanceof ApiError && (error.code === 'not_member' || error.code === 'not_found')
    if (!gone) {
      if (error instanceof ApiError) return LEAVE_REFUSALS[error.code] ?? error.message
      console.warn('[ferry] leaving a room failed', error)
      return 'Could not leave the room. Try again.'
    }
  }
  try {
    // The same end as the socket's room_removed (idempotent, so both arriving is fine).
    await dropMembership(await getDb(), room.id, deleting ? 'private' : room.visibility)
    publish({ type: 'rooms-changed' })
  } catch (error) {
    // Left on the server; the list is corrected by the refresh below (or the next one).
    console.warn('[ferry] forgetting a room that was left failed', error)
  }
  navigate({ name: 'rooms' }) // also refreshes the room list (and subscriptions) from the server
  return null
}

/**
 * Asks the server whether a room not in the list exists. Only a 404 counts: offline or busy
 * leaves the question open (the room may well exist); a found room is what the screen shows.
 */
export async function checkRoomExists(roomId: string): Promise<void> {
  try {
    const { room } = await api<RoomResponse>('GET', `/api/rooms/${roomId}`)
    // Not in the list (e.g. a public room beyond its one page to discover): the screen shows this row.
    showVisiting(room)
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) markMissing(roomId)
  }
}

export type DiscoverPage = { rooms: Room[]; hasMore: boolean } | { problem: 'offline' | string }

/**
 * One page of public rooms the person has not joined, from the server (never the device's list,
 * which holds only their own rooms): names containing `search`, newest first, after `before`.
 */
export async function discoverRooms(search: string, before?: string): Promise<DiscoverPage> {
  const query = new URLSearchParams({ limit: String(DISCOVER_PAGE) })
  const q = search.trim().slice(0, LIMITS.roomSearchMax)
  if (q) query.set('q', q)
  if (before) query.set('before', before)
  try {
    return await api<DiscoverResponse>('GET', `/api/rooms/discover?${query}`)
  } catch (error) {
    if (error instanceof ApiError && error.code === 'network') return { problem: 'offline' }
    if (error instanceof ApiError) return { problem: error.message }
    console.warn('[ferry] searching public rooms failed', error)
    return { problem: 'Could not load public rooms. Try again.' }
  }
}

/** The room list as the server has it now (new public rooms, rooms we were added to). */
export async function refreshRooms(): Promise<void> {
  try {
    const res = await api<RoomsResponse>('GET', '/api/rooms')
    await replaceRooms(await getDb(), res.rooms)
    publish({ type: 'rooms-changed' })
    publish({ type: 'resubscribe' })
  } catch (error) {
    // Offline (expected): the cached list stays. Anything else is worth a line in the console.
    if (!isTransient(error)) console.warn('[ferry] refreshing the room list failed', error)
  }
}

/** A refusal as the server gave it (or `network` when it could not be asked), for the form to word. */
export interface Refusal {
  code: string
  message: string
}

export async function createRoom(name: string, visibility: Visibility): Promise<Refusal | null> {
  try {
    const { room } = await api<RoomResponse>('POST', '/api/rooms', { name, visibility })
    await putRoom(await getDb(), room)
    publish({ type: 'rooms-changed' })
    publish({ type: 'resubscribe' })
    void requestPersistence() // never rejects (pwa/persist.ts logs its own failure)
    navigate({ name: 'room', roomId: room.id })
    return null
  } catch (error) {
    if (error instanceof ApiError) return { code: error.code, message: error.message }
    console.warn('[ferry] creating a room failed', error)
    return { code: 'unknown', message: 'Could not create the room. Try again.' }
  }
}

/** Joins a public room; true when the person is now a member (a failure is said in the notice). */
export async function joinRoom(roomId: string): Promise<boolean> {
  try {
    const { room } = await api<RoomResponse>('POST', `/api/rooms/${roomId}/join`, {})
    await putRoom(await getDb(), room)
    publish({ type: 'rooms-changed' })
    publish({ type: 'resubscribe' })
    void requestPersistence() // never rejects (pwa/persist.ts logs its own failure)
    return true
  } catch (error) {
    if (error instanceof ApiError && error.code === 'network')
      notice.value = 'You are offline: joining a room needs the server. Try again when connected.'
    else say(error, 'Could not join the room.')
    return false
  }
}
