/**
 * The service worker's outbox flush (Background Sync): POST each waiting
 * message with its own clientId, room by room in outbox order, each naming
 * in `afterClientId` the nearest earlier message of its room still waiting
 * (docs/PROTOCOL.md "Sender order"). The server stores a clientId once, so
 * racing a tab that sends the same item is safe; still, we only run when no
 * tab is open, since an open tab's socket flushes.
 *
 * Each item is marked `sentAt` before its POST (it cannot be edited or
 * discarded while the server may hold it). A Ferry error answer means nothing
 * was stored: the mark is taken back. No answer (network error) or an answer
 * that is not Ferry's (a proxy's 502) leaves the mark: the outcome is unknown
 * until the next send of that clientId is answered.
 */
import type { MessageResponse } from '../../shared/api.ts'
import type { ErrorCode } from '../../shared/errors.ts'
import type { RoomEvent } from '../../shared/schemas.ts'
import type { FerryDatabase } from '../db/schema.ts'
import { entryFromMessage } from '../log/entry.ts'
import { httpRequestOf } from '../outbox/operations.ts'
import { listOutbox, markFailed, markSending, settle, unmarkSent } from '../outbox/store.ts'
import type { TabMessage } from '../tabs/messages.ts'

const PERMANENT = new Set<ErrorCode>([
  'validation_failed',
  'message_too_long',
  'message_empty',
  'not_storable',
  'forbidden',
  'not_member',
  'not_found',
  'payload_too_large',
  // Issue 9: an operation whose message is gone, deleted or not the person's to change, or a bad emoji.
  'target_not_found',
  'target_deleted',
  'invalid_reaction',
])

/** Refusals that hold for every further send of this user (or the whole server): stop the pass. */
const STOP_ALL = new Set<ErrorCode>(['rate_limited', 'overloaded', 'unauthorized', 'unavailable'])

/**
 * Resolves when the outbox is drained; rejects (so the browser retries later) when the network or
 * server fails. `tell` reaches the tabs (the tab bus's channel): what it stored and that the outbox
 * changed. It runs when no tab is open, but one may open during the pass, having read the outbox
 * before: untold, it would show a settled message as waiting for good (its own flusher finds
 * nothing left to send, and its ack, if it sent too, stores nothing new to announce).
 */
export async function flushOutboxOverHttp(
  db: FerryDatabase,
  fetchImpl: typeof fetch = fetch,
  now: () => number = () => Date.now(),
  tell: (message: TabMessage) => void = () => undefined,
): Promise<number> {
  let marked = 0
  try {
    return await flushPass(db, fetchImpl, now, tell, () => {
      marked += 1
    })
  } finally {
    if (marked > 0) tell({ type: 'outbox-changed' })
  }
}

async function flushPass(
  db: FerryDatabase,
  fetchImpl: typeof fetch,
  now: () => number,
  tell: (message: TabMessage) => void,
  onMarked: () => void,
): Promise<number> {
  let sent = 0
  const blockedRooms = new Set<string>()
  for (const listed of await listOutbox(db)) {
    if (listed.state !== 'waiting' || blockedRooms.has(listed.roomId)) continue
    const sentAt = now()
    const marked = await markSending(db, listed.clientId, sentAt)
    if (!marked) continue
    onMarked()
    const { item, afterClientId } = marked
    // A message to …/messages, an edit, delete or reaction to …/operations (issue 9), in the one order.
    const request = httpRequestOf(item, afterClientId)
    let response: Response
    try {
      response = await fetchImpl(request.path, {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(request.body),
      })
    } catch (error) {
      // Offline or cut off: the outcome is unknown (the mark stays); the browser retries the sync.
      console.warn('sw flush: POST failed, will retry', item.clientId, error)
      throw error
    }
    if (response.ok) {
      const answer = (await response.json()) as MessageResponse | { event: RoomEvent }
      const stored = await settle(
        db,
        item.clientId,
        'event' in answer ? answer.event : entryFromMessage(answer.message),
      )
      if (stored.fresh.length > 0) tell({ type: 'events', roomId: item.roomId, events: stored.fresh })
      sent += 1
      continue
    }
    const error = (await response.json().catch(() => null)) as { error?: { code: ErrorCode; message: string } } | null
    const code = error?.error?.code
    if (!code) {
      // Not Ferry's answer (a proxy's error page): the message may be stored; keep the mark and this room's order.
      console.warn('sw flush: unexpected answer', response.status, item.clientId)
      blockedRooms.add(item.roomId)
      continue
    }
    await unmarkSent(db, [{ clientId: item.clientId, sentAt }])
    if (PERMANENT.has(code)) {
      await markFailed(db, item.clientId, { code, message: error?.error?.message ?? code })
      continue
    }
    // out_of_order (its predecessor is not stored yet: another sender has it), internal…:
    // keep this room's order and let the browser retry. Rate limited, overloaded or signed out: stop here.
    blockedRooms.add(item.roomId)
    if (STOP_ALL.has(code)) break
  }
  if (blockedRooms.size > 0) throw new Error('outbox not fully flushed')
  return sent
}
