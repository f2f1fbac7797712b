/**
 * What the person hears of each room (issue 10): the level chosen on this
 * device, kept in IndexedDB (store `roomNotify`) with `pending` until the
 * server confirmed it, so a choice made offline survives reloads and is sent
 * later (last write wins). A room with no record is `all`. Records are read
 * as unknown data (an older or damaged one is ignored).
 */
import type { NotifyLevel, RoomNotifySetting } from '../../shared/push/contract.ts'
import type { FerryDatabase, RoomNotifyRecord } from '../db/schema.ts'

const LEVELS: readonly NotifyLevel[] = ['all', 'mentions', 'none']
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

export function isNotifyLevel(value: unknown): value is NotifyLevel {
  return typeof value === 'string' && (LEVELS as readonly string[]).includes(value)
}

export function roomNotifyOf(value: unknown): RoomNotifyRecord | null {
  if (typeof value !== 'object' || value === null) return null
  const { roomId, level, pending } = value as Record<string, unknown>
  if (typeof roomId !== 'string' || !UUID.test(roomId) || !isNotifyLevel(level) || typeof pending !== 'boolean')
    return null
  return { roomId, level, pending }
}

/** Every valid record. */
export async function readRoomLevels(db: FerryDatabase): Promise<RoomNotifyRecord[]> {
  const rows: unknown[] = await db.getAll('roomNotify')
  return rows.map(roomNotifyOf).filter((r): r is RoomNotifyRecord => r !== null)
}

/** The person chose a level here: applied at once, to be sent. */
export async function chooseRoomLevel(db: FerryDatabase, roomId: string, level: NotifyLevel): Promise<void> {
  await db.put('roomNotify', { roomId, level, pending: true })
}

/**
 * The server stored `level` for the room: no longer pending, unless the person chose another
 * level since (that one is still to be sent: the last write wins).
 */
export async function confirmRoomLevel(db: FerryDatabase, roomId: string, level: NotifyLevel): Promise<void> {
  const tx = db.transaction('roomNotify', 'readwrite')
  const held = roomNotifyOf(await tx.store.get(roomId))
  if (!held || held.level === level) {
    if (level === 'all') tx.store.delete(roomId)
    else tx.store.put({ roomId, level, pending: false })
  }
  await tx.done
}

/** The server will never take it (not a member, no such room): the choice is dropped. */
export async function dropRoomLevel(db: FerryDatabase, roomId: string): Promise<void> {
  await db.delete('roomNotify', roomId)
}

/**
 * `GET /api/notifications` (the rooms not at `all`): the device takes the server's levels, except
 * where a choice made here is still waiting to be sent (it is newer).
 */
export async function mergeServerLevels(db: FerryDatabase, server: readonly RoomNotifySetting[]): Promise<void> {
  const tx = db.transaction('roomNotify', 'readwrite')
  const held = new Map<string, RoomNotifyRecord>()
  for (const row of await tx.store.getAll()) {
    const record = roomNotifyOf(row)
    if (record) held.set(record.roomId, record)
    // A damaged row is dropped: the server's value (or the default) replaces it.
    else if (typeof (row as { roomId?: unknown })?.roomId === 'string')
      tx.store.delete((row as { roomId: string }).roomId)
  }
  const listed = new Set<string>()
  for (const { roomId, level } of server) {
    listed.add(roomId)
    if (held.get(roomId)?.pending) continue
    tx.store.put({ roomId, level, pending: false })
  }
  for (const record of held.values()) if (!record.pending && !listed.has(record.roomId)) tx.store.delete(record.roomId)
  await tx.done
}
