/**
 * `notificationclick`: the room at the message, in a Ferry window that is
 * already open when there is one (it is told by postMessage and opens the
 * room itself, offline too, without a reload), else a new window at the
 * message's address (client/push/links.ts), which the page opens at start.
 */
import { messageLink, type NotificationTarget, notificationTargetOf, type OpenMessageRequest } from '../push/links.ts'

export interface ClickWindow {
  id: string
  url: string
  focused: boolean
  visibilityState: DocumentVisibilityState
}

export type ClickAction =
  | { kind: 'post'; windowId: string; message: OpenMessageRequest }
  | { kind: 'open'; url: string }

/**
 * Which window takes the click: one already showing that room, else the
 * focused one, else a visible one, else any; none → open a new one. Only the
 * app's own windows (same origin) count.
 */
export function clickAction(target: NotificationTarget, windows: readonly ClickWindow[], origin: string): ClickAction {
  const ours = windows.filter((w) => sameOrigin(w.url, origin))
  const inRoom = (w: ClickWindow) => new URL(w.url).pathname.toLowerCase() === `/rooms/${target.roomId}`
  const chosen =
    ours.find(inRoom) ?? ours.find((w) => w.focused) ?? ours.find((w) => w.visibilityState === 'visible') ?? ours[0]
  if (!chosen) return { kind: 'open', url: messageLink(target.roomId, target.seq) }
  return { kind: 'post', windowId: chosen.id, message: { type: 'open-message', ...target } }
}

function sameOrigin(url: string, origin: string): boolean {
  try {
    return new URL(url).origin === origin
  } catch {
    return false
  }
}

export interface ClickDeps {
  windows(): Promise<readonly (ClickWindow & { focus(): Promise<unknown>; postMessage(message: unknown): void })[]>
  openWindow(url: string): Promise<unknown>
  origin: string
}

/** Never rejects: a click on a damaged notification (its data not ours) opens the app's start. */
export async function handleNotificationClick(data: unknown, deps: ClickDeps): Promise<void> {
  const target = notificationTargetOf(data)
  try {
    if (!target) {
      await deps.openWindow('/')
      return
    }
    const windows = await deps.windows()
    const action = clickAction(target, windows, deps.origin)
    if (action.kind === 'open') {
      await deps.openWindow(action.url)
      return
    }
    const window = windows.find((w) => w.id === action.windowId)!
    window.postMessage(action.message)
    await window.focus()
  } catch (error) {
    console.warn('[ferry sw] opening the notification’s message failed', error)
  }
}
