import { afterEach, describe, expect, it } from 'vitest'
import { dayKey, dayLabel, formatTime, setTimeSettings } from '../../client/time/format.ts'

// Pinned locale and zone: the same answers wherever and whenever this runs.
afterEach(() => setTimeSettings({}))

const FIVE_PAST_FIVE_PM = '2026-11-23T17:05:00.000Z'
const FIVE_PAST_NINE_AM = '2026-11-23T09:05:00.000Z'

describe('message times in the reader’s format (issue 8 item 5)', () => {
  it('en-US: 12-hour clock, no forced leading zero', () => {
    setTimeSettings({ locale: 'en-US', timeZone: 'UTC' })
    expect(formatTime(FIVE_PAST_FIVE_PM)).toMatch(/^5:05\sPM$/)
    expect(formatTime(FIVE_PAST_NINE_AM)).toMatch(/^9:05\sAM$/)
  })

  it('en-GB: the 24-hour clock that locale uses', () => {
    setTimeSettings({ locale: 'en-GB', timeZone: 'UTC' })
    expect(formatTime(FIVE_PAST_FIVE_PM)).toBe('17:05')
  })

  it('the time zone is the reader’s (here pinned), not the server’s', () => {
    setTimeSettings({ locale: 'en-GB', timeZone: 'Asia/Tokyo' })
    expect(formatTime(FIVE_PAST_FIVE_PM)).toBe('02:05')
  })
})

describe('day separators follow the reader’s time zone, not the machine’s', () => {
  // 12:00 UTC on 23 Nov is already 01:00 on 24 Nov in Auckland (UTC+13 in November).
  const NOON_UTC_23RD = '2026-11-23T12:00:00.000Z'
  const NOW = new Date('2026-11-24T00:00:00.000Z') // 13:00 on the 24th in Auckland

  it('Auckland: a message of 01:00 today is under "Today"; in UTC the same instant was yesterday', () => {
    setTimeSettings({ locale: 'en-GB', timeZone: 'Pacific/Auckland' })
    expect(dayKey(NOON_UTC_23RD)).toBe('2026-11-24')
    expect(dayLabel(NOON_UTC_23RD, NOW)).toBe('Today')
    setTimeSettings({ locale: 'en-GB', timeZone: 'UTC' })
    expect(dayKey(NOON_UTC_23RD)).toBe('2026-11-23')
    expect(dayLabel(NOON_UTC_23RD, NOW)).toBe('Yesterday')
  })

  it('older days get the locale’s short date, with the year only when it is not this one', () => {
    setTimeSettings({ locale: 'en-GB', timeZone: 'UTC' })
    expect(dayLabel('2026-11-17T08:00:00.000Z', NOW)).toBe('Tue 17 Nov')
    expect(dayLabel('2025-11-17T08:00:00.000Z', NOW)).toBe('Mon, 17 Nov 2025')
    setTimeSettings({ locale: 'en-US', timeZone: 'UTC' })
    expect(dayLabel('2026-11-17T08:00:00.000Z', NOW)).toBe('Tue, Nov 17')
  })
})
