import Type from 'typebox'
import { Compile } from 'typebox/compile'
import type { ParsedQuery, Phrase } from '../../shared/search/text.ts'
import { AppError } from '../http/app-error.ts'

/**
 * The tsquery text of a parsed query (shared/search/text.ts parseQuery), for
 * `to_tsquery('ferry_search', …)`: every word a quoted lexeme (parseQuery's
 * words are letters and digits only, quotes and backslashes are escaped all
 * the same), `<->` between a phrase's words, `|` between alternatives, `&`
 * between clauses, `!` before an exclusion, `:*` on the word still typed.
 * No text of the query is ever tsquery syntax. to_tsquery runs each lexeme
 * through the configuration (unaccent, lower case), as the messages' text was.
 */
export function toTsquery(query: ParsedQuery): string {
  const lexeme = (word: string) => `'${word.replaceAll('\\', '\\\\').replaceAll("'", "''")}'`
  const phrase = (words: Phrase, prefix: boolean) =>
    `(${words.map((w, i) => lexeme(w) + (prefix && i === words.length - 1 ? ':*' : '')).join(' <-> ')})`
  const clauses = query.clauses.map((alternatives, ci) => {
    const last = ci === query.clauses.length - 1
    return `(${alternatives.map((p, ai) => phrase(p, query.prefix && last && ai === alternatives.length - 1)).join(' | ')})`
  })
  const excluded = query.excluded.map((p) => `!${phrase(p, false)}`)
  return [...clauses, ...excluded].join(' & ')
}

const Micros = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })
const RoomId = Type.String({ format: 'uuid', maxLength: 36 })
const SeqKey = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })

/**
 * Where a page ended: the last hit's sort key, opaque to clients (base64url of
 * a JSON array, short enough for the contract's 200 characters). Times are
 * microseconds since 1970 (created_at's precision; a Date has only ms).
 * recent: [0, created_at, room id, seq]; relevance: [1, created_at, room id,
 * seq, score, the time the scores' recency is measured from (the first page's)].
 */
export const SearchCursor = Type.Union([
  Type.Tuple([Type.Literal(0), Micros, RoomId, SeqKey]),
  Type.Tuple([Type.Literal(1), Micros, RoomId, SeqKey, Type.Number(), Micros]),
])
export type SearchCursor = Type.Static<typeof SearchCursor>
const cursorSchema = Compile(SearchCursor)
const SORTS = ['recent', 'relevance'] as const

export const encodeCursor = (cursor: SearchCursor): string => Buffer.from(JSON.stringify(cursor)).toString('base64url')

const malformed = () => new AppError(400, 'validation_failed', 'querystring.cursor is not a cursor of this search')

/** The cursor a client sent back, checked for shape and for the sort it was made for; else 400. */
export function decodeCursor(text: string, sort: (typeof SORTS)[number]): SearchCursor {
  if (!/^[A-Za-z0-9_-]+$/.test(text)) throw malformed()
  let value: unknown
  try {
    value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'))
  } catch {
    throw malformed()
  }
  if (!cursorSchema.Check(value) || SORTS[value[0]] !== sort) throw malformed()
  if (value[0] === 1 && !Number.isFinite(value[4])) throw malformed()
  return value
}
