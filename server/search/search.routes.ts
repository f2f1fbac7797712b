import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ErrorResponse } from '../../shared/schemas.ts'
import { SEARCH_LIMITS, type SearchHit, SearchQuery, SearchResponse } from '../../shared/search/contract.ts'
import { parseQuery, snippet } from '../../shared/search/text.ts'
import { requireSession } from '../auth/session-guard.ts'
import { AppError } from '../http/app-error.ts'
import { requireReadable } from '../rooms/access.ts'
import { decodeCursor, encodeCursor, toTsquery } from './search.query.ts'
import { type SearchRow, searchMessages } from './search.repository.ts'

const errors = { '4xx': ErrorResponse }

/**
 * `GET /api/search` (docs/API.md, docs/SEARCH.md "Server"): messages the caller
 * can read whose current text matches `q`, a page at a time.
 */
const searchRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { db } = app

  app.get(
    '/search',
    { schema: { querystring: SearchQuery, response: { 200: SearchResponse, ...errors } } },
    async (request): Promise<SearchResponse> => {
      const { user } = await requireSession(request)
      const { q, roomId, limit = SEARCH_LIMITS.pageDefault, sort = 'recent' } = request.query
      if (q.trim().length > SEARCH_LIMITS.queryMax) {
        throw new AppError(
          400,
          'validation_failed',
          `querystring.q must be at most ${SEARCH_LIMITS.queryMax} characters`,
        )
      }
      const cursor = request.query.cursor === undefined ? undefined : decodeCursor(request.query.cursor, sort)
      // Another's private room answers 404 before anything else is said about the query.
      if (roomId !== undefined) await requireReadable(db, user.id, roomId)
      const parsed = parseQuery(q)
      if (!parsed) return { hits: [], nextCursor: null }
      const rows = await searchMessages(db, {
        userId: user.id,
        roomId,
        tsquery: toTsquery(parsed),
        sort,
        cursor,
        limit: limit + 1,
      })
      const page = rows.slice(0, limit)
      const last = page.at(-1)
      const toHit = (row: SearchRow): SearchHit => ({
        roomId: row.room_id,
        roomName: row.room_name,
        seq: Number(row.seq),
        authorId: row.author_id,
        authorName: row.author_name ?? '',
        createdAt: row.created_at.toISOString(),
        edited: row.edited,
        snippet: snippet(parsed, row.body),
      })
      const nextCursor =
        rows.length > limit && last
          ? encodeCursor(
              sort === 'recent'
                ? [0, Number(last.created_key), last.room_id, Number(last.seq)]
                : [1, Number(last.created_key), last.room_id, Number(last.seq), last.score!, Number(last.ref)],
            )
          : null
      return { hits: page.map(toHit), nextCursor }
    },
  )
}

export default searchRoutes
