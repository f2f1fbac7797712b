import { describe, expect, it } from 'vitest'
import { isReaction, reactionProblem, utf8Length } from '../../shared/conversation/emoji.ts'
import { LIMITS } from '../../shared/limits.ts'

// Written with escapes where the emoji's parts matter, so the test shows what it feeds in.
const ZWJ = '\u200D'
const FE0F = '\uFE0F'

describe('reactionProblem accepts one emoji', () => {
  it.each([
    ['a plain emoji', '👍'],
    ['an emoji outside the BMP', '🚢'],
    ['a BMP emoji with emoji presentation', '⌚'],
    ['a text-default emoji asked for as emoji', `❤${FE0F}`],
    ['a skin tone', '👍🏽'],
    ['a text-default base with a skin tone', '☝🏻'],
    ['a ZWJ family of four', `👨${ZWJ}👩${ZWJ}👧${ZWJ}👦`],
    ['a ZWJ profession with skin tone', `👩🏾${ZWJ}🚀`],
    ['a ZWJ sequence with a qualified part', `🏃${ZWJ}♀${FE0F}`],
    ['a minimally qualified ZWJ sequence', `🏃${ZWJ}♀`],
    ['a rainbow flag', `🏳${FE0F}${ZWJ}🌈`],
    ['a heart on fire', `❤${FE0F}${ZWJ}🔥`],
    ['a country flag', '🇩🇪'],
    ['another country flag', '🇯🇵'],
    ['a subdivision flag (tags)', '🏴󠁧󠁢󠁳󠁣󠁴󠁿'],
    ['a keycap', `1${FE0F}\u20E3`],
    ['a keycap without U+FE0F', '#\u20E3'],
    ['a lone skin-tone swatch', '🏿'],
    ['a hair component', '🦰'],
    ['a text-default symbol asked for as emoji (©️)', `©${FE0F}`],
    ['a handshake with two skin tones', `🫱🏻${ZWJ}🫲🏿`],
    ['a transgender flag', `🏳${FE0F}${ZWJ}⚧${FE0F}`],
    ['a pirate flag', `🏴${ZWJ}☠${FE0F}`],
    ['a person facing right with a cane and skin tone', `🧑🏽${ZWJ}🦯${ZWJ}➡${FE0F}`],
    ['a phoenix (Unicode 15.1)', `🐦${ZWJ}🔥`],
    ['a face with bags under eyes (Unicode 16)', '\u{1FAE9}'],
    ['the keycap star', `*${FE0F}\u20E3`],
  ])('%s', (_name, emoji) => {
    expect(reactionProblem(emoji)).toBeNull()
    expect(isReaction(emoji)).toBe(true)
  })
})

describe('reactionProblem refuses anything else', () => {
  it.each([
    ['empty', '', 'exactly one'],
    ['a letter', 'a', 'must be an emoji'],
    ['a digit', '7', 'must be an emoji'],
    ['a digit with U+FE0F but no keycap', `7${FE0F}`, 'must be an emoji'],
    ['a word', 'ok', 'exactly one'],
    ['two emoji', '👍👍', 'exactly one'],
    ['two different emoji', '🚢⚓', 'exactly one'],
    ['an emoji and a letter', '👍a', 'exactly one'],
    ['an emoji and a space', '👍 ', 'exactly one'],
    ['U+0000', '\u0000', 'must be an emoji'],
    ['an emoji with U+0000', '👍\u0000', 'exactly one'],
    ['a lone surrogate', '\uD83D', 'must be an emoji'],
    ['half a surrogate pair after an emoji', '👍\uDC4D', 'exactly one'],
    ['a text-default symbol without U+FE0F', '❤', 'must be an emoji'],
    ['a text-presentation request', '❤\uFE0E', 'must be an emoji'],
    ['the copyright sign', '©', 'must be an emoji'],
    ['a lone regional indicator', '🇩', 'must be an emoji'],
    ['three regional indicators', '🇩🇪🇫', 'exactly one'],
    ['a bare ZWJ', ZWJ, 'must be an emoji'],
    ['a Chinese character', '好', 'must be an emoji'],
    ['a combining mark on a letter', 'e\u0301', 'must be an emoji'],
    ['an emoji under a combining mark', '👍\u0301', 'must be an emoji'],
    ['a number', 42 as unknown as string, null],
  ])('%s', (_name, value, why) => {
    if (typeof value !== 'string') {
      expect(isReaction(value)).toBe(false)
      return
    }
    expect(reactionProblem(value)).toContain(why)
    expect(isReaction(value)).toBe(false)
  })

  it(`refuses an emoji over ${LIMITS.reactionMaxBytes} bytes of UTF-8, however real`, () => {
    // Kiss with two skin tones: one grapheme, 35 bytes.
    const kiss = `👩🏻${ZWJ}❤${FE0F}${ZWJ}💋${ZWJ}👨🏼`
    expect(utf8Length(kiss)).toBeGreaterThan(LIMITS.reactionMaxBytes)
    expect(reactionProblem(kiss)).toContain('bytes')
    // The family of four is 25 bytes: inside the limit.
    expect(utf8Length(`👨${ZWJ}👩${ZWJ}👧${ZWJ}👦`)).toBe(25)
  })

  it('refuses long input before segmenting it', () => {
    expect(reactionProblem('👍'.repeat(20_000))).toContain('bytes')
    expect(reactionProblem('a'.repeat(33))).toContain('bytes')
  })
})
