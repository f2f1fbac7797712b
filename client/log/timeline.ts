/**
 * What the open room shows, from the log entries it holds: each message in
 * its current state (shared/conversation/fold.ts, the one fold, the same the
 * server uses) and membership or rename notices. Both the live path and reads
 * from IndexedDB hand their entries here; nothing else folds entries.
 */
import { foldEvents, type MessageFold, type MessageState } from '../../shared/conversation/fold.ts'
import type { RoomEvent } from '../../shared/schemas.ts'

export interface ShownReaction {
  emoji: string
  count: number
  /** The person holds this one (tapping the chip removes it). */
  mine: boolean
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
  /** The person's own changes to it still in the outbox (timeline overlay, state/overlay.ts). */
  waiting?: readonly string[]
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
      return `${actor} removed ${subject}`
    case 'room.renamed':
      return `${actor} renamed the room to “${e.body ?? ''}”`
    default:
      return null
  }
}

/** The messages' states, by seq, from the entries held (any order, duplicates, gaps). */
export function foldHeld(entries: readonly RoomEvent[]): ReadonlyMap<number, MessageFold> {
  const roomId = entries[0]?.roomId
  return roomId === undefined ? new Map() : foldEvents(new Map(), roomId, entries)
}

/**
 * Folds the log into what people see. An amendment whose message is not held
 * (outside the window) waits in its fold and shows nothing; a message is
 * shown where its `message.created` is, in its current state.
 */
export function foldTimeline(entries: readonly RoomEvent[], meId?: string): ShownEntry[] {
  const folds = foldHeld(entries)
  const shown: ShownEntry[] = []
  for (const e of entries) {
    if (e.kind === 'message.created') {
      const state = folds.get(e.seq)?.state
      // A second copy of one seq (never stored twice, but a caller may merge loosely) shows once.
      if (!state || shown.at(-1)?.seq === e.seq) continue
      const message = shownMessage(state, meId)
      if (state.replyTo !== null) message.replyTo = quote(state.replyTo, folds)
      shown.push(message)
      continue
    }
    const text = noticeText(e)
    if (text !== null) shown.push({ kind: 'notice', key: `s${e.seq}`, seq: e.seq, text, createdAt: e.createdAt })
  }
  return shown
}
