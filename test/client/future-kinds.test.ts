/**
 * A client meets log entries of a kind it does not know (a newer server, issue 9 and later):
 * it keeps them in the log, so the room's seqs stay gap-free and nothing is fetched again,
 * shows nothing for them, and keeps its socket. Before, the shared schema refused the whole
 * `events` frame, and the client replaced its socket and got the same frame again, forever.
 * A `kind` that is not even shaped like one is still a protocol error.
 */
import { describe, expect, it } from 'vitest'
import { getCursor, newestEntries } from '../../client/db/messages.ts'
import { foldTimeline } from '../../client/log/timeline.ts'
import { parseServerFrame } from '../../client/sync/connection.ts'
import type { RoomEvent } from '../../shared/schemas.ts'
import { event, ROOM_A } from './support.ts'
import { elapse, expectSubscribed, room, startEngine, until, useEngineHarness } from './sync-harness.ts'

useEngineHarness()

/** An entry of a kind no build of this client knows. */
const poll = (seq: number): RoomEvent => ({ ...event(ROOM_A, seq), kind: 'poll.created', body: null, clientId: null })

describe('log entries of kinds this client does not know', () => {
  it('are stored in their place, shown as nothing, and the socket stays', async () => {
    const serverLog = [event(ROOM_A, 1), poll(2), event(ROOM_A, 3)]
    const h = await startEngine((url) => {
      if (url.pathname === '/api/rooms') return { body: { rooms: [room] } }
      return { body: {}, status: 404 }
    })
    await until(() => expectSubscribed(h.socket(), 0))
    const sockets = h.sockets.length
    h.socket().push({ type: 'events', roomId: ROOM_A, events: serverLog })
    await until(async () => expect((await getCursor(h.db, ROOM_A)).lastSeq).toBe(3))
    await elapse(2_000)

    expect(h.sockets.length).toBe(sockets)
    const stored = await newestEntries(h.db, ROOM_A, 10)
    expect(stored.map((e) => [e.seq, e.kind])).toEqual([
      [1, 'message.created'],
      [2, 'poll.created'],
      [3, 'message.created'],
    ])
    expect(h.fetched.filter((u) => u.includes('/events') || u.includes('/messages'))).toEqual([])
    expect(foldTimeline(stored).map((shown) => shown.seq)).toEqual([1, 3])
  })

  it('a kind not shaped like one (dotted lower-case words, at most 64 characters) is still refused', () => {
    for (const kind of ['', 'poll', 'Poll.created', 'poll.created;', 'poll..created', `poll.${'x'.repeat(64)}`, 7]) {
      const frame = { type: 'events', roomId: ROOM_A, events: [{ ...event(ROOM_A, 1), kind }] }
      expect(parseServerFrame(JSON.stringify(frame)), String(kind)).toBeNull()
    }
    const known = { type: 'events', roomId: ROOM_A, events: [poll(1)] }
    expect(parseServerFrame(JSON.stringify(known))).not.toBeNull()
  })
})
