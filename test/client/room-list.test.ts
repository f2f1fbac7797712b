import { afterEach, describe, expect, it } from 'vitest'
import type { OutboxItem } from '../../client/db/schema.ts'
import { draftTexts } from '../../client/state/feed.ts'
import { roomRows } from '../../client/state/room-list.ts'
import { relativeTime, setTimeSettings } from '../../client/time/format.ts'
import { AVATAR_COLOURS, avatarColour, initials } from '../../client/ui/avatar.ts'
import { ALICE, BOB, FIXTURE_TIME, message, ROOM_A, ROOM_B, roomFixture } from './support.ts'

afterEach(() => setTimeSettings({}))

const at = (msAgo: number) => new Date(FIXTURE_TIME - msAgo).toISOString()
const MIN = 60_000
const HOUR = 60 * MIN
const DAY = 24 * HOUR

describe('relative times in the room list (pinned clock, zone and locale)', () => {
  // FIXTURE_TIME is Monday 23 November 2026, 12:00 UTC.
  it('now, minutes, the clock time today, Yesterday, the weekday, then the date', () => {
    setTimeSettings({ locale: 'en-GB', timeZone: 'UTC' })
    expect(relativeTime(at(0), FIXTURE_TIME)).toBe('now')
    expect(relativeTime(at(59_000), FIXTURE_TIME)).toBe('now')
    expect(relativeTime(at(-5_000), FIXTURE_TIME)).toBe('now') // another device's clock a little ahead
    expect(relativeTime(at(5 * MIN), FIXTURE_TIME)).toBe('5 min')
    expect(relativeTime(at(59 * MIN), FIXTURE_TIME)).toBe('59 min')
    expect(relativeTime(at(2 * HOUR), FIXTURE_TIME)).toBe('10:00')
    expect(relativeTime(at(13 * HOUR), FIXTURE_TIME)).toBe('Yesterday') // Sunday 23:00
    expect(relativeTime(at(6 * DAY), FIXTURE_TIME)).toBe('Tue')
    expect(relativeTime(at(8 * DAY), FIXTURE_TIME)).toBe('15 Nov')
    expect(relativeTime(at(400 * DAY), FIXTURE_TIME)).toBe('19 Oct 2025')
  })

  it('moves on with the clock: the same message reads "now", then "5 min", then the time', () => {
    setTimeSettings({ locale: 'en-US', timeZone: 'UTC' })
    const sent = at(0)
    expect(relativeTime(sent, FIXTURE_TIME)).toBe('now')
    expect(relativeTime(sent, FIXTURE_TIME + 5 * MIN)).toBe('5 min')
    expect(relativeTime(sent, FIXTURE_TIME + 61 * MIN)).toMatch(/^12:00\sPM$/)
  })

  it('"today" and "yesterday" are the reader’s days: Auckland is already on Tuesday', () => {
    // 10:00 UTC Monday is 23:00 Monday in Auckland, where it is 01:00 Tuesday now.
    setTimeSettings({ locale: 'en-GB', timeZone: 'Pacific/Auckland' })
    expect(relativeTime(at(2 * HOUR), FIXTURE_TIME)).toBe('Yesterday')
    expect(relativeTime(at(45 * MIN), FIXTURE_TIME)).toBe('45 min')
    setTimeSettings({ locale: 'en-GB', timeZone: 'UTC' })
    expect(relativeTime(at(2 * HOUR), FIXTURE_TIME)).toBe('10:00')
  })

  it('weekdays and dates in the reader’s language', () => {
    setTimeSettings({ locale: 'de-DE', timeZone: 'UTC' })
    expect(relativeTime(at(6 * DAY), FIXTURE_TIME)).toMatch(/^Di\.?$/)
    expect(relativeTime(at(8 * DAY), FIXTURE_TIME)).toMatch(/^15\. Nov\.?$/)
  })
})

describe('room avatars', () => {
  it('initials: two words, one word, emoji, non-Latin scripts, symbols, nothing', () => {
    expect(initials('Harbour Crew')).toBe('HC')
    expect(initials('harbour crew night shift')).toBe('HC')
    expect(initials('depot')).toBe('D')
    expect(initials('  spaced   out  ')).toBe('SO')
    expect(initials('🚢 Ferry fans')).toBe('🚢')
    expect(initials('👩‍👩‍👧 family')).toBe('👩‍👩‍👧')
    expect(initials('Ferry 🚢')).toBe('F')
    expect(initials('ёлка и друзья')).toBe('ЁИ')
    expect(initials('東京 チャット')).toBe('東チ')
    expect(initials('مرحبا بكم')).toBe('مب')
    expect(initials('éclair club')).toBe('ÉC')
    expect(initials('#general')).toBe('#')
    expect(initials('## dev-ops')).toBe('DO')
    expect(initials('!!!')).toBe('#')
  })

  it('the colour is the same for the same room, from a fixed palette, and differs between rooms', () => {
    expect(avatarColour(ROOM_A)).toBe(avatarColour(ROOM_A))
    const colours = new Set(
      Array.from({ length: 40 }, (_, i) => avatarColour(`00000000-0000-4000-8000-${String(i).padStart(12, '0')}`)),
    )
    expect(colours.size).toBeGreaterThan(5)
    for (const colour of colours) expect(AVATAR_COLOURS).toContain(colour)
  })

  it('every colour carries white initials at WCAG AA (4.5:1)', () => {
    const luminance = (hex: string) => {
      const [r, g, b] = [1, 3, 5].map((i) => {
        const c = Number.parseInt(hex.slice(i, i + 2), 16) / 255
        return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4
      })
      return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!
    }
    for (const colour of AVATAR_COLOURS) expect(1.05 / (luminance(colour) + 0.05)).toBeGreaterThanOrEqual(4.5)
  })
})

function waiting(roomId: string, body: string, createdAt: string, order = 1): OutboxItem {
  return {
    clientId: `00000000-0000-4000-8000-${String(order).padStart(12, '0')}`,
    roomId,
    body,
    order,
    createdAt,
    state: 'waiting',
    error: null,
    attempts: 0,
  }
}

describe('the room list’s rows', () => {
  const ROOM_C = '00000000-0000-4000-8000-00000000000c'
  const quiet = roomFixture(ROOM_A, { name: 'Quiet', createdAt: at(10 * DAY) })
  const busy = roomFixture(ROOM_B, {
    name: 'Busy',
    createdAt: at(20 * DAY),
    lastMessage: {
      ...message(ROOM_B, 2, crypto.randomUUID(), 'see you\nat  six', BOB),
      createdAt: at(HOUR),
      authorName: 'bob',
    },
  })
  const unjoined = roomFixture(ROOM_C, { name: 'Elsewhere', role: null, visibility: 'public', createdAt: at(0) })

  it('only joined rooms, most recent activity first (a room without messages counts from its creation)', () => {
    const rows = roomRows([quiet, unjoined, busy], [], {}, ALICE, null)
    expect(rows.map((r) => r.room.name)).toEqual(['Busy', 'Quiet'])
    expect(rows[0]).toMatchObject({ preview: 'bob: see you at six', lastAt: at(HOUR), draft: false })
    expect(rows[1]).toMatchObject({ preview: 'No messages yet', lastAt: null })
  })

  it('own messages read "You:", and a waiting one is the last message and moves its room up', () => {
    const mine = { ...busy, lastMessage: { ...busy.lastMessage!, authorId: ALICE, authorName: 'alice' } }
    expect(roomRows([mine], [], {}, ALICE, null)[0]!.preview).toBe('You: see you at six')
    const rows = roomRows([quiet, busy], [waiting(ROOM_A, 'on my way', at(MIN))], {}, ALICE, null)
    expect(rows.map((r) => [r.room.name, r.preview])).toEqual([
      ['Quiet', 'You: on my way'],
      ['Busy', 'bob: see you at six'],
    ])
    expect(rows[0]!.lastAt).toBe(at(MIN))
  })

  it('a draft shows as "Draft: …" unless its room is the open one', () => {
    const drafts = { [ROOM_B]: { text: 'half a\nthought', at: null } }
    expect(roomRows([busy], [], drafts, ALICE, null)[0]).toMatchObject({
      preview: 'Draft: half a thought',
      draft: true,
    })
    expect(roomRows([busy], [], drafts, ALICE, ROOM_B)[0]).toMatchObject({ preview: 'bob: see you at six' })
  })

  it('a room whose draft was just edited moves up: it sorts (and shows its time) by the newer of its activity and the draft', () => {
    // Busy's last message is an hour old, Quiet has none (created 10 days ago): Busy is first.
    expect(roomRows([quiet, busy], [], {}, ALICE, null).map((r) => r.room.name)).toEqual(['Busy', 'Quiet'])
    const drafts = { [ROOM_A]: { text: 'reply later', at: at(MIN) } }
    const rows = roomRows([quiet, busy], [], drafts, ALICE, null)
    expect(rows.map((r) => [r.room.name, r.preview, r.lastAt])).toEqual([
      ['Quiet', 'Draft: reply later', at(MIN)],
      ['Busy', 'bob: see you at six', at(HOUR)],
    ])
    // A draft older than the room's last message does not move it back: its activity counts.
    const stale = roomRows([busy], [], { [ROOM_B]: { text: 'old', at: at(DAY) } }, ALICE, null)
    expect(stale[0]!.lastAt).toBe(at(HOUR))
    // While its room is open the draft is the composer's text, not a row: the room keeps its place.
    expect(roomRows([quiet, busy], [], drafts, ALICE, ROOM_A).map((r) => r.room.name)).toEqual(['Busy', 'Quiet'])
  })

  it('a draft saved before drafts had a time still shows, and keeps its room where its activity puts it', () => {
    const rows = roomRows([quiet, busy], [], { [ROOM_A]: { text: 'from last year', at: null } }, ALICE, null)
    expect(rows.map((r) => [r.room.name, r.preview, r.lastAt])).toEqual([
      ['Busy', 'bob: see you at six', at(HOUR)],
      ['Quiet', 'Draft: from last year', null],
    ])
  })

  it('drafts from IndexedDB: blank and malformed rows are skipped, an old or damaged time is none', () => {
    expect(
      draftTexts([
        { roomId: ROOM_A, text: 'hi', updatedAt: at(MIN) },
        { roomId: ROOM_B, text: '   ' },
        { roomId: 3, text: 'x' },
        { roomId: ROOM_C, text: 'no time' },
        { roomId: 'd', text: 'bad time', updatedAt: 'yesterday-ish' },
        null,
        'junk',
      ]),
    ).toEqual({
      [ROOM_A]: { text: 'hi', at: at(MIN) },
      [ROOM_C]: { text: 'no time', at: null },
      d: { text: 'bad time', at: null },
    })
  })
})
