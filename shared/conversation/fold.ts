/**
 * The one fold from a message's log entries to its current state (issue 9),
 * for the server's denormalised state and the client's live path and
 * IndexedDB reads alike. Two layers:
 *
 * 1. `applyInOrder`: the rules, one event at a time in seq order. This is the
 *    specification; the server, which appends in seq order, uses it directly.
 * 2. `foldEvent`/`foldSnapshot`: any arrival order, duplicates and gaps (the
 *    client). They keep the entries they were given sorted by seq and replay
 *    layer 1 over them, so the result can only be the in-order result: order is
 *    by seq, never by arrival. Pure functions; an entry that changes nothing
 *    returns the same object, so a replayed batch does not re-render.
 *
 * docs/PROTOCOL.md, "Conversation events (issue 9)", states the rules for people.
 */
import type { RoomEvent } from '../schemas.ts'

/** A person holding an emoji, since the add at `seq` (an add of what they held already changes nothing). */
export interface ReactionHolder {
  userId: string
  seq: number
}

/** One emoji and who holds it, oldest holder first. */
export interface Reaction {
  emoji: string
  holders: readonly ReactionHolder[]
}

/** A message as the log says it is now. */
export interface MessageState {
  roomId: string
  seq: number
  clientId: string | null
  authorId: string | null
  authorName: string | null
  createdAt: string
  /** The latest text; null once deleted. */
  body: string | null
  replyTo: number | null
  /** Members the server found mentioned in the current text. */
  mentions: readonly string[]
  /** The edit that gave the current text; null when never edited (or deleted). */
  edited: { seq: number; at: string } | null
  /**
   * Set once deleted. `seq`/`at`/`by` are null while only a scrubbed copy
   * (body removed by the server) says so and the deletion itself is not held.
   */
  deleted: { seq: number | null; at: string | null; by: string | null } | null
  /**
   * Emoji ordered by their oldest current holder: the order a server reads
   * from a table of holders (`ORDER BY seq`), so both sides agree.
   */
  reactions: readonly Reaction[]
  /** Every event targeting this message with a seq up to this one is folded in. */
  through: number
}

const isAmendment = (e: RoomEvent): boolean =>
  e.kind === 'message.edited' ||
  e.kind === 'message.deleted' ||
  e.kind === 'reaction.added' ||
  e.kind === 'reaction.removed'

/** The message an entry is about: its own seq for a message, `targetSeq` for an amendment, else null. */
export function messageSeqOf(e: RoomEvent): number | null {
  if (e.kind === 'message.created') return e.seq
  return isAmendment(e) ? e.targetSeq : null
}

const DELETED_UNKNOWN = { seq: null, at: null, by: null } as const

function tombstone(state: MessageState, deleted: MessageState['deleted'], through: number): MessageState {
  return { ...state, body: null, mentions: [], edited: null, reactions: [], deleted, through }
}

/** A message's state right after it was written (a scrubbed copy, body null, is a deleted message). */
export function messageFromCreated(e: RoomEvent): MessageState | null {
  if (e.kind !== 'message.created') return null
  return {
    roomId: e.roomId,
    seq: e.seq,
    clientId: e.clientId,
    authorId: e.authorId,
    authorName: e.authorName,
    createdAt: e.createdAt,
    body: e.body,
    replyTo: e.replyTo ?? null,
    mentions: e.body === null ? [] : (e.mentions ?? []),
    edited: null,
    deleted: e.body === null ? DELETED_UNKNOWN : null,
    reactions: [],
    through: e.seq,
  }
}

const oldestFirst = (a: Reaction, b: Reaction) => a.holders[0]!.seq - b.holders[0]!.seq

/** Set semantics per person: adding what is held, or removing what is not, changes nothing. */
function withReaction(reactions: readonly Reaction[], emoji: string, userId: string, add: boolean, seq: number) {
  const at = reactions.findIndex((r) => r.emoji === emoji)
  const holders = at < 0 ? [] : reactions[at]!.holders
  if (holders.some((h) => h.userId === userId) === add) return reactions
  const next = reactions.slice()
  // Applied in seq order, a new holder is the newest: it goes last, and a new emoji last of all.
  if (add && at < 0) next.push({ emoji, holders: [{ userId, seq }] })
  else if (add) next[at] = { emoji, holders: [...holders, { userId, seq }] }
  else if (holders.length === 1) next.splice(at, 1)
  else next[at] = { emoji, holders: holders.filter((h) => h.userId !== userId) }
  // Removing an emoji's oldest holder can move it behind others.
  return add ? next : next.sort(oldestFirst)
}

/**
 * Applies one event, given in seq order after those already applied. An
 * event at or below `through` (a replay) or about another message changes
 * nothing and returns `state` itself. The rules:
 * - a deletion wins: the text, mentions, edit mark and reactions go, and
 *   later edits and reactions are ignored; the first deletion is the one kept;
 * - an edit replaces the text (the latest edit wins, being applied last);
 * - a reaction adds or removes one person's emoji, a set per emoji.
 */
export function applyInOrder(state: MessageState, e: RoomEvent): MessageState {
  if (e.seq <= state.through || e.roomId !== state.roomId || messageSeqOf(e) !== state.seq) return state
  if (e.kind === 'message.created') return state
  const through = e.seq
  if (e.kind === 'message.deleted') {
    if (state.deleted && state.deleted.seq !== null) return { ...state, through }
    return tombstone(state, { seq: e.seq, at: e.createdAt, by: e.authorId }, through)
  }
  if (state.deleted) return { ...state, through }
  if (e.kind === 'message.edited') {
    // The server removes an edit's text when its message is deleted: a scrubbed edit is a deletion not yet held.
    if (e.body === null) return tombstone(state, DELETED_UNKNOWN, through)
    return { ...state, body: e.body, mentions: e.mentions ?? [], edited: { seq: e.seq, at: e.createdAt }, through }
  }
  // A reaction without a person (their account is gone) or an emoji cannot be keyed: it counts for nobody.
  if (e.authorId === null || e.reaction === null) return { ...state, through }
  const reactions = withReaction(state.reactions, e.reaction, e.authorId, e.kind === 'reaction.added', e.seq)
  return { ...state, reactions, through }
}

/** Layer 2: what is held about one message, in whatever order it arrived. */
export interface MessageFold {
  roomId: string
  seq: number
  /** The message as written (`message.created`), or a server snapshot that already folds in events up to its `through`. */
  base: MessageState | null
  /** Amendments held, sorted by seq, one per seq, all above `base.through`. */
  amendments: readonly RoomEvent[]
  /** `base` with `amendments` applied; null until the base is held (a gap). */
  state: MessageState | null
}

export const emptyFold = (roomId: string, seq: number): MessageFold => ({
  roomId,
  seq,
  base: null,
  amendments: [],
  state: null,
})

function settle(roomId: string, seq: number, base: MessageState | null, amendments: readonly RoomEvent[]) {
  const kept = base ? amendments.filter((e) => e.seq > base.through) : amendments
  const state = base ? kept.reduce(applyInOrder, base) : null
  return { roomId, seq, base, amendments: kept, state }
}

/**
 * Two copies of one entry can differ only by the server's scrubbing (a
 * deletion removes the text of the message and of its edits), so the
 * scrubbed copy wins whichever arrived first.
 */
const scrubbedOver = (held: RoomEvent, incoming: RoomEvent) => incoming.body === null && held.body !== null

/** A better base: one that folds in more, or at the same point a deleted (scrubbed) copy of the same. */
function betterBase(held: MessageState | null, incoming: MessageState): boolean {
  if (!held || incoming.through !== held.through) return !held || incoming.through > held.through
  return incoming.deleted !== null && held.deleted === null
}

/** Folds in one entry of the room's log; entries about other messages (or other rooms) change nothing. */
export function foldEvent(fold: MessageFold, e: RoomEvent): MessageFold {
  if (e.roomId !== fold.roomId || messageSeqOf(e) !== fold.seq) return fold
  if (e.kind === 'message.created') return foldSnapshot(fold, messageFromCreated(e)!)
  if (fold.base && e.seq <= fold.base.through) return fold
  const list = fold.amendments
  let at = list.length
  while (at > 0 && list[at - 1]!.seq >= e.seq) at -= 1
  const held = list[at]
  if (held?.seq === e.seq) {
    if (!scrubbedOver(held, e)) return fold
    return settle(fold.roomId, fold.seq, fold.base, [...list.slice(0, at), e, ...list.slice(at + 1)])
  }
  const amendments = [...list.slice(0, at), e, ...list.slice(at)]
  // The common case, a newer entry: one step of layer 1 instead of a replay.
  if (at === list.length && fold.state) return { ...fold, amendments, state: applyInOrder(fold.state, e) }
  return settle(fold.roomId, fold.seq, fold.base, amendments)
}

/**
 * Folds in a state the server computed (a history page after a `reset`, for
 * one): it replaces the base when it folds in more than the one held.
 */
export function foldSnapshot(fold: MessageFold, snapshot: MessageState): MessageFold {
  if (snapshot.roomId !== fold.roomId || snapshot.seq !== fold.seq || !betterBase(fold.base, snapshot)) return fold
  return settle(fold.roomId, fold.seq, snapshot, fold.amendments)
}

/**
 * Folds a batch of one room's entries into per-message folds keyed by the
 * message's seq (the timeline's and IndexedDB's view). Returns `folds`
 * itself when nothing changed.
 */
export function foldEvents(
  folds: ReadonlyMap<number, MessageFold>,
  roomId: string,
  events: readonly RoomEvent[],
): ReadonlyMap<number, MessageFold> {
  let out: Map<number, MessageFold> | null = null
  for (const e of events) {
    const seq = messageSeqOf(e)
    if (seq === null || e.roomId !== roomId) continue
    const held = (out ?? folds).get(seq) ?? emptyFold(roomId, seq)
    const next = foldEvent(held, e)
    if (next === held && (out ?? folds).has(seq)) continue
    out ??= new Map(folds)
    out.set(seq, next)
  }
  return out ?? folds
}
