import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { storeEvents } from '../../client/db/messages.ts'
import { dropMembership, mergeRoom } from '../../client/db/rooms.ts'
import type { FerryDatabase } from '../../client/db/schema.ts'
import { entryFromMessage } from '../../client/log/entry.ts'
import { searchDeviceIn } from '../../client/search/device.ts'
import { readIndex, rebuiltIndex } from '../../client/search/index.ts'
import { mergeHits } from '../../client/search/merge.ts'
import type { RoomEvent } from '../../shared/schemas.ts'
import type { SearchHit } from '../../shared/search/contract.ts'
import { matches, parseQuery, words } from '../../shared/search/text.ts'
import { ALICE, BOB, event, FIXTURE_TIME, freshDb, ROOM_A, ROOM_B, roomFixture } from './support.ts'

const edit = (roomId: string, seq: number, target: number, body: string) =>
  event(roomId, seq, { kind: 'message.edited', targetSeq: target, body, clientId: null })
const del = (roomId: string, seq: number, target: number) =>
  event(roomId, seq, { kind: 'message.deleted', targetSeq: target, body: null, clientId: null })
const react = (roomId: string, seq: number, target: number) =>
  event(roomId, seq, { kind: 'reaction.added', targetSeq: target, body: null, reaction: '👍', clientId: null })
const said = (roomId: string, seq: number, body: string, over: Partial<RoomEvent> = {}) =>
  event(roomId, seq, { body, ...over })

async function seqsFor(db: FerryDatabase, q: string, opts: Parameters<typeof searchDeviceIn>[2] = {}) {
  return (await searchDeviceIn(db, q, opts)).map((h) => `${h.roomId === ROOM_A ? 'A' : 'B'}${h.seq}`)
}

describe('offline search over the device cache', () => {
  it('finds whole words and the last word as a prefix, case- and accent-insensitive, newest first', async () => {
    const db = await freshDb()
    await mergeRoom(db, roomFixture(ROOM_A, { name: 'Depot' }))
    await storeEvents(db, ROOM_A, [
      said(ROOM_A, 1, 'Meet at the DEPOT gate'),
      said(ROOM_A, 2, 'the café is closed'),
      said(ROOM_A, 3, 'depotting plants', { authorName: 'alice', authorId: ALICE }),
      said(ROOM_A, 4, 'gate code 1234'),
    ])
    expect(await seqsFor(db, 'depot gate ')).toEqual(['A1'])
    expect(await seqsFor(db, 'depot')).toEqual(['A3', 'A1'])
    expect(await seqsFor(db, 'depot ')).toEqual(['A1'])
    expect(await seqsFor(db, 'CAFE')).toEqual(['A2'])
    expect(await seqsFor(db, 'Cafè ')).toEqual(['A2'])
    const [hit] = await searchDeviceIn(db, 'depotting', {})
    expect(hit).toMatchObject({
      roomId: ROOM_A,
      roomName: 'Depot',
      seq: 3,
      authorId: ALICE,
      authorName: 'alice',
      edited: false,
      createdAt: new Date(FIXTURE_TIME + 3000).toISOString(),
      snippet: { text: 'depotting plants', ranges: [[0, 9]], cutStart: false, cutEnd: false },
    })
  })

  it('honours phrases, exclusion, or, the room filter, the limit and before', async () => {
    const db = await freshDb()
    await storeEvents(db, ROOM_A, [
      said(ROOM_A, 1, 'depot gate is open'),
      said(ROOM_A, 2, 'gate of the depot'),
      said(ROOM_A, 3, 'depot closed today'),
    ])
    await storeEvents(db, ROOM_B, [
      said(ROOM_B, 1, 'the depot gate again', { createdAt: new Date(FIXTURE_TIME + 9000).toISOString() }),
    ])
    expect(await seqsFor(db, '"depot gate"')).toEqual(['B1', 'A1'])
    expect(await seqsFor(db, 'depot -gate')).toEqual(['A3'])
    expect(await seqsFor(db, 'depot -"depot gate"')).toEqual(['A3', 'A2'])
    expect(await seqsFor(db, 'closed or open ')).toEqual(['A3', 'A1'])
    expect(await seqsFor(db, 'depot', { roomId: ROOM_A })).toEqual(['A3', 'A2', 'A1'])
    expect(await seqsFor(db, 'depot', { limit: 2 })).toEqual(['B1', 'A3'])
    const [, second] = await searchDeviceIn(db, 'depot', { limit: 2 })
    expect(await seqsFor(db, 'depot', { before: second! })).toEqual(['A2', 'A1'])
    expect(await seqsFor(db, '--- ""')).toEqual([])
    expect(await seqsFor(db, '')).toEqual([])
    expect(await seqsFor(db, 'x'.repeat(1000))).toEqual([])
  })

  it('edits re-index to the current text, deletes remove it, reactions and notices never match', async () => {
    const db = await freshDb()
    await storeEvents(db, ROOM_A, [
      said(ROOM_A, 1, 'old words here'),
      said(ROOM_A, 2, 'soon gone'),
      event(ROOM_A, 3, { kind: 'room.renamed', body: 'gone fishing', clientId: null }),
    ])
    await storeEvents(db, ROOM_A, [edit(ROOM_A, 4, 1, 'new words here'), react(ROOM_A, 5, 1)])
    expect(await seqsFor(db, 'old')).toEqual([])
    expect(await seqsFor(db, 'new')).toEqual(['A1'])
    expect((await searchDeviceIn(db, 'new', {}))[0]!.edited).toBe(true)
    expect(await seqsFor(db, 'gone')).toEqual(['A2'])
    await storeEvents(db, ROOM_A, [del(ROOM_A, 6, 2)])
    expect(await seqsFor(db, 'gone')).toEqual([])
    // An edit heard before its message (a later page first), then the message.
    await storeEvents(db, ROOM_B, [edit(ROOM_B, 9, 2, 'edited first')])
    expect(await seqsFor(db, 'edited')).toEqual([])
    await storeEvents(db, ROOM_B, [said(ROOM_B, 2, 'original')])
    expect(await seqsFor(db, 'edited')).toEqual(['B2'])
    expect(await seqsFor(db, 'original')).toEqual([])
  })

  it("a history page's snapshot re-indexes a held message to the text it folds in, and a deleted one out", async () => {
    const db = await freshDb()
    await storeEvents(db, ROOM_A, [said(ROOM_A, 1, 'first words'), said(ROOM_A, 2, 'second words')])
    const state = (seq: number, body: string | null, through: number) => ({
      roomId: ROOM_A,
      seq,
      clientId: event(ROOM_A, seq).clientId,
      authorId: BOB,
      authorName: 'bob',
      createdAt: event(ROOM_A, seq).createdAt,
      body,
      replyTo: null,
      mentions: [] as string[],
      edited: body === null ? null : { seq: through, at: event(ROOM_A, through).createdAt },
      deleted: body === null ? { seq: through, at: event(ROOM_A, through).createdAt, by: BOB } : null,
      reactions: [] as { emoji: string; holders: { userId: string; seq: number }[] }[],
      through,
    })
    const page = (seq: number, body: string | null, through: number) =>
      entryFromMessage({
        roomId: ROOM_A,
        seq,
        createdAt: event(ROOM_A, seq).createdAt,
        authorId: BOB,
        body: body ?? '',
        clientId: event(ROOM_A, seq).clientId!,
        authorName: 'bob',
        state: state(seq, body, through),
      })
    await storeEvents(db, ROOM_A, [page(1, 'snapshot words', 7), page(2, null, 8)])
    expect(await seqsFor(db, 'words')).toEqual(['A1'])
    expect(await seqsFor(db, 'first')).toEqual([])
    expect(await seqsFor(db, 'snapshot')).toEqual(['A1'])
    expect(await readIndex(db)).toEqual(await rebuiltIndex(db))
  })

  it('a query common enough to scan the newest messages pages through the same answers as the index', async () => {
    const db = await freshDb()
    // 1,000 messages over two rooms, all with "common"; the oldest 60 lack "foo"; every 97th has "rare".
    const texts = new Map<string, string>()
    const batches: Record<string, RoomEvent[]> = { [ROOM_A]: [], [ROOM_B]: [] }
    for (let i = 1; i <= 1000; i++) {
      const roomId = i % 2 === 0 ? ROOM_A : ROOM_B
      const seq = Math.ceil(i / 2)
      const body = `common words ${i > 60 ? 'foo ' : ''}${i % 97 === 0 ? 'rare' : 'plain'}`
      batches[roomId]!.push(said(roomId, seq, body, { createdAt: new Date(FIXTURE_TIME + i * 1000).toISOString() }))
      texts.set(`${roomId === ROOM_A ? 'A' : 'B'}${seq}`, body)
    }
    for (const [roomId, events] of Object.entries(batches))
      for (let i = 0; i < events.length; i += 100) await storeEvents(db, roomId, events.slice(i, i + 100))
    // Newest first is reverse insertion order here (each message one second after the one before).
    const all = [...texts].reverse()
    for (const q of ['common ', 'comm', 'common -foo ', 'common rare ', 'words -rare -foo']) {
      for (const roomId of [undefined, ROOM_A]) {
        const parsed = parseQuery(q)!
        const expected = all
          .filter(([key, body]) => (!roomId || key.startsWith('A')) && matches(parsed, words(body)))
          .map(([key]) => key)
        const got: string[] = []
        let before: SearchHit | undefined
        for (let page = 0; page < 40; page++) {
          const hits = await searchDeviceIn(db, q, {
            limit: 50,
            ...(roomId ? { roomId } : {}),
            ...(before ? { before } : {}),
          })
          got.push(...hits.map((h) => `${h.roomId === ROOM_A ? 'A' : 'B'}${h.seq}`))
          if (hits.length < 50) break
          before = hits.at(-1)
        }
        expect({ q, roomId, got }).toEqual({ q, roomId, got: expected })
      }
    }
  })

  it('a private room the person leaves takes its index with it', async () => {
    const db = await freshDb()
    await mergeRoom(db, roomFixture(ROOM_A))
    await storeEvents(db, ROOM_A, [said(ROOM_A, 1, 'secret plans')])
    await storeEvents(db, ROOM_B, [said(ROOM_B, 1, 'public plans')])
    await dropMembership(db, ROOM_A, 'private')
    expect(await seqsFor(db, 'plans')).toEqual(['B1'])
  })

  it('the index equals one rebuilt from the stored log after any sequence of events (property)', async () => {
    const vocabulary = ['depot', 'gate', 'café', 'Cafe', 'open', 'closed', 'gâteau']
    const text = fc.array(fc.constantFrom(...vocabulary), { minLength: 0, maxLength: 4 }).map((w) => w.join(' '))
    const op = fc.oneof(
      fc.record({ kind: fc.constant('send' as const), body: text }),
      fc.record({ kind: fc.constant('edit' as const), target: fc.nat(12), body: text }),
      fc.record({ kind: fc.constant('delete' as const), target: fc.nat(12) }),
      fc.record({ kind: fc.constant('react' as const), target: fc.nat(12) }),
    )
    const scenario = fc.record({
      ops: fc.array(op, { minLength: 1, maxLength: 14 }),
      // How the log reaches the device: batches of consecutive entries, delivered in any order (history pages, gaps).
      cuts: fc.array(fc.nat(14), { maxLength: 4 }),
      order: fc.array(fc.nat(), { maxLength: 5 }),
      query: fc.constantFrom('depot', 'gate', 'cafe', 'ope', '"depot gate"', 'depot -gate', 'gateau or open'),
    })
    await fc.assert(
      fc.asyncProperty(scenario, async ({ ops, cuts, order, query }) => {
        const log: RoomEvent[] = []
        const sent: number[] = []
        ops.forEach((o, i) => {
          const seq = i + 1
          // As in a real log, an amendment targets an earlier message.
          const target = 'target' in o ? sent[o.target % Math.max(1, sent.length)]! : 0
          if (o.kind === 'send' || sent.length === 0) {
            log.push(said(ROOM_A, seq, 'body' in o ? o.body : 'depot'))
            sent.push(seq)
          } else if (o.kind === 'edit') log.push(edit(ROOM_A, seq, target, o.body))
          else if (o.kind === 'delete') log.push(del(ROOM_A, seq, target))
          else log.push(react(ROOM_A, seq, target))
        })
        const bounds = [...new Set([0, ...cuts.filter((c) => c < log.length), log.length])].sort((a, b) => a - b)
        const batches = bounds.slice(1).map((end, i) => log.slice(bounds[i], end))
        order.forEach((k, i) => {
          const j = k % batches.length
          ;[batches[i % batches.length], batches[j]] = [batches[j]!, batches[i % batches.length]!]
        })
        const db = await freshDb()
        for (const batch of batches) await storeEvents(db, ROOM_A, batch)
        expect(await readIndex(db)).toEqual(await rebuiltIndex(db))
        // And the answer is what a scan of the final log says: the current text of each live message.
        const current = new Map<number, string | null>()
        // In seq order: a deletion wins over later edits; an edit of a deleted message changes nothing.
        for (const e of log) {
          if (e.kind === 'message.created') current.set(e.seq, e.body)
          else if (e.kind === 'message.deleted' && current.has(e.targetSeq!)) current.set(e.targetSeq!, null)
          else if (e.kind === 'message.edited' && current.get(e.targetSeq!) != null) current.set(e.targetSeq!, e.body)
        }
        const parsed = parseQuery(query)!
        const expected = [...current]
          .filter(([, body]) => body !== null && matches(parsed, words(body)))
          .map(([seq]) => `A${seq}`)
          .reverse()
        expect(await seqsFor(db, query, { limit: 50 })).toEqual(expected)
        db.close()
      }),
      { seed: 20261208, numRuns: 150 },
    )
  })
})

describe('merging server and device answers', () => {
  const hit = (roomId: string, seq: number, seconds: number, text: string): SearchHit => ({
    roomId,
    roomName: 'Cabin',
    seq,
    authorId: BOB,
    authorName: 'bob',
    createdAt: new Date(FIXTURE_TIME + seconds * 1000).toISOString(),
    edited: false,
    snippet: { text, ranges: [], cutStart: false, cutEnd: false },
  })

  it('keeps the server copy of a duplicate, drops the device copy and orders newest first', () => {
    const server = [hit(ROOM_A, 9, 9, 'server nine'), hit(ROOM_A, 5, 5, 'server five')]
    const device = [
      hit(ROOM_B, 7, 7, 'device seven'),
      hit(ROOM_A, 5, 5, 'device five'),
      hit(ROOM_A, 2, 2, 'device two'),
    ]
    expect(mergeHits(server, device).map((h) => h.snippet.text)).toEqual([
      'server nine',
      'device seven',
      'server five',
      'device two',
    ])
    expect(mergeHits([], device).map((h) => h.seq)).toEqual([7, 5, 2])
    expect(mergeHits(server, [])).toEqual(server)
  })
})
