/**
 * Per-room notification levels on the page (issue 10): the room menu's
 * choice applies at once (the room row's muted icon, IndexedDB), and is sent
 * with `PUT /api/rooms/:roomId/notifications` when online; offline, or on a
 * transient failure, it waits in IndexedDB (`pending`) and is sent on the next
 * start and every reconnect. The server's levels are fetched at start. Actions
 * never reject.
 */
import { signal } from '@preact/signals'
import type { NotifyLevel, NotifySettingsResponse, RoomNotifySetting } from '../../shared/push/contract.ts'
import { ApiError, api, isTransient } from '../api/http.ts'
import { getDb } from '../db/page.ts'
import {
  chooseRoomLevel,
  confirmRoomLevel,
  dropRoomLevel,
  mergeServerLevels,
  readRoomLevels,
} from '../push/room-levels.ts'
import { onTabMessage, publish } from '../tabs/bus.ts'
import { warn } from './notify.ts'

/** Rooms whose level is not `all`, as chosen here or last heard from the server. */
export const roomLevels = signal<Readonly<Record<string, NotifyLevel>>>({})

export function levelOf(roomId: string): NotifyLevel {
  return roomLevels.value[roomId] ?? 'all'
}

async function reload(): Promise<void> {
  const records = await readRoomLevels(await getDb())
  const next = Object.fromEntries(records.filter((r) => r.level !== 'all').map((r) => [r.roomId, r.level]))
  // Each sync announces a change; an equal object would still re-render every room row.
  if (!sameLevels(roomLevels.value, next)) roomLevels.value = next
}

function sameLevels(a: Readonly<Record<string, NotifyLevel>>, b: Readonly<Record<string, NotifyLevel>>): boolean {
  const keys = Object.keys(a)
  return keys.length === Object.keys(b).length && keys.every((roomId) => a[roomId] === b[roomId])
}

/**
 * Reads the levels the device holds (at start, when another tab changed them, after a logout),
 * and sends what waits whenever the socket is greeted again (a reconnect: the network is back).
 */
export function startRoomLevels(): () => void {
  const read = () => void reload().catch(warn('reading the rooms’ notification levels'))
  read()
  let open = false
  return onTabMessage((message) => {
    if (message.type === 'room-levels-changed' || message.type === 'signed-out' || message.type === 'session-ended')
      read()
    if (message.type === 'status') {
      const now = message.status.socket === 'open'
      if (now && !open) void sendPendingLevels()
      open = now
    }
  })
}

/** The room menu's choice. */
export async function setRoomLevel(roomId: string, level: NotifyLevel): Promise<void> {
  try {
    await chooseRoomLevel(await getDb(), roomId, level)
    publish({ type: 'room-levels-changed' })
  } catch (error) {
    warn('saving the room’s notification level')(error)
    return
  }
  await sendPendingLevels()
}

let sending: Promise<void> | null = null

/** Sends every choice the server has not confirmed, one at a time. Never rejects. */
export function sendPendingLevels(): Promise<void> {
  sending ??= sendAll().finally(() => {
    sending = null
  })
  return sending
}

async function sendAll(): Promise<void> {
  try {
    const db = await getDb()
    for (const record of await readRoomLevels(db)) {
      if (!record.pending) continue
      try {
        const answer = await api<RoomNotifySetting>('PUT', `/api/rooms/${record.roomId}/notifications`, {
          level: record.level,
        })
        await confirmRoomLevel(db, answer.roomId, answer.level)
      } catch (error) {
        // Offline or busy: it waits in IndexedDB for the next reconnect.
        if (isTransient(error)) return
        if (error instanceof ApiError && (error.code === 'not_member' || error.code === 'not_found')) {
          await dropRoomLevel(db, record.roomId)
        } else warn(`sending the notification level of room ${record.roomId}`)(error)
      }
    }
  } catch (error) {
    warn('sending the rooms’ notification levels')(error)
  } finally {
    publish({ type: 'room-levels-changed' })
  }
}

/** At start once signed in, and on every reconnect: what waits goes out, then the server's levels come in. */
export async function syncRoomLevels(): Promise<void> {
  await sendPendingLevels()
  try {
    const answer = await api<NotifySettingsResponse>('GET', '/api/notifications')
    await mergeServerLevels(await getDb(), answer.rooms)
    publish({ type: 'room-levels-changed' })
  } catch (error) {
    if (!isTransient(error)) warn('loading the rooms’ notification levels')(error)
  }
}
