/**
 * Rendering less in a first paint (docs/CLIENT.md, "Cold start"): a room opens with only the rows
 * that fit the screen, and the rest of the page follows one frame later; a phone builds the room
 * list it hides behind an open room after that frame too.
 */
import { useLayoutEffect, useState } from 'preact/hooks'
import { afterNextPaint } from '../state/after-paint.ts'

/**
 * The smallest a message row can be (styles.css): a one-line bubble (6 px padding above and below,
 * one 22.4 px line, 1 px borders) and the list's 4 px gap. Rows are never shorter, so this many
 * per pixel of height always fills the screen.
 */
export const MIN_ROW_PX = 40

/** Where the room list sits beside the room instead of behind it (styles.css, the two-column layout). */
export const WIDE_LAYOUT = '(min-width: 800px)'

/**
 * The first entry a list's first render shows: enough of the newest to fill `heightPx`, and when
 * the room opens further up (`landAt`: the entry under the unread divider, or a notification's
 * message; -1 for none), from the entry above that one (the landing keeps a line of it in view),
 * so the landing finds its row.
 */
export function firstShownIndex(count: number, heightPx: number, landAt: number): number {
  let start = Math.max(0, count - Math.ceil(heightPx / MIN_ROW_PX))
  if (landAt >= 0) start = Math.min(start, Math.max(0, landAt - 1))
  return start
}

/** Whether the layout is the phone's one, where an open room covers the room list. */
export function narrowLayout(): boolean {
  return typeof matchMedia === 'function' && !matchMedia(WIDE_LAYOUT).matches
}

/**
 * False until a frame has been painted since `ready` first held, then true for good: what a
 * first paint can do without waits for that frame (state/after-paint.ts).
 */
export function usePaintedSince(ready: boolean): boolean {
  const [painted, setPainted] = useState(false)
  // A layout effect runs as the render commits, so the wait is for the very frame that shows it.
  useLayoutEffect(() => {
    if (painted || !ready) return
    let live = true
    void afterNextPaint().then(() => {
      if (live) setPainted(true)
    })
    return () => {
      live = false
    }
  }, [ready, painted])
  return painted
}
