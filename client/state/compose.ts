/** What the person does with a message they write: send it, retry, edit or discard it while it waits. */
import { LIMITS } from '../../shared/limits.ts'
import { characterCount, messageBodyProblem } from '../../shared/validation.ts'
import { getDb } from '../db/page.ts'
import { replyFields, type Target } from '../outbox/operations.ts'
import { type ChangeRefusal, discard, discardRoom, edit, enqueue, retry, retryRoom } from '../outbox/store.ts'
import { requestBackgroundFlush } from '../pwa/background-sync.ts'
import { requestPersistence } from '../pwa/persist.ts'
import { publish } from '../tabs/bus.ts'
import { reloadOutbox } from './feed.ts'
import { offerAfterSend } from './notifications.ts'

/**
 * Checks a message body with the server's own rule (shared/validation.ts:
 * code points after trimming, no U+0000 or lone surrogate), so the person
 * learns at once. Null when it is fine.
 */
export function bodyProblem(text: string): string | null {
  const problem = messageBodyProblem(text)
  if (!problem) return null
  if (problem.code === 'message_empty') return 'Write something first.'
  if (problem.code === 'message_too_long') {
    const over = bodyOverLimit(text)
    return `${over} character${over === 1 ? '' : 's'} too long.`
  }
  return problem.message
}

/** How many characters (code points, as the server counts) the trimmed text is over the limit (≤ 0 when within). */
export function bodyOverLimit(text: string): number {
  return characterCount(text.trim()) - LIMITS.messageBodyMax
}

export type SendResult = { ok: true } | { ok: false; problem: string }

/** Says why a device write failed, for the person (the full error goes to the console). */
function storageProblem(error: unknown): string {
  const name = error instanceof DOMException || error instanceof Error ? error.name : ''
  return name === 'QuotaExceededError'
    ? 'Not sent: this device is out of storage space. Free some space and try again; your text is kept.'
    : 'Not sent: the message could not be saved on this device. Try again; your text is kept.'
}

/** Fire-and-forget work whose failure is reported, never swallowed. */
function background(what: string, work: () => Promise<unknown>): void {
  work().catch((error: unknown) => console.warn(`[ferry] ${what} failed`, error))
}

/**
 * The outbox write comes first: once it commits, the message survives
 * anything. Only then is it sent; the composer clears its text only on `ok`.
 */
export async function send(roomId: string, text: string, replyTo?: Target): Promise<SendResult> {
  const problem = bodyProblem(text)
  if (problem) return { ok: false, problem }
  try {
    const db = await getDb()
    // A reply names the message by seq, or by clientId while it is one's own still unacknowledged.
    await enqueue(db, roomId, text.trim(), undefined, replyTo ? replyFields(replyTo) : {})
  } catch (error) {
    console.error('[ferry] could not write the message to the outbox', error)
    return { ok: false, problem: storageProblem(error) }
  }
  // Stored: from here a failure only delays what the screen shows, so it does not undo the send
  // (the composer clears at once; the echo follows).
  background('showing the queued message', async () => reloadOutbox(await getDb()))
  publish({ type: 'outbox-changed' })
  background('asking for persistent storage', requestPersistence)
  background('registering background sync', requestBackgroundFlush)
  // A sensible moment to offer notifications (never on first load): the person is talking here.
  void offerAfterSend()
  return { ok: true }
}

const REFUSALS: Record<ChangeRefusal, string> = {
  in_flight: 'Already being sent: it can no longer be changed.',
  gone: 'This message is no longer waiting (it was sent or removed).',
}

/** Null when done, else why not (for the person). */
async function changeOutbox(what: string, change: () => Promise<{ ok: true } | { ok: false; reason: ChangeRefusal }>) {
  try {
    const result = await change()
    publish({ type: 'outbox-changed' })
    return result.ok ? null : REFUSALS[result.reason]
  } catch (error) {
    console.error(`[ferry] could not ${what}`, error)
    return `Could not ${what} on this device. Try again.`
  }
}

export async function retryMessage(clientId: string): Promise<string | null> {
  return changeOutbox('retry the message', async () =>
    (await retry(await getDb(), clientId)) ? { ok: true } : { ok: false, reason: 'gone' },
  )
}

/** Null when the edit is saved, else why not (an in-flight message cannot change: the server may hold it). */
export async function editMessage(clientId: string, body: string): Promise<string | null> {
  const problem = bodyProblem(body)
  if (problem) return problem
  return changeOutbox('save the edit', async () => edit(await getDb(), clientId, body.trim()))
}

/** Null when discarded, else why not. */
export async function discardMessage(clientId: string): Promise<string | null> {
  return changeOutbox('discard the message', async () => discard(await getDb(), clientId))
}

/** What "Retry all" / "Discard all" did, or why nothing was done. */
export type BulkResult = { ok: true; text: string } | { ok: false; problem: string }

const plural = (n: number, word: string) => `${n} message${n === 1 ? '' : 's'} ${word}`

/**
 * Puts every failed message of the room back in line at once (one
 * transaction, see retryRoom), so they go out in the order they were written.
 * The room, not every room: the person acts on the failures they see.
 */
export async function retryAllMessages(roomId: string): Promise<BulkResult> {
  try {
    const count = await retryRoom(await getDb(), roomId)
    publish({ type: 'outbox-changed' })
    return { ok: true, text: count === 0 ? 'Nothing to retry.' : `${plural(count, 'put back in line')}.` }
  } catch (error) {
    console.error('[ferry] could not retry the messages', error)
    return { ok: false, problem: 'Could not retry the messages on this device. Try again.' }
  }
}

/** Discards the room's unsent messages; those already being sent stay, and the result says how many. */
export async function discardAllMessages(roomId: string): Promise<BulkResult> {
  try {
    const { discarded, inFlight } = await discardRoom(await getDb(), roomId)
    publish({ type: 'outbox-changed' })
    const parts = [`${plural(discarded, 'discarded')}.`]
    if (inFlight > 0)
      parts.push(
        `${inFlight} already being sent could not be discarded (the server may have ${inFlight === 1 ? 'it' : 'them'}).`,
      )
    return { ok: true, text: parts.join(' ') }
  } catch (error) {
    console.error('[ferry] could not discard the messages', error)
    return { ok: false, problem: 'Could not discard the messages on this device. Try again.' }
  }
}

let lastTyping = 0
export function typing(roomId: string): void {
  const now = Date.now()
  if (now - lastTyping < LIMITS.typingTtlMs / 2) return
  lastTyping = now
  publish({ type: 'send-typing', roomId })
}
