/**
 * The service worker's outbox flush (Background Sync): POST each waiting
 * message with its own clientId, room by room in outbox order. The server
 * stores a clientId once, so racing a tab that sends the same item is safe;
 * still, we only run when no tab is open, since an open tab's socket flushes.
 */
import type { MessageResponse } from '../../shared/api.ts'
import type { ErrorCode } from '../../shared/errors.ts'
import type { FerryDatabase } from '../db/schema.ts'
import { listOutbox, markFailed, settle } from '../outbox/store.ts'

const PERMANENT = new Set<ErrorCode>([
  'validation_failed',
  'message_too_long',
  'message_empty',
  'forbidden',
  'not_member',
  'not_found',
  'payload_too_large',
])

/** Resolves when the outbox is drained; rejects (so the browser retries later) when the network or server fails. */
export async function flushOutboxOverHttp(db: FerryDatabase, fetchImpl: typeof fetch = fetch): Promise<number> {
  let sent = 0
  const blockedRooms = new Set<string>()
  for (const item of await listOutbox(db)) {
    if (item.state !== 'waiting' || blockedRooms.has(item.roomId)) continue
    const response = await fetchImpl(`/api/rooms/${item.roomId}/messages`, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ clientId: item.clientId, body: item.body }),
    })
    if (response.ok) {
      const { message } = (await response.json()) as MessageResponse
      await settle(db, message)
      sent += 1
      continue
    }
    const error = (await response.json().catch(() => null)) as { error?: { code: ErrorCode; message: string } } | null
    const code = error?.error?.code
    if (code && PERMANENT.has(code)) {
      await markFailed(db, item.clientId, { code, message: error?.error?.message ?? code })
      continue
    }
    // Signed out, rate limited or server trouble: keep this room's order and let the browser retry.
    blockedRooms.add(item.roomId)
  }
  if (blockedRooms.size > 0) throw new Error('outbox not fully flushed')
  return sent
}
