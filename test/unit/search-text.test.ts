import { describe, expect, it } from 'vitest'
import { fold, matches, matchRanges, parseQuery, snippet, words, wordsAt } from '../../shared/search/text.ts'

const match = (q: string, text: string) => matches(parseQuery(q)!, words(text))

describe('search text rules (shared/search/text.ts)', () => {
  it('folds case and accents, and splits on anything but letters and digits', () => {
    expect(fold('Ça Crème ÉTÉ')).toBe('ca creme ete')
    expect(words("Depot-gate: 7 o'clock, Zürich!")).toEqual(['depot', 'gate', '7', 'o', 'clock', 'zurich'])
    expect(wordsAt('Ça va')).toEqual([
      { word: 'ca', start: 0, end: 2 },
      { word: 'va', start: 3, end: 5 },
    ])
  })

  it('parses words, phrases, exclusions and or; nothing left is null', () => {
    expect(parseQuery('depot "north gate" -closed or open')).toEqual({
      clauses: [[['depot']], [['north', 'gate']], [['open']]],
      excluded: [['closed']],
      prefix: true,
    })
    expect(parseQuery('a or b')?.clauses).toEqual([[['a'], ['b']]])
    for (const q of ['', '   ', '---', '""', '-word', 'or', "& | ! <-> :* \\ '", "'); --"])
      expect(parseQuery(q), q).toBeNull()
    // SQL is words like any other: never syntax.
    expect(parseQuery("x'); DROP TABLE rooms; --")?.clauses).toEqual([[['x']], [['drop']], [['table']], [['rooms']]])
    expect(parseQuery('depot ')?.prefix).toBe(false)
    // One letter as a prefix matches nearly every message (seconds on a big server): a whole word until a second.
    expect(parseQuery('d')?.prefix).toBe(false)
    expect(parseQuery('depot é')?.prefix).toBe(false)
    expect(parseQuery('de')?.prefix).toBe(true)
    expect(parseQuery('"depot"')?.prefix).toBe(false)
    expect(parseQuery('x '.repeat(500))?.clauses.length).toBe(16)
  })

  it('matches all clauses, any alternative, phrases in order, the last word as a prefix, never an exclusion', () => {
    expect(match('depot gat', 'The DEPOT gate is open')).toBe(true)
    expect(match('depot gat ', 'The depot gate is open')).toBe(false)
    expect(match('"gate depot"', 'the depot gate')).toBe(false)
    expect(match('"depot gate"', 'the depot gate')).toBe(true)
    expect(match('depot -gate', 'the depot gate')).toBe(false)
    expect(match('train or ferry', 'the ferry is late')).toBe(true)
    expect(match('cafe', 'Meet at the Café')).toBe(true)
  })

  it('marks matched words in the text as shown, and cuts a snippet around the first one', () => {
    const q = parseQuery('Cafe "north gate"')!
    expect(matchRanges(q, 'Café by the North Gate')).toEqual([
      [0, 4],
      [12, 17],
      [18, 22],
    ])
    const long = `${'lorem ipsum '.repeat(40)}the depot gate ${'dolor sit '.repeat(40)}`
    const cut = snippet(parseQuery('depot')!, long, 80)
    expect(cut.cutStart && cut.cutEnd).toBe(true)
    expect(cut.text.length).toBeLessThanOrEqual(80)
    const [a, b] = cut.ranges[0]!
    expect(cut.text.slice(a, b)).toBe('depot')
  })
})
