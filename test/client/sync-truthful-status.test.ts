/**
 * Issue 7 items 10 and 11: what the engine tells the screens must stay true
 * on a bad network: a dead link leaves "Up to date", presence is cleared when
 * we cannot know who is online, and a reset is not "Up to date" before its
 * latest page is stored.
 */
import { describe, expect, it } from 'vitest'
import { newestEntries } from '../../client/db/messages.ts'
import { LIVENESS } from '../../client/sync/connection.ts'
import type { PresenceUser } from '../../shared/protocol.ts'
import { ALICE, BOB, event, message, ROOM_A } from './support.ts'
import {
  elapse,
  expectSubscribed,
  hello,
  type Reply,
  type Route,
  room,
  startEngine,
  until,
  upToDate,
  useEngineHarness,
} from './sync-harness.ts'

const bob: PresenceUser = { userId: BOB, username: 'bob' }
const alice: PresenceUser = { userId: ALICE, username: 'alice' }

useEngineHarness()

const roomsOnly = (url: URL): Reply =>
  url.pathname === '/api/rooms' ? { body: { rooms: [room] } } : { body: {}, status: 404 }

async function upToDateEngine(route: Route = roomsOnly) {
  const h = await startEngine(route)
  await until(() => expectSubscribed(h.socket(), 0))
  h.socket().push({ type: 'caught_up', roomId: ROOM_A, lastSeq: 0 })
  h.socket().push({ type: 'presence', roomId: ROOM_A, users: [alice, bob] })
  await until(() => expect(upToDate(h.status())).toBe(true))
  return h
}

function lastPresence(h: Awaited<ReturnType<typeof startEngine>>): PresenceUser[] | undefined {
  const last = h.published.findLast((m) => m.type === 'presence' || m.type === 'presence-join')
  return last?.type === 'presence' ? last.users : undefined
}

describe('a link that silently passes no data', () => {
  it('leaves "Up to date" once the ping goes unanswered, and resumes on a fresh socket', async () => {
    const h = await upToDateEngine()
    h.socket().answersPings = false
    await elapse(LIVENESS.idlePingMs + LIVENESS.pongTimeoutMs + 1_000)
    expect(upToDate(h.status())).toBe(false)
    expect(h.sockets.length).toBeGreaterThan(1)

    h.socket().open()
    h.socket().push(hello)
    await until(() => expectSubscribed(h.socket(), 0))
  })

  it('checks the link at once when the tab becomes visible again', async () => {
    const h = await upToDateEngine()
    h.socket().answersPings = false
    await elapse(1_000)
    document.dispatchEvent(new Event('visibilitychange'))
    expect(h.socket().frames('ping')).toHaveLength(1)
    await elapse(LIVENESS.pongTimeoutMs)
    expect(upToDate(h.status())).toBe(false)
  })

  it('checks the link at once when the network comes back', async () => {
    const h = await upToDateEngine()
    window.dispatchEvent(new Event('online'))
    expect(h.socket().frames('ping')).toHaveLength(1)
  })
})

describe('presence', () => {
  it('is cleared when the browser goes offline', async () => {
    const h = await upToDateEngine()
    expect(lastPresence(h)).toEqual([alice, bob])
    window.dispatchEvent(new Event('offline'))
    expect(lastPresence(h)).toEqual([])
  })

  it('is cleared when the link is declared dead', async () => {
    const h = await upToDateEngine()
    h.socket().answersPings = false
    await elapse(LIVENESS.idlePingMs + LIVENESS.pongTimeoutMs + 1_000)
    expect(lastPresence(h)).toEqual([])
  })

  it('is cleared when the server closes the socket', async () => {
    const h = await upToDateEngine()
    h.socket().onclose?.({ code: 1006 })
    expect(lastPresence(h)).toEqual([])
  })
})

describe('after a reset', () => {
  it('is not "Up to date" before the latest page is stored', async () => {
    let answerPage: (() => void) | null = null
    const latest = [event(ROOM_A, 899), event(ROOM_A, 900)]
    const h = await upToDateEngine((url) => {
      if (url.pathname.endsWith('/messages')) {
        return new Promise<Reply>((resolve) => {
          answerPage = () =>
            resolve({
              body: {
                messages: latest.map((e) => message(ROOM_A, e.seq, e.clientId!, e.body!, BOB)).reverse(),
                hasMore: true,
              },
            })
        })
      }
      return roomsOnly(url)
    })
    h.socket().push({ type: 'reset', roomId: ROOM_A, lastSeq: 900 })
    h.socket().push({ type: 'caught_up', roomId: ROOM_A, lastSeq: 900 })
    await until(() => expect(answerPage).not.toBeNull())
    await elapse(2_000)
    expect(h.status().catchingUp).toBe(1)

    answerPage!()
    await until(async () => expect((await newestEntries(h.db, ROOM_A, 10)).map((e) => e.seq)).toEqual([899, 900]))
    await until(() => expect(upToDate(h.status())).toBe(true))
    // Nothing else was fetched: the caught_up after the reset did not start a gap fill from the old cursor.
    expect(h.fetched.filter((u) => u.includes('/events'))).toEqual([])
  })
})
