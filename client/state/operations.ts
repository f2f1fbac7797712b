/**
 * What the person does to a message in the conversation (issue 9): edit,
 * delete, react, reply. Each writes the outbox first (client/outbox/operations.ts),
 * so it survives reloads and goes out in order with the room's messages, then
 * tells every tab. The screen shows it at once from the outbox (the timeline
 * overlay), marked waiting. Actions never reject; they answer null when done,
 * else what to tell the person.
 */
import { reactionProblem } from '../../shared/conversation/emoji.ts'
import { getDb } from '../db/page.ts'
import type { FerryDatabase } from '../db/schema.ts'
import { queueDelete, queueEdit, queueReaction, type Target } from '../outbox/operations.ts'
import { requestBackgroundFlush } from '../pwa/background-sync.ts'
import { publish } from '../tabs/bus.ts'
import { bodyProblem } from './compose.ts'
import { reloadOutbox } from './feed.ts'

export type { Target }

/** Why a refused operation failed, in words for the person (the server's message is for developers). */
export const FAILURE_TEXT: Readonly<Record<string, string>> = {
  target_not_found: 'the message is not there any more',
  target_deleted: 'the message was deleted',
  forbidden: 'you may not change this message',
  invalid_reaction: 'that is not a single emoji',
  not_member: 'you are no longer a member of this room',
}

export function failureText(code: string, message: string): string {
  return FAILURE_TEXT[code] ?? message
}

async function write(what: string, work: (db: FerryDatabase) => Promise<unknown>): Promise<string | null> {
  try {
    const db = await getDb()
    await work(db)
    await reloadOutbox(db)
  } catch (error) {
    console.error(`[ferry] could not ${what}`, error)
    return `Could not ${what} on this device. Try again.`
  }
  publish({ type: 'outbox-changed' })
  requestBackgroundFlush().catch((error: unknown) => console.warn('[ferry] background sync failed', error))
  return null
}

/** A new text for a message (one's own): the queued message itself while it waits, else an edit operation. */
export function editMessageText(roomId: string, target: Target, text: string): Promise<string | null> {
  const problem = bodyProblem(text)
  if (problem) return Promise.resolve(problem)
  return write('save the edit', (db) => queueEdit(db, roomId, target, text.trim()))
}

/** Deletes a message (one's own, or any as a moderator): a queued one is simply discarded. */
export function deleteMessage(roomId: string, target: Target): Promise<string | null> {
  return write('delete the message', (db) => queueDelete(db, roomId, target))
}

/** Adds the person's `emoji`, or removes it when they hold it (`held`, as the screen shows it). */
export function toggleReaction(roomId: string, target: Target, emoji: string, held: boolean): Promise<string | null> {
  const problem = reactionProblem(emoji)
  if (problem) return Promise.resolve(problem)
  return write('save the reaction', (db) => queueReaction(db, roomId, target, emoji, held ? 'remove' : 'add'))
}
