/**
 * The `focus` frame (issue 10, docs/PUSH.md): the room the person is looking
 * at, so the server sends no push for it. Any tab may be the one on screen,
 * but only the leader's engine has the socket: every tab reports its own
 * focus on the bus (state/focus.ts), and this tracker, in the leader, sends
 * the socket the room of the tab that reported one most recently (several
 * windows may be visible at once; one frame names one room), or null when no
 * tab shows a room. Only changes go out, and again on every new socket.
 */
import type { FocusFrame } from '../../shared/push/contract.ts'

/** What the socket holds is not known (a control frame was refused, maybe this one): say it again. */
const UNKNOWN = Symbol('unknown')

/** A refused frame is said again after the server's hint, and never sooner than this. */
export const FOCUS_RETRY_FLOOR_MS = 1_000

export class FocusTracker {
  /** Each tab's focus, with when it was reported (the order of reports). */
  private readonly tabs = new Map<string, { roomId: string | null; order: number }>()
  private order = 0
  /** What this socket was told last (undefined: nothing yet, the server's default is "not focused"). */
  private sent: string | null | undefined | typeof UNKNOWN = undefined
  private retry: ReturnType<typeof setTimeout> | null = null

  constructor(
    private readonly send: (frame: FocusFrame) => boolean,
    private readonly schedule: (fn: () => void, ms: number) => ReturnType<typeof setTimeout> = setTimeout,
  ) {}

  /** A tab's focus changed (null: hidden, closed, or no room open). */
  report(tabId: string, roomId: string | null): void {
    this.order += 1
    if (roomId === null) this.tabs.delete(tabId)
    else this.tabs.set(tabId, { roomId, order: this.order })
    this.flush()
  }

  /** The room the socket should name now. */
  wanted(): string | null {
    let best: { roomId: string | null; order: number } | null = null
    for (const tab of this.tabs.values()) if (!best || tab.order > best.order) best = tab
    return best?.roomId ?? null
  }

  /** A greeted socket: it knows nothing of earlier ones. */
  newSocket(): void {
    this.sent = undefined
    this.flush()
  }

  /** The socket is gone: the next one is told afresh. */
  lostSocket(): void {
    this.sent = undefined
  }

  /**
   * The server refused a control frame (`rate_limited` names no frame): if one of ours was in it,
   * the socket may not know the focus, so it is said again after the hint.
   */
  refused(retryAfterMs: number): void {
    if (this.sent === undefined || this.retry !== null) return
    this.sent = UNKNOWN
    this.retry = this.schedule(
      () => {
        this.retry = null
        this.flush()
      },
      Math.max(FOCUS_RETRY_FLOOR_MS, retryAfterMs),
    )
  }

  private flush(): void {
    const roomId = this.wanted()
    // A fresh socket is "not focused" already: a null need not be said.
    if (this.sent !== UNKNOWN && (roomId === this.sent || (this.sent === undefined && roomId === null))) return
    if (this.send({ type: 'focus', roomId })) this.sent = roomId
  }
}
