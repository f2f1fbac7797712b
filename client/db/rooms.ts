import type { Room, User } from '../../shared/schemas.ts'
import { type FerryDatabase, USER_STORES } from './schema.ts'

/** Replaces the cached room list with the server's (rooms we lost access to go away). */
export async function replaceRooms(db: FerryDatabase, rooms: readonly Room[]): Promise<void> {
  const tx = db.transaction('rooms', 'readwrite')
  const keep = new Set(rooms.map((r) => r.id))
  for (const id of await tx.store.getAllKeys()) if (!keep.has(id)) tx.store.delete(id)
  for (const room of rooms) tx.store.put(room)
  await tx.done
}

export async function putRoom(db: FerryDatabase, room: Room): Promise<void> {
  await db.put('rooms', room)
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

export function getSessionUser(db: FerryDatabase): Promise<User | undefined> {
  return db.get('session', 'me')
}

/**
 * Remembers who is signed in. A different user than the cached one must not
 * see the previous user's rooms or send their queued messages: clear first.
 */
export async function setSessionUser(db: FerryDatabase, user: User): Promise<void> {
  const cached = await getSessionUser(db)
  if (cached && cached.id !== user.id) await clearUserData(db)
  await db.put('session', user, 'me')
}

export async function clearUserData(db: FerryDatabase): Promise<void> {
  const tx = db.transaction([...USER_STORES], 'readwrite')
  await Promise.all([...USER_STORES.map((name) => tx.objectStore(name).clear()), tx.done])
}
