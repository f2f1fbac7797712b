/**
 * What the open room shows, from the log entries it holds: each message in
 * its current state (shared/conversation/fold.ts, the one fold, the same the
 * server uses) and membership or rename notices. Both the live path and reads
 * from IndexedDB hand their entries here; nothing else folds entries.
 */
import {
  applyInOrder,
  emptyFold,
  foldEvents,
  foldSnapshot,
  type MessageFold,
  type MessageState,
} from '../../shared/conversation/fold.ts'
import type { RoomEvent } from '../../shared/schemas.ts'
import type { OutboxItem } from '../db/schema.ts'
import { itemType } from '../outbox/operations.ts'
import { amendmentsOf, snapshotOf } from './entry.ts'

export interface ShownReaction {
  emoji: string
  count: number
  /** The person holds this one (tapping the chip removes it). */
  mine: boolean
  /** The person's change to it is still in the outbox. */
  waiting?: boolean
}

/** One of the person's operations on a message that the server refused (it stays until retried or discarded). */
export interface FailedOperation {
  clientId: string
  type: 'edit' | 'delete' | 'react'
  code: string
  message: string
}

/** The message a reply quotes: author and first line, when it is held. */
export interface ShownReply {
  seq: number
  /** Null when the quoted message is not in the window (or not known to be deleted). */
  authorName: string | null
  firstLine: string | null
  deleted: boolean
}

export interface ShownMessage {
  kind: 'message'
  key: string
  seq: number
  clientId: string | null
  authorId: string | null
  authorName: string
  /** '' once deleted. */
  body: string
  createdAt: string
  edited: boolean
  deleted: boolean
  reactions: ShownReaction[]
  replyTo: ShownReply | null
  /** User ids the server found mentioned in the current text. */
  mentions: readonly string[]
  /** The person's own changes to it still in the outbox, shown already (the overlay, below). */
  waiting?: ReadonlyArray<'edit' | 'delete' | 'react'>
  failed?: readonly FailedOperation[]
}

export interface ShownNotice {
  kind: 'notice'
  key: string
  seq: number
  text: string
  createdAt: string
}

export type ShownEntry = ShownMessage | ShownNotice

/** The first non-empty line, as a reply quote shows it. */
export function firstLine(text: string): string {
  return (
    text
      .split('\n')
      .find((line) => line.trim() !== '')
      ?.trim() ?? ''
  )
}

export function shownMessage(state: MessageState, meId: string | undefined): ShownMessage {
  return {
    kind: 'message',
    key: `s${state.seq}`,
    seq: state.seq,
    clientId: state.clientId,
    authorId: state.authorId,
    authorName: state.authorName ?? 'unknown',
    body: state.body ?? '',
    createdAt: state.createdAt,
    edited: state.edited !== null,
    deleted: state.deleted !== null,
    reactions: state.reactions.map((r) => ({
      emoji: r.emoji,
      count: r.holders.length,
      mine: meId !== undefined && r.holders.some((h) => h.userId === meId),
    })),
    replyTo: null,
    mentions: state.mentions,
  }
}

function quote(seq: number, folds: ReadonlyMap<number, MessageFold>): ShownReply {
  const state = folds.get(seq)?.state
  if (!state) return { seq, authorName: null, firstLine: null, deleted: false }
  const deleted = state.deleted !== null
  return {
    seq,
    authorName: state.authorName ?? 'unknown',
    firstLine: deleted ? null : firstLine(state.body ?? ''),
    deleted,
  }
}

const name = (value: string | null | undefined, fallback: string) => value ?? fallback

/** A quiet line for a membership change or a rename; null for kinds that show as nothing. */
export function noticeText(e: RoomEvent): string | null {
  const actor = name(e.authorName, 'Someone')
  // Entries from before issue 9 name only the actor (who joined or left by themself).
  const subject = name(e.subjectName, actor)
  const byOther = e.subjectId !== undefined && e.subjectId !== null && e.subjectId !== e.authorId
  switch (e.kind) {
    case 'member.joined':
      return byOther ? `${actor} added ${subject}` : `${subject} joined`
    case 'member.left':
      return `${subject} left`
    case 'member.removed':
      // The person it happened to first, as the other lines ("ben left", "ben joined").
      return e.authorName ? `${subject} was removed by ${actor}` : `${subject} was removed`
    case 'room.renamed':
      return `${actor} renamed the room to “${e.body ?? ''}”`
    default:
      return null
  }
}

/**
 * The messages' states, by seq, from the entries held (any order, duplicates,
 * gaps): the entries themselves, the amendments a message carries from outside
 * the window, and the server's snapshot a message from a history page carries
 * (the fold starts from it and ignores what it already holds).
 */
export function foldHeld(entries: readonly RoomEvent[]): ReadonlyMap<number, MessageFold> {
  const roomId = entries[0]?.roomId
  if (roomId === undefined) return new Map()
  let folds = foldEvents(new Map(), roomId, entries)
  const carried = entries.flatMap(amendmentsOf)
  if (carried.length > 0) folds = foldEvents(folds, roomId, carried)
  let out: Map<number, MessageFold> | null = null
  for (const e of entries) {
    const snapshot = e.kind === 'message.created' ? snapshotOf(e) : undefined
    if (!snapshot || e.roomId !== roomId) continue
    out ??= new Map(folds)
    out.set(e.seq, foldSnapshot(out.get(e.seq) ?? emptyFold(roomId, e.seq), snapshot))
  }
  return out ?? folds
}

const KIND = { edit: 'message.edited', delete: 'message.deleted' } as const

/** A waiting operation as the log entry it will become, one seq after what the state folds in. */
function asEntry(item: OutboxItem, state: MessageState, meId: string): RoomEvent {
  const type = itemType(item)
  const kind =
    type === 'react'
      ? item.action === 'remove'
        ? 'reaction.removed'
        : 'reaction.added'
      : KIND[type as 'edit' | 'delete']
  return {
    roomId: state.roomId,
    seq: state.through + 1,
    kind,
    authorId: meId,
    authorName: null,
    clientId: item.clientId,
    body: type === 'edit' ? item.body : null,
    targetSeq: state.seq,
    reaction: item.emoji ?? null,
    createdAt: item.createdAt,
  }
}

interface Overlay {
  state: MessageState
  waiting: Array<'edit' | 'delete' | 'react'>
  waitingEmoji: Set<string>
  failed: FailedOperation[]
}

/**
 * The person's operations still in the outbox, over the states the log gives
 * (docs/PROTOCOL.md, Offline semantics 4): waiting ones are folded in by the
 * same rules, as if they were the next entries, in outbox order; failed ones
 * are listed with their reason. Operations on a message not in the log yet
 * (one's own, still queued) change nothing here.
 */
function overlay(
  folds: ReadonlyMap<number, MessageFold>,
  entries: readonly RoomEvent[],
  items: readonly OutboxItem[],
  meId: string,
): Map<number, Overlay> {
  const out = new Map<number, Overlay>()
  let bySender: Map<string, number> | null = null
  for (const item of items) {
    const type = itemType(item)
    if (type === 'send') continue
    let seq = item.targetSeq
    if (seq === undefined && item.targetClientId !== undefined) {
      bySender ??= new Map(entries.filter((e) => e.clientId !== null).map((e) => [e.clientId!, e.seq]))
      seq = bySender.get(item.targetClientId)
    }
    const state = seq === undefined ? null : folds.get(seq)?.state
    if (!state) continue
    const held = out.get(state.seq) ?? { state, waiting: [], waitingEmoji: new Set<string>(), failed: [] }
    if (item.state === 'failed') {
      const error = item.error ?? { code: 'unknown', message: 'Not accepted' }
      held.failed.push({ clientId: item.clientId, type, code: error.code, message: error.message })
    } else {
      held.state = applyInOrder(held.state, asEntry(item, held.state, meId))
      if (!held.waiting.includes(type)) held.waiting.push(type)
      if (item.emoji) held.waitingEmoji.add(item.emoji)
    }
    out.set(state.seq, held)
  }
  return out
}

function withOverlay(message: ShownMessage, o: Overlay | undefined): ShownMessage {
  if (!o) return message
  if (o.waiting.length > 0) message.waiting = o.waiting
  if (o.failed.length > 0) message.failed = o.failed
  for (const r of message.reactions) if (o.waitingEmoji.has(r.emoji)) r.waiting = true
  return message
}

/**
 * Folds the log into what people see. An amendment whose message is not held
 * (outside the window) waits in its fold and shows nothing; a message is
 * shown where its `message.created` is, in its current state.
 */
export function foldTimeline(
  entries: readonly RoomEvent[],
  meId?: string,
  outbox: readonly OutboxItem[] = [],
): ShownEntry[] {
  const folds = foldHeld(entries)
  const overlays = meId === undefined || outbox.length === 0 ? null : overlay(folds, entries, outbox, meId)
  const shown: ShownEntry[] = []
  for (const e of entries) {
    if (e.kind === 'message.created') {
      const o = overlays?.get(e.seq)
      const state = o?.state ?? folds.get(e.seq)?.state
      // A second copy of one seq (never stored twice, but a caller may merge loosely) shows once.
      if (!state || shown.at(-1)?.seq === e.seq) continue
      const message = withOverlay(shownMessage(state, meId), o)
      if (state.replyTo !== null) message.replyTo = quote(state.replyTo, folds)
      shown.push(message)
      continue
    }
    const text = noticeText(e)
    if (text !== null) shown.push({ kind: 'notice', key: `s${e.seq}`, seq: e.seq, text, createdAt: e.createdAt })
  }
  return shown
}
