import { describe, expect, it } from 'vitest'
import {
  addRange,
  addSeqs,
  advanceCursor,
  classifyIncoming,
  firstGap,
  holds,
  rangeOf,
} from '../../client/sync/ranges.ts'

const e = (seq: number) => ({ seq })

describe('seq ranges', () => {
  it('merges overlapping and adjacent intervals', () => {
    expect(addRange([[1, 3]], 4, 6)).toEqual([[1, 6]])
    expect(addRange([[1, 3]], 6, 8)).toEqual([
      [1, 3],
      [6, 8],
    ])
    expect(
      addRange(
        [
          [1, 3],
          [6, 8],
        ],
        2,
        7,
      ),
    ).toEqual([[1, 8]])
    expect(addSeqs([], [5, 3, 4, 9])).toEqual([
      [3, 5],
      [9, 9],
    ])
  })

  it('an island far back is its own range: the cursor does not move over the hole, and each seq knows its range', () => {
    const live = addRange([], 951, 1000)
    const withIsland = addSeqs(live, [300, 251, 350, ...Array.from({ length: 97 }, (_, i) => 252 + i), 349])
    expect(withIsland).toEqual([
      [251, 350],
      [951, 1000],
    ])
    expect(advanceCursor(withIsland, 1000)).toBe(1000)
    expect(advanceCursor(withIsland, 0)).toBe(0)
    expect(rangeOf(withIsland, 300)).toEqual([251, 350])
    expect(rangeOf(withIsland, 351)).toBeNull()
    expect(rangeOf(withIsland, 951)).toEqual([951, 1000])
    expect(firstGap(withIsland, 1000, 1005)).toEqual([1001, 1005])
  })

  it('advances the cursor only through held seqs', () => {
    const ranges = addSeqs([], [1, 2, 3, 5, 6])
    expect(advanceCursor(ranges, 0)).toBe(3)
    expect(advanceCursor(ranges, 3)).toBe(3)
    expect(advanceCursor(addRange(ranges, 4, 4), 3)).toBe(6)
    expect(holds(ranges, 4)).toBe(false)
    expect(holds(ranges, 5)).toBe(true)
  })

  it('finds the first missing interval', () => {
    const ranges = addSeqs([], [1, 2, 3, 7, 8])
    expect(firstGap(ranges, 3, 8)).toEqual([4, 6])
    expect(firstGap(ranges, 0, 3)).toBeNull()
    expect(firstGap(ranges, 8, 10)).toEqual([9, 10])
  })
})

describe('gap detection on incoming events', () => {
  it('accepts the next events in order with no gap', () => {
    const { fresh, gap } = classifyIncoming([[1, 3]], 3, [e(4), e(5)])
    expect(fresh.map((x) => x.seq)).toEqual([4, 5])
    expect(gap).toBeNull()
  })

  it('drops events already held and duplicates within a batch', () => {
    const { fresh, gap } = classifyIncoming([[1, 5]], 5, [e(3), e(5), e(6), e(6)])
    expect(fresh.map((x) => x.seq)).toEqual([6])
    expect(gap).toBeNull()
  })

  it('reports the hole when events skip ahead of the cursor', () => {
    const { fresh, gap } = classifyIncoming([[1, 3]], 3, [e(7), e(8)])
    expect(fresh.map((x) => x.seq)).toEqual([7, 8])
    expect(gap).toEqual([4, 6])
  })

  it('sees no gap when the skipped seqs are already held (e.g. our own acked messages)', () => {
    const { gap } = classifyIncoming(
      [
        [1, 3],
        [4, 5],
      ],
      3,
      [e(6)],
    )
    expect(gap).toBeNull()
  })

  it('after a reset, the hole below the resume point is not a gap', () => {
    const { gap } = classifyIncoming([[1, 10]], 600, [e(601)])
    expect(gap).toBeNull()
  })
})
