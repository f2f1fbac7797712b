/**
 * The app icon's badge from the page (issue 10): the unread total across the
 * person's rooms, set on every change of the counts and cleared at 0 (a
 * logout empties the list, so it clears too). The service worker sets it when
 * a push arrives with the page closed (sw/push.ts).
 */
import { effect } from '@preact/signals'
import { type BadgeNavigator, showBadge } from '../push/badge.ts'
import { unreadTotal } from '../push/room-row.ts'
import { rooms } from './store.ts'

/** Returns the function that stops following the counts. */
export function startBadge(nav: BadgeNavigator = navigator as BadgeNavigator): () => void {
  let shown: number | undefined
  return effect(() => {
    const total = unreadTotal(rooms.value)
    if (total === shown) return
    // The first value is set too: the worker may have left another number on the icon.
    shown = total
    void showBadge(nav, total)
  })
}
