/**
 * The page side of `npm run bench -- search-device` (bench/search-device.ts):
 * bundled by esbuild into the dedicated bench page, never into the app. It
 * runs the app's own modules (client/db, client/search) against the page's
 * real IndexedDB and exposes one object, `window.ferrySearchBench`.
 */
import { storeEvents } from '../client/db/messages.ts'
import { openFerryDb } from '../client/db/open.ts'
import { mergeRoom } from '../client/db/rooms.ts'
import type { FerryDatabase } from '../client/db/schema.ts'
import { storedEntries } from '../client/log/entry.ts'
import { searchDeviceIn } from '../client/search/device.ts'
import { fillSearchIndex } from '../client/search/fill.ts'
import { recordsOf } from '../client/search/index.ts'
import type { RoomEvent } from '../shared/schemas.ts'

/** A small seeded PRNG (mulberry32), so every run writes the same messages. */
function random(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const COMMON = 'the a to and of i you is it in that for we on at be this are with have not can will do so'.split(' ')
const PLANTED = ['depot', 'gate', 'café', 'Zürich', 'delivery', 'truck', 'tomorrow', 'noon']
const SYLLABLES =
  'ba be bi bo bu da de di do du ka ke ki ko ku la le li lo lu ma me mi mo mu na ne ni no nu ra re ri ro ru sa se si so su ta te ti to tu va ve vi vo vu za ze zi zo zu'.split(
    ' ',
  )

/**
 * A vocabulary of 5,000 words: the commonest English words, a few planted
 * ones, the rest made of syllables; drawn with Zipf frequencies (rank r has
 * weight 1/r), so a few words are everywhere and most are rare, as in chat.
 */
function vocabulary(rnd: () => number): string[] {
  const words = [...COMMON, ...PLANTED]
  const seen = new Set(words)
  while (words.length < 5000) {
    const n = 2 + Math.floor(rnd() * 3)
    let w = ''
    for (let i = 0; i < n; i++) w += SYLLABLES[Math.floor(rnd() * SYLLABLES.length)]
    if (!seen.has(w)) {
      seen.add(w)
      words.push(w)
    }
  }
  return words
}

function zipf(size: number): number[] {
  const cumulative: number[] = []
  let total = 0
  for (let r = 1; r <= size; r++) {
    total += 1 / r
    cumulative.push(total)
  }
  return cumulative.map((c) => c / total)
}

function pick(cumulative: readonly number[], x: number): number {
  let lo = 0
  let hi = cumulative.length - 1
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (cumulative[mid]! < x) lo = mid + 1
    else hi = mid
  }
  return lo
}

export interface Corpus {
  rooms: string[]
  entries: RoomEvent[]
  messages: number
}

/** `messages` messages over `rooms` rooms (3 to 30 words each), plus about 5% as many edits and 2% deletions. */
function corpus(messages: number, roomCount: number, seed: number): Corpus {
  const rnd = random(seed)
  const words = vocabulary(rnd)
  const weights = zipf(words.length)
  const rooms = Array.from(
    { length: roomCount },
    (_, i) => `00000000-0000-4000-8000-${String(i + 1).padStart(12, '0')}`,
  )
  const seqs = new Map<string, number>()
  const entries: RoomEvent[] = []
  const start = Date.UTC(2026, 0, 1)
  const text = () => {
    const n = 3 + Math.floor(rnd() * 28)
    const out: string[] = []
    for (let i = 0; i < n; i++) out.push(words[pick(weights, rnd())]!)
    out[0] = out[0]!.charAt(0).toUpperCase() + out[0]!.slice(1)
    return `${out.join(' ')}${rnd() < 0.3 ? '?' : '.'}`
  }
  const recent = new Map<string, number[]>()
  let sent = 0
  for (let i = 0; sent < messages; i++) {
    const roomId = rooms[Math.floor(rnd() * roomCount)]!
    const seq = (seqs.get(roomId) ?? 0) + 1
    const createdAt = new Date(start + i * 30_000).toISOString()
    const base = { roomId, seq, authorId: rooms[0]!, authorName: `person${seq % 40}`, reaction: null, createdAt }
    const own = recent.get(roomId) ?? []
    const roll = rnd()
    if (roll < 0.07 && own.length > 0) {
      // An amendment of one of the room's 50 latest messages: 5% edits, 2% deletions.
      const at = Math.floor(rnd() * own.length)
      const target = own[at]!
      seqs.set(roomId, seq)
      if (roll < 0.02) {
        own.splice(at, 1)
        entries.push({ ...base, kind: 'message.deleted', clientId: null, body: null, targetSeq: target })
      } else entries.push({ ...base, kind: 'message.edited', clientId: null, body: text(), targetSeq: target })
      continue
    }
    seqs.set(roomId, seq)
    entries.push({ ...base, kind: 'message.created', clientId: crypto.randomUUID(), body: text(), targetSeq: null })
    own.push(seq)
    if (own.length > 50) own.shift()
    recent.set(roomId, own)
    sent += 1
  }
  return { rooms, entries, messages: sent }
}

async function estimate(): Promise<number> {
  return (await navigator.storage.estimate()).usage ?? 0
}

const bytes = (rows: readonly unknown[]) => rows.reduce<number>((n, r) => n + JSON.stringify(r).length, 0)

let db: FerryDatabase | null = null

/** A database as version 7 of the app left it (its stores, as test/client/schema-upgrade.test.ts freezes them), holding the corpus. */
function writeVersion7(name: string, data: Corpus): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(name, 7)
    request.onupgradeneeded = () => {
      const raw = request.result
      raw.createObjectStore('session')
      raw.createObjectStore('rooms', { keyPath: 'id' })
      raw
        .createObjectStore('messages', { keyPath: ['roomId', 'seq'] })
        .createIndex('by-target', ['roomId', 'targetSeq'])
      const outbox = raw.createObjectStore('outbox', { keyPath: 'clientId' })
      outbox.createIndex('by-order', 'order')
      outbox.createIndex('by-room', ['roomId', 'order'])
      raw.createObjectStore('cursors', { keyPath: 'roomId' })
      raw.createObjectStore('drafts', { keyPath: 'roomId' })
      raw.createObjectStore('firstScreen')
      raw.createObjectStore('members', { keyPath: 'roomId' })
      raw.createObjectStore('pushDevice')
      raw.createObjectStore('roomNotify', { keyPath: 'roomId' })
      raw.createObjectStore('pushPrompt')
    }
    request.onerror = () => reject(request.error)
    request.onsuccess = () => {
      const raw = request.result
      const tx = raw.transaction('messages', 'readwrite')
      for (const e of data.entries) tx.objectStore('messages').put(e)
      tx.oncomplete = () => {
        raw.close()
        resolve()
      }
      tx.onerror = () => reject(tx.error)
    }
  })
}

const bench = {
  /**
   * Writes the corpus into a version-7 database (raw rows in `messages`, no index), then opens it
   * with the app's openFerryDb: the version-8 upgrade (timed), then the background fill builds the
   * index (timed, and checked complete against a rebuild). Usage before and after each step.
   */
  async fill(messages: number, roomCount: number, seed: number) {
    const data = corpus(messages, roomCount, seed)
    const name = 'ferry-search-bench'
    const usage0 = await estimate()
    await writeVersion7(name, data)
    await new Promise((r) => setTimeout(r, 500))
    const usage1 = await estimate()
    // The real upgrade: openFerryDb moves version 7 to 8, whose step only creates the index.
    const t0 = performance.now()
    db = await openFerryDb({}, name)
    const upgradeMs = performance.now() - t0
    // Then the background fill the leader tab runs, without its pauses: the work, and its longest
    // transaction (what a live write may wait behind).
    const chunks: number[] = []
    let chunkStart = performance.now()
    const t1 = chunkStart
    await fillSearchIndex(db, {
      pause: async () => {
        const now = performance.now()
        chunks.push(now - chunkStart)
        chunkStart = now
      },
    })
    chunks.push(performance.now() - chunkStart)
    const fillMs = performance.now() - t1
    await new Promise((r) => setTimeout(r, 500))
    const usage2 = await estimate()
    for (const [i, roomId] of data.rooms.entries()) {
      await mergeRoom(db, {
        id: roomId,
        name: `Room ${i + 1}`,
        visibility: 'public',
        ownerId: roomId,
        createdAt: new Date(0).toISOString(),
        lastSeq: 0,
        role: 'member',
        memberCount: 2,
        lastMessage: null,
        unreadCount: 0,
        lastReadSeq: 0,
      })
    }
    const records = await db.getAll('search')
    const messageRows = await db.getAll('messages')
    const expected = recordsOf(storedEntries(messageRows)).length
    if (expected !== records.length) throw new Error(`the fill indexed ${records.length} of ${expected} messages`)
    return {
      messages: data.messages,
      entries: data.entries.length,
      indexed: records.length,
      upgradeMs,
      fillMs,
      fillChunks: chunks.length,
      fillChunkMaxMs: Math.max(...chunks),
      usageBefore: usage0,
      usageMessages: usage1 - usage0,
      usageIndex: usage2 - usage1,
      jsonMessagesBytes: bytes(messageRows),
      jsonIndexBytes: bytes(records),
      terms: records.reduce((n, r) => n + r.terms.length, 0),
    }
  },

  /** One query, timed in the page (ms), with its hit count. */
  async query(q: string, roomId?: string) {
    if (!db) throw new Error('fill first')
    const t0 = performance.now()
    const hits = await searchDeviceIn(db, q, roomId ? { roomId } : {})
    return { ms: performance.now() - t0, hits: hits.length }
  },

  /** The incremental path: `pages` history pages of 50 messages stored through storeEvents (index kept in step), ms per page. */
  async storePages(pages: number, seed: number) {
    const data = corpus(pages * 50, 1, seed)
    const created = data.entries.filter((e) => e.kind === 'message.created').slice(0, pages * 50)
    const other = await openFerryDb({}, 'ferry-search-bench-pages')
    const ms: number[] = []
    for (let i = 0; i < created.length; i += 50) {
      const t0 = performance.now()
      await storeEvents(other, data.rooms[0]!, created.slice(i, i + 50))
      ms.push(performance.now() - t0)
    }
    other.close()
    return ms
  },
}

;(globalThis as unknown as { ferrySearchBench: typeof bench }).ferrySearchBench = bench
export type SearchBench = typeof bench
