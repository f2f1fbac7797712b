/**
 * The notifications banner's history per person on this device (store `pushPrompt`, key: the
 * user id; docs/PUSH.md "Client: the page"): whether they sent their first message here, and
 * whether they answered the offer (dismissed it, or turned notifications on). It is not a user
 * store, so logout keeps it: the banner comes once per person on this device, not once per login.
 * Read as unknown data: a record an older version or damage left reads as "not yet".
 */
import type { FerryDatabase, PushPromptRecord } from '../db/schema.ts'

export const DEFAULT_PUSH_PROMPT: PushPromptRecord = { v: 1, sent: false, answered: false }

export function pushPromptOf(value: unknown): PushPromptRecord {
  if (typeof value !== 'object' || value === null) return DEFAULT_PUSH_PROMPT
  const { v, sent, answered } = value as Record<string, unknown>
  if (v !== 1 || typeof sent !== 'boolean' || typeof answered !== 'boolean') return DEFAULT_PUSH_PROMPT
  return { v: 1, sent, answered }
}

export async function readPushPrompt(db: FerryDatabase, userId: string): Promise<PushPromptRecord> {
  return pushPromptOf(await db.get('pushPrompt', userId))
}

/**
 * Records a sent message in one transaction (read, change, write), so two sends at once make one
 * first message. Returns the record as it was before: `sent: false` means this was the first.
 */
export async function recordSend(db: FerryDatabase, userId: string): Promise<PushPromptRecord> {
  const tx = db.transaction('pushPrompt', 'readwrite')
  const before = pushPromptOf(await tx.store.get(userId))
  if (!before.sent) tx.store.put({ ...before, sent: true }, userId)
  await tx.done
  return before
}

/** The offer was answered (dismissed, or notifications turned on): it never comes again for this person here. */
export async function recordAnswer(db: FerryDatabase, userId: string): Promise<void> {
  const tx = db.transaction('pushPrompt', 'readwrite')
  const before = pushPromptOf(await tx.store.get(userId))
  tx.store.put({ ...before, answered: true }, userId)
  await tx.done
}
