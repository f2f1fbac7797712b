/**
 * A cold start's slowest step is opening IndexedDB, and the page can only begin it once its
 * script has come through this worker and run. The worker sees the navigation first: it opens the
 * same database then and holds the connection a few seconds, so the browser has it open (and
 * upgraded) when the page asks. Nothing is read here; the page's own open is unchanged.
 */
import { openFerryDb } from '../db/open.ts'

/** Long enough for a slow phone to load and start the page; the page holds its own connection by then. */
export const WARM_HOLD_MS = 10_000

interface Closable {
  close(): void
}

let held: Promise<Closable | null> | null = null
let closeTimer: ReturnType<typeof setTimeout> | null = null

/**
 * Opens the database (or keeps the connection already warm) for `holdMs` more. A newer version's
 * upgrade closes it at once (openFerryDb's `blocking`). Never rejects.
 */
export function warmDatabase(
  open: () => Promise<Closable> = () => openFerryDb(),
  holdMs = WARM_HOLD_MS,
): Promise<void> {
  held ??= open().catch((error: unknown) => {
    // An older worker next to a database a newer page already upgraded: expected, the page opens its own.
    if (!(error instanceof DOMException && error.name === 'VersionError'))
      console.warn('[ferry sw] opening the database early failed; the page opens it itself', error)
    return null
  })
  const warm = held
  if (closeTimer !== null) clearTimeout(closeTimer)
  closeTimer = setTimeout(() => {
    closeTimer = null
    held = null
    void warm.then((db) => db?.close())
  }, holdMs)
  return warm.then(() => undefined)
}
