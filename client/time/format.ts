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
let calendar: Intl.DateTimeFormat | null = null
const dayNames = new Map<boolean, Intl.DateTimeFormat>()
let weekdays: Intl.DateTimeFormat | null = null
let shortDates = new Map<boolean, Intl.DateTimeFormat>()

/** For tests: pin the locale and time zone (or pass {} to return to the browser's). */
export function setTimeSettings(next: TimeSettings): void {
  settings = next
  cached = null
  calendar = null
  dayNames.clear()
  weekdays = null
  shortDates = new Map()
}

export function formatTime(iso: string): string {
  // timeStyle 'short' is the locale's own pattern (hour: '2-digit' forced "05:14 PM" on en-US).
  cached ??= new Intl.DateTimeFormat(settings.locale, { timeStyle: 'short', timeZone: settings.timeZone })
  return cached.format(new Date(iso))
}

/**
 * The calendar day of an instant in the reader's time zone (the pinned one in tests), as
 * "YYYY-MM-DD": what groups messages under one day separator. Date's own getters would use
 * the machine's zone even when a test pins another.
 */
export function dayKey(iso: string | Date): string {
  calendar ??= new Intl.DateTimeFormat('en-CA', {
    timeZone: settings.timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  })
  const part = (parts: Intl.DateTimeFormatPart[], type: string) => parts.find((p) => p.type === type)?.value
  const parts = calendar.formatToParts(new Date(iso))
  return `${part(parts, 'year')}-${part(parts, 'month')}-${part(parts, 'day')}`
}

/** A day separator's label: "Today", "Yesterday", else the locale's short date (the year only when not this one). */
export function dayLabel(iso: string, now: Date): string {
  const day = dayKey(iso)
  const today = dayKey(now)
  const daysApart = (Date.parse(`${today}T00:00Z`) - Date.parse(`${day}T00:00Z`)) / 86_400_000
  if (daysApart === 0) return 'Today'
  if (daysApart === 1) return 'Yesterday'
  const sameYear = day.slice(0, 4) === today.slice(0, 4)
  let format = dayNames.get(sameYear)
  if (!format) {
    format = new Intl.DateTimeFormat(settings.locale, {
      timeZone: settings.timeZone,
      weekday: 'short',
      day: 'numeric',
      month: 'short',
      year: sameYear ? undefined : 'numeric',
    })
    dayNames.set(sameYear, format)
  }
  return format.format(new Date(iso))
}

/**
 * When a room was last active, as a messenger's room list says it: "now" (under a minute),
 * "5 min" (under an hour), the clock time later the same day, "Yesterday", the weekday
 * ("Tue") within the last week, else the date ("12 Mar", with the year when not this one).
 * `now` is the injected clock's (time/clock.ts), so the label changes as the list re-renders.
 */
export function relativeTime(iso: string, now: number): string {
  const at = Date.parse(iso)
  const minutes = Math.floor((now - at) / 60_000)
  // A little ahead (another device's clock) still reads "now".
  if (minutes < 1) return 'now'
  if (minutes < 60) return `${minutes} min`
  const day = dayKey(iso)
  const today = dayKey(new Date(now))
  const daysApart = Math.round((Date.parse(`${today}T00:00Z`) - Date.parse(`${day}T00:00Z`)) / 86_400_000)
  if (daysApart === 0) return formatTime(iso)
  if (daysApart === 1) return 'Yesterday'
  if (daysApart < 7) {
    weekdays ??= new Intl.DateTimeFormat(settings.locale, { timeZone: settings.timeZone, weekday: 'short' })
    return weekdays.format(at)
  }
  const sameYear = day.slice(0, 4) === today.slice(0, 4)
  let format = shortDates.get(sameYear)
  if (!format) {
    format = new Intl.DateTimeFormat(settings.locale, {
      timeZone: settings.timeZone,
      day: 'numeric',
      month: 'short',
      year: sameYear ? undefined : 'numeric',
    })
    shortDates.set(sameYear, format)
  }
  return format.format(at)
}
