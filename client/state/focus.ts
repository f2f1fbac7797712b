/**
 * This tab's focus (issue 10): the open room while the page is visible, else
 * null, told to the leader's engine over the bus (sync/focus.ts sends the
 * `focus` frame) on every change, when the page is left, and when a new
 * leader asks. The server sends no push for a room the person is looking at.
 */
import { effect, signal } from '@preact/signals'
import { onTabMessage, publish } from '../tabs/bus.ts'
import { route, user } from './store.ts'

const TAB_ID = typeof crypto !== 'undefined' && 'randomUUID' in crypto ? crypto.randomUUID() : String(Math.random())

const visible = signal(typeof document === 'undefined' || document.visibilityState === 'visible')

/** The room this tab shows to the person now, or null. */
export function tabFocus(): string | null {
  const current = route.value
  return user.value && visible.value && current.name === 'room' ? current.roomId : null
}

/** Starts reporting; returns the function that stops it (and reports null). */
export function startFocusReports(): () => void {
  let told: string | null | undefined
  const tell = (roomId: string | null) => {
    told = roomId
    publish({ type: 'focus', tabId: TAB_ID, roomId })
  }
  const onVisibility = () => {
    visible.value = document.visibilityState === 'visible'
  }
  const onPageHide = () => tell(null)
  // Back from the back-forward cache: said again (pagehide said null).
  const onPageShow = () => tell(tabFocus())
  document.addEventListener('visibilitychange', onVisibility)
  window.addEventListener('pagehide', onPageHide)
  window.addEventListener('pageshow', onPageShow)
  const stopEffect = effect(() => {
    const roomId = tabFocus()
    if (roomId !== told) tell(roomId)
  })
  const stopAsk = onTabMessage((message) => {
    if (message.type === 'focus-ask' && told !== undefined) tell(told)
  })
  return () => {
    stopEffect()
    stopAsk()
    document.removeEventListener('visibilitychange', onVisibility)
    window.removeEventListener('pagehide', onPageHide)
    window.removeEventListener('pageshow', onPageShow)
    tell(null)
  }
}
