/**
 * The durable outbox. A message is written here before anything else happens
 * to it, and leaves only when the server has acknowledged it (or the person
 * discards it). Items are ordered by `order`, assigned inside the writing
 * transaction so that two tabs writing at once still get a single order.
 */
import type { IDBPTransaction } from 'idb'
import type { ErrorCode } from '../../shared/errors.ts'
import type { RoomEvent } from '../../shared/schemas.ts'
import { logTransaction, type StoredBatch, storeEventsIn } from '../db/messages.ts'
import type { FerryDatabase, FerryDB, OutboxItem } from '../db/schema.ts'
import { now } from '../time/clock.ts'

/** What an item says beyond its text (issue 9): an operation's target, a reaction, a reply. */
export type ItemFields = Pick<
  OutboxItem,
  'type' | 'targetSeq' | 'targetClientId' | 'emoji' | 'action' | 'replyTo' | 'replyToClientId'
>

type OutboxTx = IDBPTransaction<FerryDB, ['outbox'], 'readwrite'>

/** Adds an item last in the one outbox order, inside `tx` (so two tabs writing at once still get one order). */
export async function addItem(
  tx: OutboxTx,
  roomId: string,
  body: string,
  fields: ItemFields = {},
  clientId: string = crypto.randomUUID(),
): Promise<OutboxItem> {
  const last = await tx.store.index('by-order').openCursor(null, 'prev')
  const item: OutboxItem = {
    clientId,
    roomId,
    body,
    ...fields,
    order: (last?.value.order ?? 0) + 1,
    createdAt: new Date(now()).toISOString(),
    state: 'waiting',
    error: null,
    attempts: 0,
  }
  tx.store.add(item)
  return item
}

export async function enqueue(
  db: FerryDatabase,
  roomId: string,
  body: string,
  clientId: string = crypto.randomUUID(),
  fields: ItemFields = {},
): Promise<OutboxItem> {
  const tx = db.transaction('outbox', 'readwrite')
  const item = await addItem(tx, roomId, body, fields, clientId)
  await tx.done
  return item
}

/** The whole outbox in creation order. */
export function listOutbox(db: FerryDatabase): Promise<OutboxItem[]> {
  return db.getAllFromIndex('outbox', 'by-order')
}

/**
 * The server committed the message or operation (`entry`, from its ack: log/entry.ts `entryFromAck`):
 * it leaves the outbox and enters the log in one step.
 */
export async function settle(db: FerryDatabase, clientId: string, entry: RoomEvent): Promise<StoredBatch> {
  const tx = logTransaction(db)
  const outbox = tx.objectStore('outbox')
  const item = await outbox.get(clientId)
  outbox.delete(clientId)
  const stored = await storeEventsIn(tx, entry.roomId, [withReplyOf(entry, item)])
  await tx.done
  return stored
}

/**
 * A send's ack carries a `Message`, which has no `replyTo` on servers that do
 * not put it there: the reply's seq the item named is kept on the entry, so
 * the quote is not lost on the sender's device.
 */
function withReplyOf(entry: RoomEvent, item: OutboxItem | undefined): RoomEvent {
  if (entry.kind !== 'message.created' || entry.replyTo != null || item?.replyTo === undefined) return entry
  return { ...entry, replyTo: item.replyTo }
}

/** Why an edit or discard was not done. */
export type ChangeRefusal =
  /** A sender handed it to the network and no answer came yet: the server may already hold it. */
  | 'in_flight'
  /** Not in the outbox any more (acknowledged, or discarded elsewhere). */
  | 'gone'

export type ChangeResult = { ok: true } | { ok: false; reason: ChangeRefusal }

async function change(
  db: FerryDatabase,
  clientId: string,
  apply: (item: OutboxItem) => OutboxItem | null,
  guard: (item: OutboxItem) => ChangeRefusal | null = () => null,
): Promise<ChangeResult> {
  const tx = db.transaction('outbox', 'readwrite')
  const item = await tx.store.get(clientId)
  let result: ChangeResult = { ok: false, reason: 'gone' }
  if (item) {
    const refusal = guard(item)
    if (refusal) result = { ok: false, reason: refusal }
    else {
      const next = apply(item)
      if (next) tx.store.put(next)
      else tx.store.delete(clientId)
      result = { ok: true }
    }
  }
  await tx.done
  return result
}

const withoutMark = ({ sentAt: _sentAt, ...item }: OutboxItem): OutboxItem => item

/** True while a sender has handed the item to the network and no answer came back. */
export const isInFlight = (item: OutboxItem): boolean => item.sentAt !== undefined

const refuseInFlight = (item: OutboxItem): ChangeRefusal | null => (isInFlight(item) ? 'in_flight' : null)

/**
 * One transaction: reads the outbox in order, lets `choose` (synchronous)
 * pick what to send now, and marks the chosen items sent at `at`. The caller
 * sends exactly the versions returned, so an edit either came before (and is
 * sent) or comes after and is refused. `previous` is the mark each item had.
 */
export async function claimForSending<T extends { item: OutboxItem }>(
  db: FerryDatabase,
  choose: (queue: OutboxItem[]) => T[],
  at: number,
): Promise<Array<T & { previous: number | undefined }>> {
  const tx = db.transaction('outbox', 'readwrite')
  const queue = await tx.store.index('by-order').getAll()
  const chosen = choose(queue).map((entry) => ({
    ...entry,
    previous: entry.item.sentAt,
    item: { ...entry.item, sentAt: at },
  }))
  for (const entry of chosen) tx.store.put(entry.item)
  await tx.done
  return chosen
}

/**
 * Marks one waiting item sent at `at` and returns its current version with
 * its predecessor: the nearest earlier item of its room still waiting (what
 * the send names in `afterClientId`). Null when it is not waiting any more.
 */
export async function markSending(
  db: FerryDatabase,
  clientId: string,
  at: number,
): Promise<{ item: OutboxItem; afterClientId: string | undefined } | null> {
  const tx = db.transaction('outbox', 'readwrite')
  const item = await tx.store.get(clientId)
  if (item?.state !== 'waiting') {
    await tx.done
    return null
  }
  const marked = { ...item, sentAt: at }
  tx.store.put(marked)
  let afterClientId: string | undefined
  const earlier = IDBKeyRange.bound([item.roomId, Number.NEGATIVE_INFINITY], [item.roomId, item.order], false, true)
  for (
    let cursor = await tx.store.index('by-room').openCursor(earlier, 'prev');
    cursor;
    cursor = await cursor.continue()
  ) {
    if (cursor.value.state === 'waiting') {
      afterClientId = cursor.value.clientId
      break
    }
  }
  await tx.done
  return { item: marked, afterClientId }
}

/** A sent mark to take back: only if the item still carries exactly `sentAt` (a later send's mark stays). */
export interface Unmark {
  clientId: string
  sentAt: number
  /** The mark to put back (a send whose outcome is still unknown), or none. */
  previous?: number | undefined
}

/** The server refused these without storing them (or they were never sent): editable again. */
export async function unmarkSent(db: FerryDatabase, marks: readonly Unmark[]): Promise<void> {
  if (marks.length === 0) return
  const tx = db.transaction('outbox', 'readwrite')
  await Promise.all(
    marks.map(async ({ clientId, sentAt, previous }) => {
      const item = await tx.store.get(clientId)
      if (item?.sentAt !== sentAt) return
      await tx.store.put(previous === undefined ? withoutMark(item) : { ...item, sentAt: previous })
    }),
  )
  await tx.done
}

export async function markFailed(
  db: FerryDatabase,
  clientId: string,
  error: { code: ErrorCode | 'network'; message: string },
): Promise<boolean> {
  const result = await change(db, clientId, (item) => ({
    ...withoutMark(item),
    state: 'failed',
    error,
    attempts: item.attempts + 1,
  }))
  return result.ok
}

/** Puts a failed message back in line (it keeps its place in the order and its clientId). */
export async function retry(db: FerryDatabase, clientId: string): Promise<boolean> {
  return (await change(db, clientId, (item) => ({ ...item, state: 'waiting', error: null }))).ok
}

/**
 * Changes the text of a message that has not been acknowledged. Refused while
 * it is in flight: the server may already hold the first version, and the ack
 * would bring that one back.
 */
export function edit(db: FerryDatabase, clientId: string, body: string): Promise<ChangeResult> {
  return change(db, clientId, (item) => ({ ...item, body, state: 'waiting', error: null }), refuseInFlight)
}

/** Removes a message that has not been sent; refused while it is in flight (it may reach everyone anyway). */
export function discard(db: FerryDatabase, clientId: string): Promise<ChangeResult> {
  return change(db, clientId, () => null, refuseInFlight)
}

/** The room's items in outbox order, inside `tx`. */
function roomRange(roomId: string): IDBKeyRange {
  return IDBKeyRange.bound([roomId, Number.NEGATIVE_INFINITY], [roomId, Number.POSITIVE_INFINITY])
}

/**
 * Puts every failed message of the room back in line, in one transaction: a
 * send pass sees all of them waiting or none, so a later one can never be sent
 * (naming an earlier predecessor, or none) while an earlier one is still
 * failed and about to be retried. Each keeps its place and clientId. Returns
 * how many were put back.
 */
export async function retryRoom(db: FerryDatabase, roomId: string): Promise<number> {
  const tx = db.transaction('outbox', 'readwrite')
  let count = 0
  for (
    let cursor = await tx.store.index('by-room').openCursor(roomRange(roomId));
    cursor;
    cursor = await cursor.continue()
  ) {
    if (cursor.value.state !== 'failed') continue
    await cursor.update({ ...cursor.value, state: 'waiting', error: null })
    count += 1
  }
  await tx.done
  return count
}

/**
 * Removes every message of the room not in flight (waiting or failed), in one
 * transaction; those a sender holds stay (the server may already have them).
 * A send still in flight that named a discarded one as its predecessor is
 * refused `out_of_order` (it was never stored) and resent naming the nearest
 * one still waiting, so order holds.
 */
export async function discardRoom(db: FerryDatabase, roomId: string): Promise<{ discarded: number; inFlight: number }> {
  const tx = db.transaction('outbox', 'readwrite')
  let discarded = 0
  let inFlight = 0
  for (
    let cursor = await tx.store.index('by-room').openCursor(roomRange(roomId));
    cursor;
    cursor = await cursor.continue()
  ) {
    if (isInFlight(cursor.value)) inFlight += 1
    else {
      await cursor.delete()
      discarded += 1
    }
  }
  await tx.done
  return { discarded, inFlight }
}
