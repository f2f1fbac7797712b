/**
 * Search (issue 12): the HTTP shapes, the limits and the pure text rules the
 * server (server/search/), the offline index (client/search/) and the UI
 * share. docs/SEARCH.md describes the design; docs/API.md lists the routes.
 *
 * One rule for "what matches", used on both sides so that online and offline
 * answers agree: text is folded (NFKD, combining marks removed, lower-cased:
 * "Café" → "cafe"), split into words of letters and digits (`\p{L}\p{N}`),
 * and a query word matches a text word when equal, or, for the query's last
 * word while it is being typed, when the text word starts with it.
 * Highlights are ranges of code-unit offsets into the text the client shows:
 * the server never sends markup, the client renders text with marked ranges.
 */
import Type from 'typebox'
import { IsoDate, Seq, Uuid } from '../schemas.ts'

const strict = { additionalProperties: false } as const

export const SEARCH_LIMITS = {
  /** Query length in characters (after trimming); longer is refused `validation`. */
  queryMax: 200,
  /** Results per page. */
  pageMax: 50,
  pageDefault: 20,
  /** Words a query keeps (the rest are ignored, the answer says nothing of them). */
  termsMax: 16,
  /** Characters of a hit's snippet around its first match (whole message when shorter). */
  snippetChars: 160,
  /** A last word shorter than this is a whole word, not a prefix: one letter would match nearly every message. */
  prefixMin: 2,
  /** Messages on each side of the one asked for by `GET …/messages?around=`. */
  aroundMax: 50,
} as const

/**
 * `GET /api/search?q=&roomId=&cursor=&limit=&sort=`. `q` is web-search
 * syntax: words (all must match), "quoted phrases", -exclusion, `or`
 * between alternatives; the last word also matches as a prefix. `roomId`
 * narrows to one room the caller can read (another's private room: 404
 * `not_found`, as everywhere). `sort`: `recent` (newest first, the default)
 * or `relevance` (text rank with a recency boost). `cursor` is the previous
 * page's `nextCursor`, opaque; a malformed one is 400 `validation`.
 * An empty query, or one that keeps no word (only operators or
 * punctuation), answers an empty page, not an error.
 */
export const SearchQuery = Type.Object(
  {
    q: Type.String({ maxLength: SEARCH_LIMITS.queryMax * 2 }),
    roomId: Type.Optional(Uuid),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: SEARCH_LIMITS.pageMax })),
    sort: Type.Optional(Type.Union([Type.Literal('recent'), Type.Literal('relevance')])),
  },
  strict,
)
export type SearchQuery = Type.Static<typeof SearchQuery>

/** [start, end) offsets into `Snippet.text`, sorted, disjoint. */
export const Range = Type.Tuple([Type.Integer({ minimum: 0 }), Type.Integer({ minimum: 0 })])
export type Range = Type.Static<typeof Range>

/** Part of a message around its first match, and where the matched words are in it. */
export const Snippet = Type.Object(
  {
    text: Type.String(),
    ranges: Type.Array(Range),
    /** Text was cut before / after the snippet (the UI shows an ellipsis). */
    cutStart: Type.Boolean(),
    cutEnd: Type.Boolean(),
  },
  strict,
)
export type Snippet = Type.Static<typeof Snippet>

/** One matching message, as of now: its current (edited) text; deleted messages never appear. */
export const SearchHit = Type.Object(
  {
    roomId: Uuid,
    roomName: Type.String(),
    seq: Seq,
    authorId: Type.Union([Uuid, Type.Null()]),
    authorName: Type.String(),
    createdAt: IsoDate,
    edited: Type.Boolean(),
    snippet: Snippet,
  },
  strict,
)
export type SearchHit = Type.Static<typeof SearchHit>

export const SearchResponse = Type.Object(
  { hits: Type.Array(SearchHit), nextCursor: Type.Union([Type.String(), Type.Null()]) },
  strict,
)
export type SearchResponse = Type.Static<typeof SearchResponse>

/** Where a result list came from, for the UI's wording ("Searching messages on this device"). */
export type SearchSource = 'server' | 'device' | 'both'

/** `(roomId, seq)`: a hit's identity when server and device answers are merged (server wins). */
export const hitKey = (hit: { roomId: string; seq: number }) => `${hit.roomId}:${hit.seq}`
