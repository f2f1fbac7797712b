import { loadThrough } from '../state/room-view.ts'

/** Moves the eyes and the focus to the row `selector` names, when it is in the list. */
export function focusRow(selector: string): boolean {
  const row = document.querySelector<HTMLElement>(selector)
  if (!row) return false
  row.scrollIntoView?.({ block: 'center' })
  if (!row.hasAttribute('tabindex')) row.tabIndex = -1
  row.focus({ preventScroll: true })
  return true
}

/**
 * A reply's quote was tapped (sent and waiting rows alike): the original is shown; when it is
 * older than the window, older pages come in first (loadThrough: cache, else server), and when it
 * cannot be reached `say` tells the person. `show` finds and focuses the original's row.
 */
export function goToOriginal(
  roomId: string,
  seq: number,
  show: () => boolean,
  say: (text: string | null) => void,
): void {
  if (show()) return
  say('Loading the original…')
  void loadThrough(roomId, seq).then((found) =>
    requestAnimationFrame(() => {
      if (found && show()) say(null)
      else say('The original could not be loaded: connect, or scroll up to look for it.')
    }),
  )
}
