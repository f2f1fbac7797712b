/**
 * Changes to a conversation in the outbox (issue 9): edit, delete, react, and
 * a send that replies. Each is an outbox item with its own clientId, in the
 * one outbox order, so it takes its place in its room's `afterClientId` chain
 * beside messages: an edit written after its message can never reach the
 * server before it (docs/PROTOCOL.md, "Offline semantics").
 *
 * The message acted on is named by seq when the log holds it, else by the
 * clientId of one's own message still in the outbox. Editing or deleting a
 * message still waiting and not handed to the network changes the queued
 * message itself (no operation is written); once handed over (`sentAt`), the
 * server may hold it, so the change becomes an operation by `targetClientId`.
 */
import type { OperationBody, OperationFrame, ReplyFields } from '../../shared/conversation/requests.ts'
import type { SendFrame } from '../../shared/protocol.ts'
import type { FerryDatabase, OutboxItem, OutboxItemType } from '../db/schema.ts'
import { addItem, type ItemFields, isInFlight } from './store.ts'

export const itemType = (item: OutboxItem): OutboxItemType => item.type ?? 'send'
export const isSend = (item: OutboxItem): boolean => itemType(item) === 'send'

/** A message acted on: one in the log (its seq), or one's own still in the outbox (its clientId). */
export type Target = { seq: number } | { clientId: string }

/** What a change did: the queued message itself changed, or an operation was queued. */
export type ChangeOutcome = { done: 'changed_queued' } | { done: 'queued'; item: OutboxItem }

const targetFields = (target: Target): ItemFields =>
  'seq' in target ? { targetSeq: target.seq } : { targetClientId: target.clientId }

/**
 * Runs `change` on the target's outbox item when it is a send still
 * waiting and not handed to the network; otherwise queues `operation`. One
 * transaction, so a sender cannot claim the item between the look and the change.
 */
async function changeOrQueue(
  db: FerryDatabase,
  roomId: string,
  target: Target,
  change: (tx: ReturnType<typeof outboxTx>, item: OutboxItem) => Promise<void>,
  operation: { body: string; fields: ItemFields },
): Promise<ChangeOutcome> {
  const tx = outboxTx(db)
  const queued = 'clientId' in target ? await tx.store.get(target.clientId) : undefined
  let outcome: ChangeOutcome
  if (queued && isSend(queued) && !isInFlight(queued)) {
    await change(tx, queued)
    outcome = { done: 'changed_queued' }
  } else {
    const fields = { ...operation.fields, ...targetFields(target) }
    outcome = { done: 'queued', item: await addItem(tx, roomId, operation.body, fields) }
  }
  await tx.done
  return outcome
}

const outboxTx = (db: FerryDatabase) => db.transaction('outbox', 'readwrite')

/** `body` is checked by the caller (trimmed, the server's rule). */
export function queueEdit(db: FerryDatabase, roomId: string, target: Target, body: string): Promise<ChangeOutcome> {
  return changeOrQueue(
    db,
    roomId,
    target,
    async (tx, item) => {
      await tx.store.put({ ...item, body, state: 'waiting', error: null })
    },
    { body, fields: { type: 'edit' } },
  )
}

/**
 * Deleting a message still queued discards it; what was queued against it by
 * clientId goes with it (its edits, reactions, deletions), and a reply to it
 * keeps its text and drops `replyToClientId`. Items already handed to the
 * network stay: they fail `target_not_found`, visibly.
 */
export function queueDelete(db: FerryDatabase, roomId: string, target: Target): Promise<ChangeOutcome> {
  return changeOrQueue(
    db,
    roomId,
    target,
    async (tx, item) => {
      await tx.store.delete(item.clientId)
      const range = IDBKeyRange.bound([item.roomId, Number.NEGATIVE_INFINITY], [item.roomId, Number.POSITIVE_INFINITY])
      for (let c = await tx.store.index('by-room').openCursor(range); c; c = await c.continue()) {
        const other = c.value
        if (isInFlight(other)) continue
        if (other.targetClientId === item.clientId) await c.delete()
        else if (other.replyToClientId === item.clientId) {
          const { replyToClientId: _dropped, ...kept } = other
          await c.update(kept)
        }
      }
    },
    { body: '', fields: { type: 'delete' } },
  )
}

/** A reaction always goes through the log (even on one's own queued message), so it is one operation. */
export async function queueReaction(
  db: FerryDatabase,
  roomId: string,
  target: Target,
  emoji: string,
  action: 'add' | 'remove',
): Promise<OutboxItem> {
  const tx = outboxTx(db)
  const item = await addItem(tx, roomId, '', { type: 'react', emoji, action, ...targetFields(target) })
  await tx.done
  return item
}

/** The reply fields of a send naming `target`. */
export const replyFields = (target: Target): ItemFields =>
  'seq' in target ? { replyTo: target.seq } : { replyToClientId: target.clientId }

/** A send over the socket may reply (shared/conversation/requests.ts `ReplyFields`). */
export type OutgoingFrame = (SendFrame & ReplyFields) | OperationFrame

function target(item: OutboxItem): { targetSeq: number } | { targetClientId: string } {
  if (item.targetSeq !== undefined) return { targetSeq: item.targetSeq }
  return { targetClientId: item.targetClientId ?? '' }
}

/** The request an item makes, minus the room (the socket frame adds it, the HTTP path holds it). */
export function requestOf(
  item: OutboxItem,
  afterClientId: string | undefined,
): Omit<SendFrame, 'type' | 'roomId'> | OperationBody {
  const queued = { clientId: item.clientId, ...(afterClientId ? { afterClientId } : {}) }
  switch (itemType(item)) {
    case 'edit':
      return { type: 'edit', ...queued, ...target(item), body: item.body }
    case 'delete':
      return { type: 'delete', ...queued, ...target(item) }
    case 'react':
      return {
        type: 'react',
        ...queued,
        ...target(item),
        emoji: item.emoji ?? '',
        action: item.action ?? 'add',
      }
    default: {
      const reply =
        item.replyTo !== undefined
          ? { replyTo: item.replyTo }
          : item.replyToClientId !== undefined
            ? { replyToClientId: item.replyToClientId }
            : {}
      return { ...queued, body: item.body, ...reply }
    }
  }
}

/** The socket frame for an item. */
export function frameOf(item: OutboxItem, afterClientId: string | undefined): OutgoingFrame {
  const request = requestOf(item, afterClientId)
  if ('type' in request) return { ...request, roomId: item.roomId } as OperationFrame
  return { type: 'send', roomId: item.roomId, ...request }
}

/** The HTTP request for an item (the fallback and Background Sync path). */
export function httpRequestOf(item: OutboxItem, afterClientId: string | undefined): { path: string; body: unknown } {
  const request = requestOf(item, afterClientId)
  const room = `/api/rooms/${item.roomId}`
  return 'type' in request ? { path: `${room}/operations`, body: request } : { path: `${room}/messages`, body: request }
}
