/**
 * The durable outbox. A message is written here before anything else happens
 * to it, and leaves only when the server has acknowledged it (or the person
 * discards it). Items are ordered by `order`, assigned inside the writing
 * transaction so that two tabs writing at once still get a single order.
 */
import type { ErrorCode } from '../../shared/errors.ts'
import type { Message } from '../../shared/schemas.ts'
import { logTransaction, messageToEvent, type StoredBatch, storeEventsIn } from '../db/messages.ts'
import type { FerryDatabase, OutboxItem } from '../db/schema.ts'

export async function enqueue(
  db: FerryDatabase,
  roomId: string,
  body: string,
  clientId: string = crypto.randomUUID(),
): Promise<OutboxItem> {
  const tx = db.transaction('outbox', 'readwrite')
  const last = await tx.store.index('by-order').openCursor(null, 'prev')
  const item: OutboxItem = {
    clientId,
    roomId,
    body,
    order: (last?.value.order ?? 0) + 1,
    createdAt: new Date().toISOString(),
    state: 'waiting',
    error: null,
    attempts: 0,
  }
  tx.store.add(item)
  await tx.done
  return item
}

/** The whole outbox in creation order. */
export function listOutbox(db: FerryDatabase): Promise<OutboxItem[]> {
  return db.getAllFromIndex('outbox', 'by-order')
}

/** The server committed the message: it leaves the outbox and enters the log in one step. */
export async function settle(db: FerryDatabase, message: Message): Promise<StoredBatch> {
  const tx = logTransaction(db)
  tx.objectStore('outbox').delete(message.clientId)
  const stored = await storeEventsIn(tx, message.roomId, [messageToEvent(message)])
  await tx.done
  return stored
}

async function change(db: FerryDatabase, clientId: string, apply: (item: OutboxItem) => OutboxItem | null) {
  const tx = db.transaction('outbox', 'readwrite')
  const item = await tx.store.get(clientId)
  if (item) {
    const next = apply(item)
    if (next) tx.store.put(next)
    else tx.store.delete(clientId)
  }
  await tx.done
  return item !== undefined
}

export function markFailed(
  db: FerryDatabase,
  clientId: string,
  error: { code: ErrorCode | 'network'; message: string },
): Promise<boolean> {
  return change(db, clientId, (item) => ({ ...item, state: 'failed', error, attempts: item.attempts + 1 }))
}

/** Puts a failed message back in line (it keeps its place in the order and its clientId). */
export function retry(db: FerryDatabase, clientId: string): Promise<boolean> {
  return change(db, clientId, (item) => ({ ...item, state: 'waiting', error: null }))
}

/**
 * Changes the text of a message that has not been acknowledged. If its first
 * version already reached the server, the ack carries that version and wins:
 * the clientId makes the server keep exactly one.
 */
export function edit(db: FerryDatabase, clientId: string, body: string): Promise<boolean> {
  return change(db, clientId, (item) => ({ ...item, body, state: 'waiting', error: null }))
}

export function discard(db: FerryDatabase, clientId: string): Promise<boolean> {
  return change(db, clientId, () => null)
}
