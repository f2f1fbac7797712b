import { afterEach, describe, expect, it } from 'vitest'
import { formatTime, setTimeSettings } from '../../client/time/format.ts'

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
