/**
 * Keeping the open room's window of entries true to every change the device
 * holds, when the window does not hold all of the log: an amendment (edit,
 * deletion, reaction) that lies outside the window rides on its message
 * (`WindowEntry.amendments`), and a message that comes back with a newer
 * server snapshot replaces the copy held. Pure functions, used by the window
 * rules of client/state/reducers.ts; the fold (timeline.ts `foldHeld`) reads both.
 */
import { messageSeqOf } from '../../shared/conversation/fold.ts'
import type { RoomEvent } from '../../shared/schemas.ts'
import { amendmentsOf, snapshotOf, type WindowEntry } from './entry.ts'

/** An edit, deletion or reaction: an entry about a message other than itself. */
export const isAmendment = (e: RoomEvent): boolean => {
  const target = messageSeqOf(e)
  return target !== null && target !== e.seq
}

/** Index of the entry with `seq` in entries sorted by seq, or -1. */
function indexOfSeq(entries: readonly RoomEvent[], seq: number): number {
  let lo = 0
  let hi = entries.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (entries[mid]!.seq < seq) lo = mid + 1
    else hi = mid
  }
  return entries[lo]?.seq === seq ? lo : -1
}

/**
 * One copy of a message from two: the newer snapshot and every amendment
 * either carries. Null when `incoming` adds nothing to `held` (the window
 * keeps its array, and nothing re-renders).
 */
export function mergedEntry(held: RoomEvent, incoming: RoomEvent): RoomEvent | null {
  if (held.kind !== 'message.created' || incoming.kind !== 'message.created') return null
  const heldState = snapshotOf(held)
  const newState = snapshotOf(incoming)
  const newer = newState !== undefined && newState.through > (heldState?.through ?? 0)
  const seen = new Set(amendmentsOf(held).map((e) => e.seq))
  const added = amendmentsOf(incoming).filter((e) => !seen.has(e.seq))
  if (!newer && added.length === 0) return null
  const base: WindowEntry = newer ? { ...incoming } : { ...held }
  const amendments = [...amendmentsOf(held), ...added]
  if (amendments.length > 0) base.amendments = amendments
  return base
}

/**
 * Entries leaving the window (or never let in) whose message stays in it:
 * each amendment among them rides on its message, so the message still shows
 * it. Returns `kept` itself when none does.
 */
export function carryAmendments(kept: readonly RoomEvent[], leaving: readonly RoomEvent[]): RoomEvent[] {
  let out: RoomEvent[] | null = null
  for (const e of leaving) {
    if (!isAmendment(e)) continue
    const at = indexOfSeq(out ?? kept, messageSeqOf(e)!)
    if (at < 0) continue
    out ??= kept.slice()
    const message = out[at]!
    if (amendmentsOf(message).some((a) => a.seq === e.seq)) continue
    out[at] = { ...message, amendments: [...amendmentsOf(message), e] } as WindowEntry
  }
  return out ?? (kept as RoomEvent[])
}
