/** What the person does with a message they write: send it, retry, edit or discard it while it waits. */
import { LIMITS } from '../../shared/limits.ts'
import { getDb } from '../db/page.ts'
import { discard, edit, enqueue, retry } from '../outbox/store.ts'
import { requestBackgroundFlush } from '../pwa/background-sync.ts'
import { requestPersistence } from '../pwa/persist.ts'
import { publish } from '../tabs/bus.ts'
import { reloadOutbox } from './feed.ts'

/** Checks a message body the way the server will, so the person learns at once. */
export function bodyProblem(text: string): string | null {
  const length = text.trim().length
  if (length < LIMITS.messageBodyMin) return 'Write something first.'
  if (length > LIMITS.messageBodyMax) return `${length - LIMITS.messageBodyMax} characters too long.`
  return null
}

/** The outbox write comes first: once it commits, the message survives anything. */
export async function send(roomId: string, text: string): Promise<boolean> {
  if (bodyProblem(text)) return false
  const db = await getDb()
  await enqueue(db, roomId, text.trim())
  await reloadOutbox(db)
  publish({ type: 'outbox-changed' })
  void requestPersistence()
  void requestBackgroundFlush()
  return true
}

export async function retryMessage(clientId: string): Promise<void> {
  await retry(await getDb(), clientId)
  publish({ type: 'outbox-changed' })
}

export async function editMessage(clientId: string, body: string): Promise<void> {
  if (bodyProblem(body)) return
  await edit(await getDb(), clientId, body.trim())
  publish({ type: 'outbox-changed' })
}

export async function discardMessage(clientId: string): Promise<void> {
  await discard(await getDb(), clientId)
  publish({ type: 'outbox-changed' })
}

let lastTyping = 0
export function typing(roomId: string): void {
  const now = Date.now()
  if (now - lastTyping < LIMITS.typingTtlMs / 2) return
  lastTyping = now
  publish({ type: 'send-typing', roomId })
}
