import type { Room, User } from '../../shared/schemas.ts'
import { dropRoomIndex } from '../search/index.ts'
import { roomRange } from './messages.ts'
import { type CachedRoom, type FerryDatabase, type SessionRecord, USER_STORES } from './schema.ts'

/** The server's row, with what this device read and the server has not heard of yet kept. */
function mergeServerRoom(server: Room, cached: CachedRoom | undefined): CachedRoom {
  const pending = cached?.readPending
  if (pending === undefined || pending <= server.lastReadSeq) return { ...server, serverReadSeq: server.lastReadSeq }
  return {
    ...server,
    serverReadSeq: server.lastReadSeq,
    readPending: pending,
    lastReadSeq: pending,
    // Read up to the end: nothing unread. Read part of it: the server's count is an upper bound until it hears.
    unreadCount: pending >= server.lastSeq ? 0 : server.unreadCount,
  }
}

/** Replaces the cached room list with the server's (rooms we lost access to go away). */
export async function replaceRooms(db: FerryDatabase, rooms: readonly Room[]): Promise<void> {
  const tx = db.transaction('rooms', 'readwrite')
  const cached = new Map<string, CachedRoom>((await tx.store.getAll()).map((r) => [r.id, r]))
  const keep = new Set(rooms.map((r) => r.id))
  for (const id of cached.keys()) if (!keep.has(id)) tx.store.delete(id)
  for (const room of rooms) tx.store.put(mergeServerRoom(room, cached.get(room.id)))
  await tx.done
}

/** A room row the server pushed (room_added): like a refresh of that one row, read markers kept. */
export async function mergeRoom(db: FerryDatabase, room: Room): Promise<void> {
  const tx = db.transaction('rooms', 'readwrite')
  tx.store.put(mergeServerRoom(room, await tx.store.get(room.id)))
  await tx.done
}

/**
 * The person is no longer a member (room_removed, or left here). A private room is unreadable
 * now: it goes, with its history, cursor and draft, as the server no longer lets them read it.
 * A public room stays listed, unjoined. Returns whether anything changed.
 */
export async function dropMembership(
  db: FerryDatabase,
  roomId: string,
  visibility: 'public' | 'private',
): Promise<boolean> {
  if (visibility === 'private') {
    const tx = db.transaction(['rooms', 'messages', 'cursors', 'drafts', 'members', 'search'], 'readwrite')
    const known = (await tx.objectStore('rooms').getKey(roomId)) !== undefined
    await Promise.all([
      tx.objectStore('members').delete(roomId),
      tx.objectStore('rooms').delete(roomId),
      tx.objectStore('messages').delete(roomRange(roomId)),
      dropRoomIndex(tx.objectStore('search'), roomId),
      tx.objectStore('cursors').delete(roomId),
      tx.objectStore('drafts').delete(roomId),
      tx.done,
    ])
    return known
  }
  const tx = db.transaction('rooms', 'readwrite')
  const room = await tx.store.get(roomId)
  // Already unjoined here (left on this device): count the member gone once.
  const member = room !== undefined && room.role !== null
  if (member) {
    const { readPending: _unsent, ...rest } = room
    tx.store.put({ ...rest, role: null, unreadCount: 0, memberCount: Math.max(0, room.memberCount - 1) })
  }
  await tx.done
  return member
}

export function getCachedRoom(db: FerryDatabase, roomId: string): Promise<CachedRoom | undefined> {
  return db.get('rooms', roomId)
}

/**
 * The person has seen the room up to `seq`: nothing before it is unread here,
 * and the server is to be told (`readPending`). Safe in either order with the
 * engine's own update of the row (applyEventsToRoom counts nothing at or below
 * lastReadSeq). Returns false when there was nothing new to mark.
 */
export async function markSeenLocally(db: FerryDatabase, roomId: string, seq: number): Promise<boolean> {
  const tx = db.transaction('rooms', 'readwrite')
  const room: CachedRoom | undefined = await tx.store.get(roomId)
  let changed = false
  // Nothing to tell: the server has it already, or a post of it (or more) is waiting.
  const told = room ? Math.max(room.serverReadSeq ?? 0, room.readPending ?? 0) : 0
  if (room && room.role !== null && seq > told) {
    const unreadCount = seq >= room.lastSeq ? 0 : room.unreadCount
    const next: CachedRoom = { ...room, readPending: seq, lastReadSeq: Math.max(room.lastReadSeq, seq), unreadCount }
    tx.store.put(next)
    changed = true
  }
  await tx.done
  return changed
}

/** The server confirmed the read marker at `lastReadSeq` (its answer to a post of `posted`). */
export async function confirmRead(
  db: FerryDatabase,
  roomId: string,
  posted: number,
  answer: { lastReadSeq: number; unreadCount: number },
): Promise<void> {
  const tx = db.transaction('rooms', 'readwrite')
  const room: CachedRoom | undefined = await tx.store.get(roomId)
  if (room) {
    const { readPending, ...rest } = room
    // Read further while the post was under way: keep that for the next post, and the local count.
    const still = readPending !== undefined && readPending > posted
    const lastReadSeq = Math.max(room.lastReadSeq, answer.lastReadSeq)
    const serverReadSeq = answer.lastReadSeq
    const next: CachedRoom = still
      ? { ...room, lastReadSeq, serverReadSeq }
      : { ...rest, lastReadSeq, serverReadSeq, unreadCount: answer.unreadCount }
    tx.store.put(next)
  }
  await tx.done
}

/** Stops asking the server to mark a room it refused to mark (not a member any more, gone). */
export async function dropReadPending(db: FerryDatabase, roomId: string): Promise<void> {
  await updateRoom(db, roomId, (room: CachedRoom) => {
    const { readPending: _dropped, ...rest } = room
    return rest
  })
}

/** Rooms with a read marker the server has not confirmed, and the seq to post. */
export async function pendingReads(db: FerryDatabase): Promise<Array<{ roomId: string; seq: number }>> {
  const all: CachedRoom[] = await db.getAll('rooms')
  return all.flatMap((r) => (r.readPending === undefined ? [] : [{ roomId: r.id, seq: r.readPending }]))
}

/** A room row fresh from the server (its read marker is the server's). */
export async function putRoom(db: FerryDatabase, room: Room): Promise<void> {
  const row: CachedRoom = { ...room, serverReadSeq: room.lastReadSeq }
  await db.put('rooms', row)
}

export async function updateRoom(db: FerryDatabase, roomId: string, change: (room: Room) => Room): Promise<void> {
  const tx = db.transaction('rooms', 'readwrite')
  const room = await tx.store.get(roomId)
  if (room) tx.store.put(change(room))
  await tx.done
}

export function listCachedRooms(db: FerryDatabase): Promise<Room[]> {
  return db.getAll('rooms')
}

/** The signed-in person; undefined when nobody is, or the session is known to have ended. */
export async function getSessionUser(db: FerryDatabase): Promise<User | undefined> {
  return activeUser(await db.get('session', 'me'))
}

export function activeUser(record: SessionRecord | undefined): User | undefined {
  return record && !record.ended ? record : undefined
}

/** Whose unsent work the device keeps after their session ended (undefined: nobody's). */
export function endedUser(record: SessionRecord | undefined): User | undefined {
  if (!record?.ended) return undefined
  const { ended: _ended, ...person } = record
  return person
}

/**
 * Remembers who is signed in. A different user than the cached one (signed in
 * or ended) must not see the previous user's rooms or send their queued
 * messages: clear first. The same person gets their outbox back and it is sent.
 */
export async function setSessionUser(db: FerryDatabase, user: User): Promise<void> {
  const cached: SessionRecord | undefined = await db.get('session', 'me')
  if (cached && cached.id !== user.id) await clearUserData(db)
  await db.put('session', { id: user.id, username: user.username, createdAt: user.createdAt }, 'me')
}

export async function clearUserData(db: FerryDatabase): Promise<void> {
  const tx = db.transaction([...USER_STORES], 'readwrite')
  await Promise.all([...USER_STORES.map((name) => tx.objectStore(name).clear()), tx.done])
}

/** What the person wrote and the server never got: kept for them when their session ends. */
const WRITTEN_HERE = ['outbox', 'drafts'] as const
/** Everything else of the user's (a copy of the server's data), wiped when the session ends; new stores too. */
const SERVER_COPY = USER_STORES.filter(
  (name): name is Exclude<(typeof USER_STORES)[number], 'session' | (typeof WRITTEN_HERE)[number]> =>
    name !== 'session' && !(WRITTEN_HERE as readonly string[]).includes(name),
)

export interface HeldWork {
  user: User
  unsent: number
  drafts: number
}

/**
 * The session is known to be over (the server said 401): wipe the server's
 * data at once (rooms, history, cursors) so nothing of it paints again, online
 * or not. The outbox and drafts stay, tied to the person's id by an ended
 * session row, so they are sent if and only if the same person signs in again
 * (another person signing in wipes them, see setSessionUser). With nothing
 * unsent, nothing of the person is left. Returns what is kept, for whom.
 */
export async function expireSession(db: FerryDatabase): Promise<HeldWork | null> {
  const tx = db.transaction([...USER_STORES], 'readwrite')
  const session = tx.objectStore('session')
  const [record, unsent, drafts] = await Promise.all([
    session.get('me') as Promise<SessionRecord | undefined>,
    tx.objectStore('outbox').count(),
    tx.objectStore('drafts').count(),
  ])
  // Each request's failure also fails tx.done, which is awaited with them.
  const writes: Promise<unknown>[] = SERVER_COPY.map((name) => tx.objectStore(name).clear())
  let held: HeldWork | null = null
  if (record && unsent + drafts > 0) {
    const ended: SessionRecord = { ...record, ended: true }
    writes.push(session.put(ended, 'me'))
    held = { user: endedUser(ended)!, unsent, drafts }
  } else {
    // Nobody to keep anything for, or nothing to keep: the device forgets the person.
    writes.push(session.clear(), tx.objectStore('outbox').clear(), tx.objectStore('drafts').clear())
  }
  await Promise.all([...writes, tx.done])
  return held
}

/** What expireSession kept, as the sign-in screen shows it (null: nothing of anyone). */
export async function heldWork(db: FerryDatabase): Promise<HeldWork | null> {
  const tx = db.transaction(['session', 'outbox', 'drafts'])
  const [record, unsent, drafts] = await Promise.all([
    tx.objectStore('session').get('me'),
    tx.objectStore('outbox').count(),
    tx.objectStore('drafts').count(),
  ])
  const ended = endedUser(record)
  return ended ? { user: ended, unsent, drafts } : null
}
