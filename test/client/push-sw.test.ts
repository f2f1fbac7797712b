/**
 * The service worker's push handling (issue 10): the pushed message is stored
 * as a known entry of its room before the notification shows, without being
 * taken as proof of the entries before it; the room row and the app badge take
 * the push's counts; a bad payload changes nothing.
 */
import { describe, expect, it, vi } from 'vitest'
import { getCursor, newestEntries, storeEvents } from '../../client/db/messages.ts'
import { openFerryDb } from '../../client/db/open.ts'
import { putRoom } from '../../client/db/rooms.ts'
import type { FerryDatabase } from '../../client/db/schema.ts'
import { type AppWindow, handlePush, type PushDeps } from '../../client/sw/push.ts'
import type { TabMessage } from '../../client/tabs/messages.ts'
import type { PushPayload } from '../../shared/push/contract.ts'
import { payload } from './push-support.ts'
import { ALICE, event, freshDb, ROOM_A, ROOM_B, roomFixture } from './support.ts'

/** Alice is signed in; Cabin (A) holds seqs 1–40, read to 38; Deck (B) has 2 unread. */
async function device(): Promise<FerryDatabase> {
  const db = await freshDb()
  await db.put('session', { id: ALICE, username: 'alice', createdAt: '2026-11-01T00:00:00.000Z' }, 'me')
  await storeEvents(
    db,
    ROOM_A,
    Array.from({ length: 40 }, (_, i) => event(ROOM_A, i + 1)),
  )
  await putRoom(db, roomFixture(ROOM_A, { lastSeq: 40, lastReadSeq: 38, unreadCount: 2 }))
  await putRoom(db, roomFixture(ROOM_B, { name: 'Deck', lastSeq: 9, lastReadSeq: 7, unreadCount: 2 }))
  return db
}

function deps(db: FerryDatabase, over: Partial<PushDeps> = {}) {
  const shown: Array<{ title: string; options: NotificationOptions }> = []
  const told: TabMessage[] = []
  const badge = { setAppBadge: vi.fn(async (_n?: number) => undefined), clearAppBadge: vi.fn(async () => undefined) }
  const fetchEntry = vi.fn(async (_roomId: string, _seq: number) => null as ReturnType<typeof event> | null)
  const d: PushDeps = {
    // The handler closes what it opens: a connection of its own to the same database, as the worker's.
    openDb: () => openFerryDb({}, db.name),
    fetchEntry,
    online: () => true,
    windows: async () => [] as AppWindow[],
    show: async (title, options) => {
      shown.push({ title, options })
    },
    badge,
    tell: (m) => told.push(m),
    ...over,
  }
  return { d, shown, told, badge, fetchEntry }
}

async function everything(db: FerryDatabase) {
  const [rooms, messages, cursors, session] = await Promise.all([
    db.getAll('rooms'),
    db.getAll('messages'),
    db.getAll('cursors'),
    db.getAll('session'),
  ])
  return { rooms, messages, cursors, session }
}

const text = (p: Partial<PushPayload> = {}) => JSON.stringify(payload(p))

describe('push: storing the message before announcing it', () => {
  it('stores the pushed entry as a known entry, leaving the hole before it a hole', async () => {
    const db = await device()
    const { d, told } = deps(db)
    expect(await handlePush(text(), d)).toBe('shown')
    const cursor = await getCursor(db, ROOM_A)
    // 41–49 are not on the device: the resume point stays at 40, so the engine asks for them.
    expect(cursor.ranges).toEqual([
      [1, 40],
      [50, 50],
    ])
    expect(cursor.lastSeq).toBe(40)
    const newest = await newestEntries(db, ROOM_A, 2)
    expect(newest.map((e) => [e.seq, e.body])).toEqual([
      [40, 'message 40'],
      [50, 'the ferry leaves at six'],
    ])
    expect(told).toContainEqual({ type: 'events', roomId: ROOM_A, events: [payload().event] })
    expect(told).toContainEqual({ type: 'rooms-changed' })
  })

  it('once the gap is filled, the cursor runs through the pushed entry', async () => {
    const db = await device()
    await handlePush(text(), deps(db).d)
    await storeEvents(
      db,
      ROOM_A,
      Array.from({ length: 9 }, (_, i) => event(ROOM_A, 41 + i)),
    )
    expect((await getCursor(db, ROOM_A)).lastSeq).toBe(50)
  })

  it('takes the server’s unread count, the preview and the mention on the room row, and badges the total', async () => {
    const db = await device()
    const { d, badge } = deps(db)
    await handlePush(text({ unread: 12, mention: true }), d)
    const room = await db.get('rooms', ROOM_A)
    expect(room).toMatchObject({ lastSeq: 50, unreadCount: 12, unreadMentionSeq: 50, lastReadSeq: 38 })
    expect(room?.lastMessage).toMatchObject({ seq: 50, body: 'the ferry leaves at six', authorName: 'bob' })
    // 12 in Cabin + 2 in Deck.
    expect(badge.setAppBadge).toHaveBeenLastCalledWith(14)
  })

  it('leaves a row that already reaches the seq alone (the page heard the message first)', async () => {
    const db = await device()
    await putRoom(db, roomFixture(ROOM_A, { lastSeq: 52, lastReadSeq: 52, unreadCount: 0 }))
    const { d, badge } = deps(db)
    await handlePush(text({ unread: 12 }), d)
    expect(await db.get('rooms', ROOM_A)).toMatchObject({ lastSeq: 52, unreadCount: 0 })
    expect(badge.setAppBadge).toHaveBeenLastCalledWith(2)
  })

  it('clears the badge when nothing is unread anywhere', async () => {
    const db = await device()
    await putRoom(db, roomFixture(ROOM_B, { lastSeq: 9, lastReadSeq: 9, unreadCount: 0 }))
    // Read up to 50 on this device already, the server not told yet (offline).
    await putRoom(db, { ...roomFixture(ROOM_A, { lastSeq: 40, lastReadSeq: 40, unreadCount: 0 }) })
    await db.put('rooms', { ...(await db.get('rooms', ROOM_A))!, readPending: 50 })
    const { d, badge } = deps(db)
    await handlePush(text({ unread: 1 }), d)
    expect(badge.clearAppBadge).toHaveBeenCalled()
    expect(badge.setAppBadge).not.toHaveBeenCalled()
  })

  it('fetches the entry when the push could not carry it, and only when online', async () => {
    const db = await device()
    const { event: carried, ...bare } = payload()
    const online = deps(db, { fetchEntry: vi.fn(async () => carried!) })
    await handlePush(JSON.stringify(bare), online.d)
    expect(online.d.fetchEntry).toHaveBeenCalledWith(ROOM_A, 50)
    expect((await newestEntries(db, ROOM_A, 1))[0]?.seq).toBe(50)

    const db2 = await device()
    const offline = deps(db2, { online: () => false })
    expect(await handlePush(JSON.stringify(bare), offline.d)).toBe('shown')
    expect(offline.fetchEntry).not.toHaveBeenCalled()
    // Nothing stored, but the row and the badge still know of it; the notification shows.
    expect((await getCursor(db2, ROOM_A)).ranges).toEqual([[1, 40]])
    expect(await db2.get('rooms', ROOM_A)).toMatchObject({ lastSeq: 50, unreadCount: 3 })
    expect(offline.shown).toHaveLength(1)
  })

  it('still shows the notification when storing fails', async () => {
    const db = await device()
    const { d, shown } = deps(db, { openDb: async () => Promise.reject(new Error('QuotaExceededError')) })
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined)
    expect(await handlePush(text(), d)).toBe('shown')
    expect(shown).toHaveLength(1)
    warn.mockRestore()
  })
})

describe('push: the notification', () => {
  it('says the room, the author and the first line; one per room; data for the click', async () => {
    const db = await device()
    const { d, shown } = deps(db)
    await handlePush(text(), d)
    expect(shown).toEqual([
      {
        title: 'Cabin',
        options: expect.objectContaining({
          body: 'bob: the ferry leaves at six',
          tag: ROOM_A,
          renotify: false,
          data: { roomId: ROOM_A, seq: 50 },
        }),
      },
    ])
  })

  it('says "mentioned you" and alerts again on a mention', async () => {
    const db = await device()
    const { d, shown } = deps(db)
    await handlePush(text({ mention: true, preview: '@alice\nare you\ton board?' }), d)
    expect(shown[0]?.options).toMatchObject({ body: 'bob mentioned you: @alice are you on board?', renotify: true })
  })

  it('stores but does not show while a visible window shows that room', async () => {
    const db = await device()
    const visible = (url: string): AppWindow => ({ url, visibilityState: 'visible' })
    const { d, shown, badge } = deps(db, { windows: async () => [visible(`https://ferry.example/rooms/${ROOM_A}`)] })
    expect(await handlePush(text(), d)).toBe('on-screen')
    expect(shown).toEqual([])
    expect((await getCursor(db, ROOM_A)).ranges).toContainEqual([50, 50])
    expect(badge.setAppBadge).toHaveBeenCalled()

    // Hidden, or showing another room: the person is not reading it.
    const db2 = await device()
    const other = deps(db2, {
      windows: async () => [
        { url: `https://ferry.example/rooms/${ROOM_A}`, visibilityState: 'hidden' },
        visible(`https://ferry.example/rooms/${ROOM_B}`),
      ],
    })
    expect(await handlePush(text(), other.d)).toBe('shown')
  })

  it('shows and stores nothing when nobody is signed in here (a push that raced a logout)', async () => {
    const db = await device()
    await db.delete('session', 'me')
    const before = await everything(db)
    const { d, shown, badge } = deps(db)
    expect(await handlePush(text(), d)).toBe('signed-out')
    expect(await everything(db)).toEqual(before)
    expect(shown).toEqual([])
    expect(badge.setAppBadge).not.toHaveBeenCalled()
  })
})

describe('push: bad payloads change nothing', () => {
  const bad = [
    null,
    'not json',
    JSON.stringify({ v: 1, roomId: ROOM_A }),
    JSON.stringify({ ...payload(), unread: -1 }),
    JSON.stringify({ ...payload(), event: { ...payload().event, roomId: ROOM_B } }),
    JSON.stringify({ ...payload(), extra: true }),
  ]
  it.each(bad.map((b) => [b]))('ignores %s', async (data) => {
    const db = await device()
    const before = await everything(db)
    const { d, shown, badge, told, fetchEntry } = deps(db)
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined)
    await expect(handlePush(data, d)).resolves.toBe('ignored')
    warn.mockRestore()
    expect(await everything(db)).toEqual(before)
    expect(shown).toEqual([])
    expect(told).toEqual([])
    expect(badge.setAppBadge).not.toHaveBeenCalled()
    expect(fetchEntry).not.toHaveBeenCalled()
  })
})
