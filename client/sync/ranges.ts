/**
 * Pure bookkeeping of which seqs of a room we hold. The server's seq is
 * gap-free per room, so "held without holes" is a list of closed intervals;
 * the resume cursor is the top of the interval it sits in.
 */
import type { SeqRange } from '../db/schema.ts'

/** Adds [from, to] and merges overlapping or adjacent intervals. */
export function addRange(ranges: readonly SeqRange[], from: number, to: number): SeqRange[] {
  if (to < from) return ranges.slice()
  const all = [...ranges, [from, to] as SeqRange].sort((a, b) => a[0] - b[0])
  const merged: SeqRange[] = []
  for (const [a, b] of all) {
    const last = merged[merged.length - 1]
    if (last && a <= last[1] + 1) last[1] = Math.max(last[1], b)
    else merged.push([a, b])
  }
  return merged
}

/** Adds every seq, grouping consecutive runs (a page of history may skip seqs). */
export function addSeqs(ranges: readonly SeqRange[], seqs: readonly number[]): SeqRange[] {
  let out = ranges.slice()
  for (const seq of [...seqs].sort((a, b) => a - b)) out = addRange(out, seq, seq)
  return out
}

export function holds(ranges: readonly SeqRange[], seq: number): boolean {
  return ranges.some(([a, b]) => seq >= a && seq <= b)
}

/** The held interval that contains `seq`, or null. */
export function rangeOf(ranges: readonly SeqRange[], seq: number): SeqRange | null {
  return ranges.find(([a, b]) => seq >= a && seq <= b) ?? null
}

/**
 * The new resume cursor: everything up to `cursor` is accounted for, so if the
 * interval that starts right after it (or contains it) is held, jump to its end.
 */
export function advanceCursor(ranges: readonly SeqRange[], cursor: number): number {
  let next = cursor
  for (const [a, b] of ranges) if (a <= next + 1 && b > next) next = b
  return next
}

/** The first missing interval between the cursor and `upTo` (inclusive), or null. */
export function firstGap(ranges: readonly SeqRange[], cursor: number, upTo: number): SeqRange | null {
  const seq = advanceCursor(ranges, cursor) + 1
  if (seq > upTo) return null
  const nextHeld = ranges.filter(([a]) => a > seq).map(([a]) => a)
  const end = Math.min(upTo, nextHeld.length ? Math.min(...nextHeld) - 1 : upTo)
  return [seq, end]
}

export interface Incoming<T extends { seq: number }> {
  /** Events we did not hold, in seq order. */
  fresh: T[]
  /** Missing seqs between what we hold and the newest incoming event. */
  gap: SeqRange | null
}

/** Drops events already held and reports whether the batch leaves a hole behind the cursor. */
export function classifyIncoming<T extends { seq: number }>(
  ranges: readonly SeqRange[],
  cursor: number,
  events: readonly T[],
): Incoming<T> {
  const seen = new Set<number>()
  const fresh = events
    .filter((e) => {
      if (e.seq <= 0 || seen.has(e.seq) || holds(ranges, e.seq)) return false
      seen.add(e.seq)
      return true
    })
    .sort((a, b) => a.seq - b.seq)
  const after = addSeqs(
    ranges,
    fresh.map((e) => e.seq),
  )
  const newest = Math.max(cursor, ...events.map((e) => e.seq))
  return { fresh, gap: firstGap(after, cursor, newest) }
}
