import { describe, expect, it } from 'vitest'
import { decodeCursor, encodeCursor, toTsquery } from '../../server/search/search.query.ts'
import { parseQuery } from '../../shared/search/text.ts'

describe('toTsquery: the tsquery text built from parseQuery, never from the raw query', () => {
  const of = (q: string) => toTsquery(parseQuery(q)!)

  it('words, phrases, or, exclusions and the prefix still typed', () => {
    expect(of('depot gate')).toBe("(('depot')) & (('gate':*))")
    expect(of('depot gate ')).toBe("(('depot')) & (('gate'))")
    expect(of('"Depot Gate" -closed')).toBe("(('depot' <-> 'gate')) & !('closed')")
    expect(of('a b or c xy')).toBe("(('a')) & (('b') | ('c')) & (('xy':*))")
    expect(of('ferry or boat')).toBe("(('ferry') | ('boat':*))")
    expect(of('Crème -"old gate" xy')).toBe("(('creme')) & (('xy':*)) & !('old' <-> 'gate')")
  })

  it('operators and quotes of tsquery or SQL are only separators', () => {
    expect(of("a'b & !c | d:* <-> (e) ; --")).toBe("(('a' <-> 'b')) & (('c')) & (('d')) & (('e'))")
  })

  it('quotes and backslashes inside a lexeme are escaped, whatever a parse could give', () => {
    expect(toTsquery({ clauses: [[["it's", 'a\\b']]], excluded: [], prefix: false })).toBe("(('it''s' <-> 'a\\\\b'))")
  })
})

describe('search cursors', () => {
  const room = '9ee1d954-7090-46eb-9baf-a3238885dc7d'

  it('round-trips, and is refused for the other sort', () => {
    const recent = encodeCursor([0, 1796000000123456, room, 7])
    expect(decodeCursor(recent, 'recent')).toEqual([0, 1796000000123456, room, 7])
    expect(() => decodeCursor(recent, 'relevance')).toThrow(/cursor/)
    const relevance = encodeCursor([1, 1796000000123456, room, 7, 0.123456789, 1796000000999999])
    expect(decodeCursor(relevance, 'relevance')).toEqual([1, 1796000000123456, room, 7, 0.123456789, 1796000000999999])
    expect(recent.length).toBeLessThanOrEqual(200)
    expect(relevance.length).toBeLessThanOrEqual(200)
  })

  it('refuses anything else with a 400 validation_failed', () => {
    const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
    for (const text of [
      'x',
      '!!!',
      'a b',
      encode('text'),
      encode([0, 1.5, room, 7]),
      encode([0, 1, 'room', 7]),
      encode([0, 1, room, -7]),
      encode([2, 1, room, 7]),
      encode([1, 1, room, 7, 0.5]),
      encode([0, 1, room, 7, 'more']),
    ]) {
      expect(() => decodeCursor(text, 'recent'), text).toThrow(
        expect.objectContaining({ statusCode: 400, code: 'validation_failed' }),
      )
    }
  })
})
