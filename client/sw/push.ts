/**
 * The `push` event (issue 10): validate, store, badge, show. Never throws:
 * a bad payload is ignored, a failed store still shows the notification (the
 * page fetches the message when opened), a failed show is logged.
 */
import type { RoomEvent } from '../../shared/schemas.ts'
import type { FerryDatabase } from '../db/schema.ts'
import { type BadgeNavigator, showBadge } from '../push/badge.ts'
import { parsePushPayload } from '../push/payload.ts'
import type { TabMessage } from '../tabs/messages.ts'
import { notificationOf } from './notification.ts'
import { type StoredPush, storePush } from './push-store.ts'

/** A window of the app as the worker sees it (a WindowClient's fields). */
export interface AppWindow {
  url: string
  visibilityState: DocumentVisibilityState
}

export interface PushDeps {
  openDb(): Promise<FerryDatabase>
  /** The entry from the server when the push did not carry it (null: not now). */
  fetchEntry(roomId: string, seq: number): Promise<RoomEvent | null>
  online(): boolean
  windows(): Promise<readonly AppWindow[]>
  show(title: string, options: NotificationOptions): Promise<void>
  badge: BadgeNavigator
  /** To the open tabs (the BroadcastChannel bus): what was stored, so a list on screen shows it. */
  tell(message: TabMessage): void
}

/** A visible window showing that room: the person is reading it, no notification. */
export function roomOnScreen(windows: readonly AppWindow[], roomId: string): boolean {
  return windows.some((w) => {
    if (w.visibilityState !== 'visible') return false
    try {
      return new URL(w.url).pathname.toLowerCase() === `/rooms/${roomId}`
    } catch {
      return false
    }
  })
}

export type PushOutcome = 'ignored' | 'signed-out' | 'on-screen' | 'shown'

export async function handlePush(text: string | null, deps: PushDeps): Promise<PushOutcome> {
  const push = parsePushPayload(text)
  if (!push) {
    console.warn('[ferry sw] a push that is not a Ferry notification was ignored')
    return 'ignored'
  }
  const entry = push.event ?? (deps.online() ? await deps.fetchEntry(push.roomId, push.seq) : null)
  let stored: StoredPush | null | undefined
  try {
    const db = await deps.openDb()
    try {
      stored = await storePush(db, push, entry)
    } finally {
      db.close()
    }
  } catch (error) {
    // Storage full or broken: the person still hears of the message; the page loads it when opened.
    console.warn('[ferry sw] storing a pushed message failed', error)
  }
  if (stored === null) return 'signed-out'
  if (stored) {
    if (stored.fresh.length > 0) deps.tell({ type: 'events', roomId: push.roomId, events: stored.fresh })
    if (stored.roomChanged) deps.tell({ type: 'rooms-changed' })
    await showBadge(deps.badge, stored.total)
  }
  if (roomOnScreen(await deps.windows(), push.roomId)) return 'on-screen'
  const { title, options } = notificationOf(push)
  try {
    await deps.show(title, options)
  } catch (error) {
    // No permission any more (revoked in the browser's settings): nothing to show it with.
    console.warn('[ferry sw] showing a notification failed', error)
  }
  return 'shown'
}
