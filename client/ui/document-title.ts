/**
 * The tab's (and the task switcher's) title: the unread total first, as messengers do
 * ("(3) Ferry"), and the open room's name, so a person sees from another tab or app that
 * something arrived and where they are. Only rooms the person belongs to count.
 */
import { effect } from '@preact/signals'
import type { Room } from '../../shared/schemas.ts'
import type { Route } from '../state/store.ts'
import { rooms, route, user } from '../state/store.ts'

export const APP_NAME = 'Ferry'

export function documentTitle(list: readonly Room[], at: Route, signedIn: boolean): string {
  if (!signedIn) return APP_NAME
  const unread = list.reduce((sum, r) => sum + (r.role !== null && r.unreadCount > 0 ? r.unreadCount : 0), 0)
  const open = at.name === 'room' ? list.find((r) => r.id === at.roomId) : undefined
  const place = open ? `${open.name} · ${APP_NAME}` : APP_NAME
  return unread > 0 ? `(${unread}) ${place}` : place
}

/** Keeps document.title in step with the state; returns the disposer. */
export function followDocumentTitle(): () => void {
  return effect(() => {
    document.title = documentTitle(rooms.value, route.value, Boolean(user.value))
  })
}
