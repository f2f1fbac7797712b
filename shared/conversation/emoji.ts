/**
 * The reaction rule (issue 9): a reaction is exactly one emoji, a single
 * extended grapheme cluster of at most LIMITS.reactionMaxBytes bytes of UTF-8.
 * The client checks it before queueing, the server again before storing; both
 * import this file, so they agree as far as their engines' Unicode data does
 * (an emoji newer than the server's Unicode version is refused there).
 */
import { LIMITS } from '../limits.ts'

// Grapheme boundaries do not depend on the locale; a fixed one keeps LANG out of it.
const graphemes = new Intl.Segmenter('en', { granularity: 'grapheme' })
const utf8 = new TextEncoder()

/**
 * One emoji "element": shown as an emoji by itself (Emoji_Presentation), a
 * skin-toned base, or a text-default emoji asked for as emoji with U+FE0F.
 * ASCII is excluded so that `1\uFE0F` or `#\uFE0F` (keycaps without their
 * U+20E3) are not emoji, and a lone regional indicator is half a flag.
 */
const ELEMENT =
  '(?:\\p{Emoji_Modifier_Base}\\p{Emoji_Modifier}|(?!\\p{Regional_Indicator})\\p{Emoji_Presentation}|(?![\\x00-\\x7F])\\p{Emoji}\\uFE0F)'
/** Inside a ZWJ sequence the parts after the first may drop U+FE0F (minimally qualified, e.g. 🏃‍♀). */
const JOINED_ELEMENT = `(?:${ELEMENT}|(?![\\x00-\\x7F])\\p{Emoji})`
const ZWJ_SEQUENCE = `${ELEMENT}(?:\\u200D${JOINED_ELEMENT})*`
const KEYCAP = '[0-9#*]\\uFE0F?\\u20E3'
const FLAG = '\\p{Regional_Indicator}{2}'
/** Subdivision flags: black flag, tag letters/digits, cancel tag (🏴󠁧󠁢󠁳󠁣󠁴󠁿). */
const TAG_FLAG = '\\u{1F3F4}[\\u{E0030}-\\u{E0039}\\u{E0061}-\\u{E007A}]{2,}\\u{E007F}'
const SINGLE_EMOJI = new RegExp(`^(?:${KEYCAP}|${FLAG}|${TAG_FLAG}|${ZWJ_SEQUENCE})$`, 'u')

export const utf8Length = (text: string): number => utf8.encode(text).length

/** Why `value` is not a valid reaction, or null when it is one. */
export function reactionProblem(value: string): string | null {
  // A UTF-16 unit is at least one UTF-8 byte: longer strings fail without segmenting 64 KiB of text.
  if (value.length > LIMITS.reactionMaxBytes || utf8Length(value) > LIMITS.reactionMaxBytes) {
    return `A reaction is at most ${LIMITS.reactionMaxBytes} bytes of UTF-8`
  }
  let count = 0
  for (const _ of graphemes.segment(value)) count += 1
  if (count !== 1) return 'A reaction is exactly one emoji'
  if (!SINGLE_EMOJI.test(value)) return 'A reaction must be an emoji'
  return null
}

export const isReaction = (value: unknown): value is string => typeof value === 'string' && !reactionProblem(value)
