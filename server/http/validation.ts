import type { FastifyInstance } from 'fastify'
import { type TSchema, Type } from 'typebox'
import { Compile } from 'typebox/compile'
import { Value } from 'typebox/value'
import { uuidCanonicalizer } from '../../shared/canonical-ids.ts'

/**
 * Validates with TypeBox's compiler, the same one the WebSocket frames use.
 * Bodies are checked as sent: no type coercion and no silent stripping, so an
 * unknown field or a number where a string belongs is a 400. Query strings and
 * params arrive as text and are converted first. Ids come out in lower case,
 * as stored (shared/canonical-ids.ts), in every part.
 */
export function registerValidation(app: FastifyInstance): void {
  app.setValidatorCompiler(({ schema, httpPart }) => {
    const compiled = Compile(schema as TSchema)
    const convert = httpPart !== 'body'
    const canonicalize = uuidCanonicalizer(schema as TSchema)
    return (data: unknown) => {
      const original = convert && isRecord(data) ? { ...data } : undefined
      const value = convert ? Value.Convert(schema as TSchema, data) : data
      const lossy = original && isRecord(value) ? lossyNumber(original, value) : undefined
      if (lossy !== undefined) return { error: validationError(`${httpPart}.${lossy} must be a number`, lossy) }
      if (compiled.Check(value)) {
        canonicalize?.(value)
        return { value }
      }
      const first = compiled.Errors(value)[0]
      const where = first?.instancePath ? `${httpPart}${first.instancePath.replaceAll('/', '.')}` : httpPart
      // TypeBox reports an unknown field as "schema is false"; say it plainly.
      const problem =
        first?.message === 'schema is false' ? 'is not an allowed field' : (first?.message ?? 'is invalid')
      return { error: validationError(`${where} ${problem}`, first) }
    }
  })
}

/** The query of an API route that takes none: any parameter is refused, as unknown body fields are. */
const NoQuery = Type.Object({}, { additionalProperties: false })

/**
 * API routes without a query schema get NoQuery (registered before the routes).
 * Not the WebSocket route (a plain GET there is 426, query or not), not pages
 * or /healthz, where a tracking or probe parameter must still work.
 */
export function refuseUnknownQueries(app: FastifyInstance): void {
  app.addHook('onRoute', (route) => {
    // WebSocket routes carry `wsHandler` by now (error-handler.ts turns `websocket` into it).
    if (!route.url.startsWith('/api/') || route.websocket || route.wsHandler) return
    route.schema ??= {}
    route.schema.querystring ??= NoQuery
  })
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null

/** How a number is written in a query: plain decimal digits (no `+`, `0x`, exponent, spaces or leading zeros). */
const DECIMAL = /^(0|-?[1-9][0-9]*)$/

/**
 * Value.Convert turns "1.5" into the integer 1, "" into 0 and "0x5" into 5; a
 * query value that is not the number it became, written in plain decimal, is a
 * wrong type, not a rounding.
 */
function lossyNumber(original: Record<string, unknown>, converted: Record<string, unknown>): string | undefined {
  for (const [key, before] of Object.entries(original)) {
    const after = converted[key]
    if (typeof before !== 'string' || typeof after !== 'number') continue
    if (!DECIMAL.test(before) || Number(before) !== after) return key
  }
  return undefined
}

function validationError(message: string, detail: unknown): Error & { validation: unknown } {
  const error = new Error(message) as Error & { validation: unknown }
  error.validation = [detail]
  return error
}
