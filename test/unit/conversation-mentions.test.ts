import { describe, expect, it } from 'vitest'
import { mentionedUsernames, mentionSpans } from '../../shared/conversation/mentions.ts'

describe('mentions', () => {
  it.each([
    ['@ana hi', ['ana']],
    ['hi @ana, and @Ben.', ['ana', 'ben']],
    ['(@ana) [@ben] "@cai"', ['ana', 'ben', 'cai']],
    ['@ana @ANA @Ana', ['ana']],
    ['line\n@dock_crew-2 done', ['dock_crew-2']],
    ['🚢@ana', ['ana']],
    ['ana@example.com', []],
    ['@@ana', ['ana']],
    ['@an', []],
    [`@${'a'.repeat(32)}`, ['a'.repeat(32)]],
    [`@${'a'.repeat(33)}`, []],
    ['@', []],
    ['@ ana', []],
    ['@änna', []],
  ])('%s → %j', (body, names) => {
    expect(mentionedUsernames(body)).toEqual(names)
  })

  it('gives the spans to highlight, in UTF-16 units', () => {
    const body = '🚢 @Ana and @ben'
    const spans = mentionSpans(body)
    expect(spans).toEqual([
      { username: 'ana', index: 3, length: 4 },
      { username: 'ben', index: 12, length: 4 },
    ])
    expect(spans.map((s) => body.slice(s.index, s.index + s.length))).toEqual(['@Ana', '@ben'])
  })
})
