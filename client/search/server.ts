/**
 * The server's search (`GET /api/search`, shared/search/contract.ts): one page of hits for a
 * query, checked against `SearchResponse` like every answer (client/api/responses.ts). The search
 * state (state/search.ts) waits SEARCH_DEBOUNCE_MS after the last keystroke before asking, and
 * aborts the request of a query the person has typed past (`signal`).
 */
import { SEARCH_LIMITS, type SearchResponse } from '../../shared/search/contract.ts'
import { api } from '../api/http.ts'

/** Typing pauses this long before the server is asked: a word is one request, not one per letter. */
export const SEARCH_DEBOUNCE_MS = 250

export interface ServerSearch {
  q: string
  /** One room (the person's scope "this room"); all rooms they can read when absent. */
  roomId?: string
  /** The previous page's `nextCursor`. */
  cursor?: string
  limit?: number
  /** `relevance` (best match); newest first (the server's default) when absent or `recent`. */
  sort?: 'recent' | 'relevance'
}

/**
 * The request's path. The query goes as typed (untrimmed: a query that ends inside a word matches
 * that word as a prefix, one that ends in a space does not; shared/search/text.ts parseQuery), cut
 * to the length the server accepts.
 */
export function searchPath({ q, roomId, cursor, limit, sort }: ServerSearch): string {
  const params = new URLSearchParams({ q: q.slice(0, SEARCH_LIMITS.queryMax * 2) })
  if (roomId) params.set('roomId', roomId)
  if (cursor) params.set('cursor', cursor)
  params.set('limit', String(limit ?? SEARCH_LIMITS.pageDefault))
  if (sort === 'relevance') params.set('sort', 'relevance')
  return `/api/search?${params}`
}

/**
 * One page of the server's hits. Rejects with ApiError (`network` when there was no answer) or,
 * when `signal` aborts first, with an AbortError (isAbort in api/http.ts).
 */
export function searchServer(search: ServerSearch, signal?: AbortSignal): Promise<SearchResponse> {
  return api<SearchResponse>('GET', searchPath(search), undefined, signal ? { signal } : {})
}
