/**
 * The text rules of search (shared/search/contract.ts): folding, words, the
 * query's web-search syntax, matching and snippets. Pure and synchronous, so
 * the server, the offline index and the UI all answer the same way.
 */
import { type Range, SEARCH_LIMITS, type Snippet } from './contract.ts'

/** Lower-case without accents: NFKD, combining marks dropped ("Ça" → "ca", "ﬁ" → "fi"). */
export function fold(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
}

const WORD = /[\p{L}\p{N}]+/gu

/** The folded words of `text`, in order (repeats kept). */
export function words(text: string): string[] {
  return fold(text).match(WORD) ?? []
}

/** One word with its place in the original text: [start, end) code-unit offsets. */
export interface WordAt {
  word: string
  start: number
  end: number
}

/**
 * The words of `text` with their offsets in `text` itself (not in its folded
 * form, whose length may differ): each run of letters and digits is folded
 * on its own, so offsets always point into what the person sees.
 */
export function wordsAt(text: string): WordAt[] {
  const out: WordAt[] = []
  for (const match of text.matchAll(/[\p{L}\p{N}\p{M}]+/gu)) {
    const start = match.index
    const folded = fold(match[0]).match(WORD)
    // A run of letters and marks folds to one word (marks vanish); a ligature may split: keep them joined.
    if (folded) out.push({ word: folded.join(''), start, end: start + match[0].length })
  }
  return out
}

/** A sequence of words that must appear next to each other, in order (one word: length 1). */
export type Phrase = readonly string[]

/**
 * A parsed query: every clause must match (AND); a clause matches when any
 * of its alternatives does (OR); no excluded phrase may match. `prefix`:
 * the last word of the last alternative of the last clause also matches as
 * a prefix (the person is still typing it), when at least
 * SEARCH_LIMITS.prefixMin characters long.
 */
export interface ParsedQuery {
  clauses: Phrase[][]
  excluded: Phrase[]
  prefix: boolean
}

/**
 * Web-search syntax: words, "quoted phrases", `-word` / `-"phrase"`
 * exclusions, `or` between two alternatives. Unlike PostgreSQL's
 * `websearch_to_tsquery`, where `a b or c` is `(a & b) | c`, `or` binds
 * its two neighbours only (`a & (b | c)`), as web search engines read it;
 * the server builds its tsquery from this parse, so both sides agree. Everything else (punctuation, tsquery operators, SQL)
 * is only a word separator. At most SEARCH_LIMITS.termsMax words are kept.
 * `null` when no positive word is left: the answer is then empty.
 */
export function parseQuery(raw: string): ParsedQuery | null {
  const q = raw.trim().slice(0, SEARCH_LIMITS.queryMax)
  const clauses: Phrase[][] = []
  const excluded: Phrase[] = []
  let budget: number = SEARCH_LIMITS.termsMax
  let orPending = false
  let lastPositive = false
  let lastWasPrefixable = false
  const token = /(-?)"([^"]*)"?|(-?)([^\s"]+)/gu
  for (const match of q.matchAll(token)) {
    const negative = (match[1] ?? match[3]) === '-'
    const quoted = match[2] !== undefined
    const text = quoted ? match[2]! : match[4]!
    if (!quoted && !negative && fold(text) === 'or') {
      // An alternative to the word or phrase just before; after an exclusion, or first, it is only a word separator.
      orPending = lastPositive
      continue
    }
    const phrase = words(text).slice(0, budget)
    if (phrase.length === 0) continue
    budget -= phrase.length
    if (negative) excluded.push(phrase)
    else if (orPending) clauses.at(-1)!.push(phrase)
    else clauses.push([phrase])
    orPending = false
    lastPositive = !negative
    // A prefix only for a bare word still being typed: the query ends inside it.
    lastWasPrefixable = !negative && !quoted && match.index + match[0].length === q.length && /[\p{L}\p{N}]$/u.test(q)
    if (budget === 0) break
  }
  if (clauses.length === 0) return null
  // Typing: the raw query (not trimmed) ends in that word, and it was not cut at queryMax.
  const typing = /[\p{L}\p{N}]$/u.test(raw) && raw.trim().length <= SEARCH_LIMITS.queryMax
  const lastWord = clauses.at(-1)!.at(-1)!.at(-1)!
  return { clauses, excluded, prefix: lastWasPrefixable && typing && lastWord.length >= SEARCH_LIMITS.prefixMin }
}

/** Whether `phrase` occurs in `textWords` at `i` (the last word as a prefix when `prefix`). */
function phraseAt(textWords: readonly string[], i: number, phrase: Phrase, prefix: boolean): boolean {
  for (let k = 0; k < phrase.length; k++) {
    const word = textWords[i + k]
    if (word === undefined) return false
    const last = k === phrase.length - 1
    if (last && prefix ? !word.startsWith(phrase[k]!) : word !== phrase[k]) return false
  }
  return true
}

function phraseIn(textWords: readonly string[], phrase: Phrase, prefix: boolean): boolean {
  for (let i = 0; i + phrase.length <= textWords.length; i++) if (phraseAt(textWords, i, phrase, prefix)) return true
  return false
}

/** Is `phrase` the one that may match as a prefix (the query's very last positive word)? */
function isPrefixPhrase(query: ParsedQuery, ci: number, ai: number): boolean {
  return query.prefix && ci === query.clauses.length - 1 && ai === query.clauses[ci]!.length - 1
}

/** Does a text with these (folded) words match the query? */
export function matches(query: ParsedQuery, textWords: readonly string[]): boolean {
  if (query.excluded.some((phrase) => phraseIn(textWords, phrase, false))) return false
  return query.clauses.every((alternatives, ci) =>
    alternatives.some((phrase, ai) => phraseIn(textWords, phrase, isPrefixPhrase(query, ci, ai))),
  )
}

/** Where the query's positive words occur in `text`: sorted, disjoint [start, end) ranges. */
export function matchRanges(query: ParsedQuery, text: string): Range[] {
  const at = wordsAt(text)
  const textWords = at.map((w) => w.word)
  const ranges: Range[] = []
  query.clauses.forEach((alternatives, ci) => {
    alternatives.forEach((phrase, ai) => {
      const prefix = isPrefixPhrase(query, ci, ai)
      for (let i = 0; i + phrase.length <= textWords.length; i++) {
        if (!phraseAt(textWords, i, phrase, prefix)) continue
        for (let k = 0; k < phrase.length; k++) ranges.push([at[i + k]!.start, at[i + k]!.end])
      }
    })
  })
  ranges.sort((a, b) => a[0] - b[0] || a[1] - b[1])
  const merged: Range[] = []
  for (const range of ranges) {
    const last = merged.at(-1)
    if (last && range[0] <= last[1]) last[1] = Math.max(last[1], range[1])
    else merged.push([range[0], range[1]])
  }
  return merged
}

/**
 * Up to `chars` characters of `text` around its first match, cut at word
 * boundaries where possible, with the match ranges shifted into it.
 */
export function snippet(query: ParsedQuery, text: string, chars: number = SEARCH_LIMITS.snippetChars): Snippet {
  const ranges = matchRanges(query, text)
  if (text.length <= chars) return { text, ranges, cutStart: false, cutEnd: false }
  const first = ranges[0]?.[0] ?? 0
  // A little context before the first match, the rest after it.
  let start = Math.max(0, Math.min(first - Math.floor(chars / 4), text.length - chars))
  let end = Math.min(text.length, start + chars)
  if (start > 0) {
    const space = text.indexOf(' ', start)
    if (space !== -1 && space < first) start = space + 1
  }
  if (end < text.length) {
    const space = text.lastIndexOf(' ', end)
    if (space > start && space > (ranges.find((r) => r[0] >= start)?.[1] ?? start)) end = space
  }
  // Never split a surrogate pair.
  if (start > 0 && /[\uDC00-\uDFFF]/.test(text[start]!)) start--
  if (end < text.length && /[\uDC00-\uDFFF]/.test(text[end]!)) end++
  const inside = ranges
    .filter(([a, b]) => b > start && a < end)
    .map(([a, b]): Range => [Math.max(a, start) - start, Math.min(b, end) - start])
  return { text: text.slice(start, end), ranges: inside, cutStart: start > 0, cutEnd: end < text.length }
}
