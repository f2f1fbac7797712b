/**
 * The first screen as one precomputed record (store `firstScreen`, key 'me'): the room list, the
 * outbox and the open room's newest entries, saved while the app runs (state/first-screen.ts), so
 * a cold start paints with one `get` instead of the six requests of `readSnapshot`. It is only a
 * copy: boot reads the stores right after and replaces what it painted.
 *
 * It belongs to one person: written only while that person's session is the device's (checked in
 * the writing transaction, so a write that lands after a logout or a switch of user is dropped),
 * read only for them, wiped with every user store on logout, a user switch or an ended session.
 * Read as unknown data: a record of another shape (an older or newer app, a damaged one) is
 * ignored and the normal path paints.
 */
import type { Room, RoomEvent, User } from '../../shared/schemas.ts'
import { storedEntries } from '../log/entry.ts'
import { activeUser } from './rooms.ts'
import type { FerryDatabase, FirstScreenRecord, OutboxItem } from './schema.ts'
import type { Snapshot } from './snapshot.ts'

const KEY = 'me'

/**
 * Saves the record if `record.userId` is still the signed-in person (same transaction). Returns
 * whether it was written.
 */
export async function writeFirstScreen(db: FerryDatabase, record: FirstScreenRecord): Promise<boolean> {
  const tx = db.transaction(['session', 'firstScreen'], 'readwrite')
  const me = activeUser(await tx.objectStore('session').get('me'))
  const mine = me !== undefined && me.id === record.userId
  if (mine) void tx.objectStore('firstScreen').put(record, KEY)
  await tx.done
  return mine
}

/**
 * The first screen for the signed-in person from the record, or null when there is none, it is
 * someone else's, of another shape, or (with `roomId`) saved with another room open.
 */
export async function readFirstScreen(db: FerryDatabase, roomId: string | null): Promise<Snapshot | null> {
  const tx = db.transaction(['session', 'firstScreen'])
  const [session, stored] = await Promise.all([
    tx.objectStore('session').get('me'),
    tx.objectStore('firstScreen').get(KEY) as Promise<unknown>,
  ])
  const user = activeUser(session)
  const record = validFirstScreen(stored)
  if (!user || !record || record.userId !== user.id) return null
  if (roomId !== null && record.room?.roomId !== roomId) return null
  const room = roomId !== null && record.room ? record.room : null
  return {
    user: user as User,
    held: null,
    rooms: record.rooms,
    outbox: record.outbox,
    room: room && {
      entries: room.entries,
      // Only `hasOlder` is used to show the window; the cursor itself is read by the normal path.
      cursor: { roomId: room.roomId, lastSeq: room.entries.at(-1)?.seq ?? 0, ranges: [], hasOlder: room.hasOlder },
    },
  }
}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null
const isString = (x: unknown): x is string => typeof x === 'string'
const isCount = (x: unknown): x is number => Number.isInteger(x) && (x as number) >= 0
const isNullableString = (x: unknown) => x === null || isString(x)

function validRoom(x: unknown): x is Room {
  return (
    isObject(x) &&
    isString(x.id) &&
    isString(x.name) &&
    (x.visibility === 'public' || x.visibility === 'private') &&
    isString(x.ownerId) &&
    isString(x.createdAt) &&
    isCount(x.lastSeq) &&
    isNullableString(x.role) &&
    isCount(x.memberCount) &&
    isCount(x.unreadCount) &&
    isCount(x.lastReadSeq) &&
    (x.lastMessage === null || validLastMessage(x.lastMessage))
  )
}

function validLastMessage(x: unknown): boolean {
  return (
    isObject(x) &&
    isCount(x.seq) &&
    isString(x.authorId) &&
    isString(x.authorName) &&
    isString(x.body) &&
    isString(x.createdAt)
  )
}

function validEntry(x: unknown, roomId: string): x is RoomEvent {
  return (
    isObject(x) &&
    x.roomId === roomId &&
    isCount(x.seq) &&
    (x.seq as number) > 0 &&
    isString(x.kind) &&
    isNullableString(x.authorId) &&
    isNullableString(x.body) &&
    isString(x.createdAt)
  )
}

function validOutboxItem(x: unknown): x is OutboxItem {
  return (
    isObject(x) &&
    isString(x.clientId) &&
    isString(x.roomId) &&
    isString(x.body) &&
    typeof x.order === 'number' &&
    (x.state === 'waiting' || x.state === 'failed')
  )
}

/** The record if it has the shape this version writes (entries of the room, oldest first, no repeats); else null. */
export function validFirstScreen(x: unknown): FirstScreenRecord | null {
  if (!isObject(x) || x.v !== 1 || !isString(x.userId)) return null
  if (!Array.isArray(x.rooms) || !x.rooms.every(validRoom)) return null
  if (!Array.isArray(x.outbox) || !x.outbox.every(validOutboxItem)) return null
  const room = x.room
  if (room !== null) {
    if (!isObject(room) || !isString(room.roomId) || typeof room.hasOlder !== 'boolean') return null
    const entries = room.entries
    if (!Array.isArray(entries) || !entries.every((e) => validEntry(e, room.roomId as string))) return null
    const seqs = (entries as RoomEvent[]).map((e) => e.seq)
    if (seqs.some((seq, i) => i > 0 && seq <= (seqs[i - 1] as number))) return null
    // A message's snapshot and carried amendments are checked as when read from the store.
    const checked = storedEntries(entries)
    if (checked.length !== entries.length) return null
    return {
      ...(x as unknown as FirstScreenRecord),
      room: { ...(room as unknown as NonNullable<FirstScreenRecord['room']>), entries: checked },
    }
  }
  return x as unknown as FirstScreenRecord
}
