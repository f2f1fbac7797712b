/**
 * What a waiting row (one's own message still in the outbox) shows besides
 * its text (issue 9): the reply it quotes, and the person's changes to it
 * queued by `targetClientId` once it was handed to the network (an edit, a
 * deletion, reactions), marked waiting, or refused with their reason. Before
 * it is handed over an edit or deletion changes the queued item itself
 * (client/outbox/operations.ts), so its text is already the item's body.
 * The same rules as the log's fold, applied in outbox order.
 */
import { messageSeqOf } from '../../shared/conversation/fold.ts'
import type { RoomEvent } from '../../shared/schemas.ts'
import type { OutboxItem } from '../db/schema.ts'
import { isSend, itemType } from '../outbox/operations.ts'
import { type FailedOperation, firstLine, foldHeld, type ShownReaction } from './timeline.ts'

/** The message a waiting row replies to: in the log (seq) or one's own still queued (clientId). */
export interface PendingReply {
  seq: number | null
  clientId: string | null
  /** Null when the quoted message is not held. */
  authorName: string | null
  firstLine: string | null
  deleted: boolean
}

export interface PendingView {
  /** The text as it will read once the queued changes are applied. */
  body: string
  edited: boolean
  deleted: boolean
  reactions: ShownReaction[]
  replyTo: PendingReply | null
  waiting: Array<'edit' | 'delete' | 'react'>
  failed: FailedOperation[]
}

/** The quote of a message in the log, from the window's entries about it (null fields when not held). */
function quoteOfSeq(seq: number, entries: readonly RoomEvent[]): PendingReply {
  const about = entries.filter((e) => messageSeqOf(e) === seq)
  const state = about.length === 0 ? null : (foldHeld(about).get(seq)?.state ?? null)
  if (!state) return { seq, clientId: null, authorName: null, firstLine: null, deleted: false }
  const deleted = state.deleted !== null
  return {
    seq,
    clientId: state.clientId,
    authorName: state.authorName ?? 'unknown',
    firstLine: deleted ? null : firstLine(state.body ?? ''),
    deleted,
  }
}

function quoteOf(
  item: OutboxItem,
  outbox: readonly OutboxItem[],
  entries: readonly RoomEvent[],
  myName: string,
): PendingReply | null {
  if (item.replyTo !== undefined) return quoteOfSeq(item.replyTo, entries)
  const clientId = item.replyToClientId
  if (clientId === undefined) return null
  const queued = outbox.find((o) => o.clientId === clientId && isSend(o))
  if (queued) {
    const view = pendingView(queued, outbox, [], myName, false)
    return {
      seq: null,
      clientId,
      authorName: myName,
      firstLine: view.deleted ? null : firstLine(view.body),
      deleted: view.deleted,
    }
  }
  // Acknowledged meanwhile: the log holds it under the same clientId.
  const sent = entries.find((e) => e.kind === 'message.created' && e.clientId === clientId)
  if (sent) return quoteOfSeq(sent.seq, entries)
  return { seq: null, clientId, authorName: myName, firstLine: null, deleted: false }
}

/**
 * The waiting row's view of a queued send: `outbox` is every item (any room,
 * in outbox order), `entries` the open room's window (for quotes of messages
 * in the log).
 */
export function pendingView(
  item: OutboxItem,
  outbox: readonly OutboxItem[],
  entries: readonly RoomEvent[],
  myName: string,
  withQuote = true,
): PendingView {
  const view: PendingView = {
    body: item.body,
    edited: false,
    deleted: false,
    reactions: [],
    replyTo: withQuote ? quoteOf(item, outbox, entries, myName) : null,
    waiting: [],
    failed: [],
  }
  for (const op of outbox) {
    if (op.roomId !== item.roomId || op.targetClientId !== item.clientId || isSend(op)) continue
    const type = itemType(op) as 'edit' | 'delete' | 'react'
    if (op.state === 'failed') {
      const error = op.error ?? { code: 'unknown', message: 'Not accepted' }
      view.failed.push({ clientId: op.clientId, type, code: error.code, message: error.message })
      continue
    }
    if (!view.waiting.includes(type)) view.waiting.push(type)
    // A deletion wins: later edits and reactions change nothing.
    if (view.deleted) continue
    if (type === 'delete') {
      view.deleted = true
      view.edited = false
      view.reactions = []
    } else if (type === 'edit') {
      view.body = op.body
      view.edited = true
    } else if (op.emoji) {
      const held = view.reactions.some((r) => r.emoji === op.emoji)
      // One's own reactions only (nobody else can see the message yet): a set, as in the fold.
      if (op.action === 'remove' && held) view.reactions = view.reactions.filter((r) => r.emoji !== op.emoji)
      else if (op.action !== 'remove' && !held)
        view.reactions.push({ emoji: op.emoji, count: 1, mine: true, waiting: true })
    }
  }
  return view
}
