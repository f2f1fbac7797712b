/**
 * Clock times in the reader's own format (Intl): "5:14 PM" in en-US, "17:14"
 * in en-GB (and "02:05" there), never a leading zero the locale does not use. The locale and the
 * time zone are the browser's unless a test pins them, so no test depends on
 * where or when it runs.
 */
export interface TimeSettings {
  locale?: string
  timeZone?: string
}

let settings: TimeSettings = {}
let cached: Intl.DateTimeFormat | null = null

/** For tests: pin the locale and time zone (or pass {} to return to the browser's). */
export function setTimeSettings(next: TimeSettings): void {
  settings = next
  cached = null
}

export function formatTime(iso: string): string {
  // timeStyle 'short' is the locale's own pattern (hour: '2-digit' forced "05:14 PM" on en-US).
  cached ??= new Intl.DateTimeFormat(settings.locale, { timeStyle: 'short', timeZone: settings.timeZone })
  return cached.format(new Date(iso))
}
