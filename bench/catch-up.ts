/**
 * `npm run bench -- catch-up` (issue 9): how long a client that missed 1,000
 * mixed entries of one room (500 messages, 300 reactions, 100 edits, 100
 * deletes, in a seeded random order that writes messages three times as
 * likely while some are left, amendments mostly on the 60 newest messages
 * still there) takes to show their current state after
 * it reconnects. Real Chromium (playwright-core), 390×844 mobile, unthrottled,
 * the real server as a child process (PostgreSQL when TEST_DATABASE_URL is
 * set, else PGlite).
 *
 * Each run: a fresh room with one message; the reader opens it online (Up to
 * date), goes offline; three writers append the 1,000 entries over HTTP; the
 * reader comes back online. 1,000 missed is past the reset bound (500), so
 * the client takes the `reset` path: the latest history page, each message
 * with its folded state. The time runs from `setOffline(false)` (the page's
 * clock) to the first animation frame in which the status says "Up to date"
 * and every message on screen shows exactly the server's current state for
 * it (text or "Message deleted", the "edited" mark, reaction counts) and the
 * newest message is there: a check in the page at every frame, against the
 * server's history page read after the writes.
 */
import os from 'node:os'
import type { Page } from 'playwright-core'
import type { Message } from '../shared/schemas.ts'
import { apiCall, LONG, openRoom, signUp, signUpByApi, uniqueName, waitForStatus } from '../test/e2e/support/app.ts'
import { buildClient, cleanUp, launchBrowser, startFerry } from '../test/e2e/support/ferry.ts'
import { round } from './lib/stats.ts'

export interface CatchUpResult {
  runs: number
  missed: { messages: number; reactions: number; edits: number; deletes: number }
  engine: 'postgres' | 'pglite'
  /** ms from reconnect to the correct current state on screen, per run. */
  ms: number[]
  medianMs: number
  /** Seconds the writers took to append the entries of one run (HTTP, sequential). */
  writeSeconds: number[]
  /** Messages on screen when the state was checked (the latest history page). */
  checkedMessages: number
  /** Of the messages checked (last run): how many were edited, deleted, or carried reactions. */
  checkedKinds: { edited: number; deleted: number; reacted: number }
  loadavgBefore: number[]
  loadavgAfter: number[]
}

const EMOJI = ['👍', '❤️', '😂', '🎉', '🙏', '👀']
const MIX = { messages: 500, reactions: 300, edits: 100, deletes: 100 }

/** A small seeded PRNG (mulberry32), so every run appends the same sequence. */
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

type Op =
  | { type: 'send'; n: number }
  | { type: 'react'; target: number; emoji: string; action: 'add' | 'remove'; by: number }
  | { type: 'edit'; target: number; n: number }
  | { type: 'delete'; target: number }

/**
 * The mixed sequence: every operation names a message written earlier in the
 * sequence and not deleted (the server would refuse anything else), reactions
 * toggle so each one changes something.
 */
function plan(seed: number): Op[] {
  const rnd = random(seed)
  const left = { ...MIX }
  const alive: number[] = []
  const held = new Set<string>()
  const ops: Op[] = []
  let written = 0
  while (left.messages + left.reactions + left.edits + left.deletes > 0) {
    // Messages weigh 3× while some are left: the room's last messages are written well before the
    // end, and the changes after them fall on what the reconnecting client shows.
    const weight = { ...left, messages: left.messages * 3 }
    const total = weight.messages + weight.reactions + weight.edits + weight.deletes
    let pick = rnd() * total
    let type: 'messages' | 'reactions' | 'edits' | 'deletes' = 'messages'
    for (const key of ['messages', 'reactions', 'edits', 'deletes'] as const) {
      if (pick < weight[key]) {
        type = key
        break
      }
      pick -= weight[key]
    }
    // Amendments need a message still there (keep a few alive for the reactions and edits to come).
    if (type !== 'messages' && alive.length < (type === 'deletes' ? 5 : 1)) type = 'messages'
    if (type === 'messages' && left.messages === 0) continue
    left[type] -= 1
    if (type === 'messages') {
      written += 1
      ops.push({ type: 'send', n: written })
      alive.push(written)
      continue
    }
    // Mostly recent messages (people answer what they just read), so the page shown after the
    // reset carries many of the changes; the rest anywhere in the room.
    const from = rnd() < 0.8 ? Math.max(0, alive.length - 60) : 0
    const at = from + Math.floor(rnd() * (alive.length - from))
    const target = alive[at]!
    if (type === 'deletes') {
      alive.splice(at, 1)
      ops.push({ type: 'delete', target })
    } else if (type === 'edits') ops.push({ type: 'edit', target, n: ops.length })
    else {
      const by = Math.floor(rnd() * 3)
      const emoji = EMOJI[Math.floor(rnd() * EMOJI.length)]!
      const key = `${target}|${by}|${emoji}`
      const action = held.has(key) ? 'remove' : 'add'
      if (action === 'add') held.add(key)
      else held.delete(key)
      ops.push({ type: 'react', target, emoji, action, by })
    }
  }
  return ops
}

interface Expected {
  seq: number
  body: string
  edited: boolean
  chips: string[]
}

function expectedOf(messages: Message[]): Expected[] {
  return messages
    .map((m) => {
      const s = m.state!
      return {
        seq: m.seq,
        body: s.deleted ? 'Message deleted' : (s.body ?? ''),
        edited: s.edited !== null && s.deleted === null,
        chips: s.reactions.map((r) => `${r.emoji} ${r.holders.length}`),
      }
    })
    .sort((a, b) => a.seq - b.seq)
}

export async function runCatchUp(opts: { runs: number; log: (s: string) => void }): Promise<CatchUpResult> {
  const loadavgBefore = os.loadavg().map((x) => round(x, 2))
  const server = await startFerry(await buildClient(), { WS_SEND_RATE_PER_SECOND: '100000', WS_SEND_BURST: '100000' })
  const phone = await launchBrowser()
  try {
    const page: Page = phone.page
    const reader = uniqueName('reader')
    await signUp(page, server.url, reader)
    const writers = [uniqueName('w'), uniqueName('w'), uniqueName('w')]
    const cookies = await Promise.all(writers.map((w) => signUpByApi(server.url, w)))
    const call = <T>(by: number, method: string, path: string, body?: unknown) =>
      apiCall<T>(server.url, cookies[by]!, method, path, body)
    const ms: number[] = []
    const writeSeconds: number[] = []
    let checkedMessages = 0
    let checkedKinds = { edited: 0, deleted: 0, reacted: 0 }
    for (let run = 1; run <= opts.runs; run += 1) {
      const { room } = await call<{ room: { id: string } }>(0, 'POST', '/api/rooms', {
        name: `Catch-up ${run}`,
        visibility: 'private',
      })
      for (const who of [...writers.slice(1), reader]) {
        await call(0, 'POST', `/api/rooms/${room.id}/members`, { username: who })
      }
      await call(0, 'POST', `/api/rooms/${room.id}/messages`, { clientId: crypto.randomUUID(), body: 'before' })
      await openRoom(page, server.url, room.id)
      await waitForStatus(page, /^Up to date$/)
      await page.getByRole('log').getByText('before').waitFor({ timeout: LONG })
      await phone.context.setOffline(true)
      await waitForStatus(page, 'Offline')

      const started = Date.now()
      const seqOf = new Map<number, number>()
      for (const op of plan(20261207)) {
        const path = `/api/rooms/${room.id}`
        if (op.type === 'send') {
          const { message } = await call<{ message: Message }>(0, 'POST', `${path}/messages`, {
            clientId: crypto.randomUUID(),
            body: `Message ${op.n}: a line of ordinary chat text`,
          })
          seqOf.set(op.n, message.seq)
          continue
        }
        const targetSeq = seqOf.get(op.target)!
        const clientId = crypto.randomUUID()
        const body =
          op.type === 'react'
            ? { type: 'react', clientId, targetSeq, emoji: op.emoji, action: op.action }
            : op.type === 'edit'
              ? { type: 'edit', clientId, targetSeq, body: `Message ${op.target}, edited (${op.n})` }
              : { type: 'delete', clientId, targetSeq }
        await call(op.type === 'react' ? op.by : 0, 'POST', `${path}/operations`, body)
      }
      writeSeconds.push(round((Date.now() - started) / 1000))
      const page50 = await call<{ messages: Message[] }>(0, 'GET', `/api/rooms/${room.id}/messages?limit=50`)
      const expected = expectedOf(page50.messages)
      checkedKinds = {
        edited: expected.filter((e) => e.edited).length,
        deleted: expected.filter((e) => e.body === 'Message deleted').length,
        reacted: expected.filter((e) => e.chips.length > 0).length,
      }

      const t0 = await page.evaluate(() => performance.now())
      await phone.context.setOffline(false)
      // Inline and without named inner functions: tsx would wrap those in a helper the page does not have
      // (and the app's CSP refuses a string to evaluate).
      const handle = await page.waitForFunction(
        (want: Expected[]) => {
          const status = document.querySelector('[data-testid=status]')?.textContent?.trim()
          if (status !== 'Up to date') return false
          const rows = [...document.querySelectorAll('[role=log] li.msg[data-seq]')]
          const bySeq = new Map(want.map((e) => [String(e.seq), e]))
          const newest = String(want[want.length - 1]!.seq)
          if (!rows.some((li) => li.getAttribute('data-seq') === newest)) return false
          let checked = 0
          for (const li of rows) {
            const e = bySeq.get(li.getAttribute('data-seq') ?? '')
            if (!e) continue
            const body = li.querySelector('.msg__body')?.textContent?.trim() ?? ''
            const edited = (li.querySelector('.msg__meta')?.textContent ?? '').includes('edited')
            const chips = [...li.querySelectorAll('.msg__reactions .chip')].map((c) => c.getAttribute('aria-label'))
            if (body !== e.body || edited !== e.edited || chips.join('|') !== e.chips.join('|')) return false
            checked += 1
          }
          return checked > 0 ? { at: performance.now(), checked } : false
        },
        expected,
        { polling: 'raf', timeout: LONG },
      )
      const { at, checked } = (await handle.jsonValue()) as { at: number; checked: number }
      ms.push(round(at - t0))
      checkedMessages = checked
      opts.log(
        `catch-up run ${run}: ${round(at - t0)} ms (${checked} messages checked), writes ${writeSeconds.at(-1)} s`,
      )
    }
    const sorted = [...ms].sort((a, b) => a - b)
    const mid = sorted.length / 2
    const medianMs = sorted.length % 2 ? sorted[Math.floor(mid)]! : (sorted[mid - 1]! + sorted[mid]!) / 2
    return {
      runs: opts.runs,
      missed: MIX,
      engine: process.env.TEST_DATABASE_URL ? 'postgres' : 'pglite',
      ms,
      medianMs: round(medianMs),
      writeSeconds,
      checkedMessages,
      checkedKinds,
      loadavgBefore,
      loadavgAfter: os.loadavg().map((x) => round(x, 2)),
    }
  } finally {
    await cleanUp()
  }
}
