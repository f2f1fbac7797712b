import type { FastifyInstance, FastifySchema } from 'fastify'
import type { TSchema } from 'typebox'
import { Compile } from 'typebox/compile'
import { Value } from 'typebox/value'

/**
 * Validates with TypeBox's compiler, the same one the WebSocket frames use.
 * Bodies are checked as sent: no type coercion and no silent stripping, so an
 * unknown field or a number where a string belongs is a 400. Query strings and
 * params arrive as text and are converted first.
 */
export function registerValidation(app: FastifyInstance): void {
  app.setValidatorCompiler(({ schema, httpPart }) => {
    const compiled = Compile(schema as TSchema)
    const convert = httpPart !== 'body'
    return (data: unknown) => {
      const value = convert ? Value.Convert(schema as TSchema, data) : data
      if (compiled.Check(value)) return { value }
      const first = compiled.Errors(value)[0]
      const where = first?.instancePath ? `${httpPart}${first.instancePath.replaceAll('/', '.')}` : httpPart
      // TypeBox reports an unknown field as "schema is false"; say it plainly.
      const problem =
        first?.message === 'schema is false' ? 'is not an allowed field' : (first?.message ?? 'is invalid')
      const error = new Error(`${where} ${problem}`) as Error & { validation: unknown }
      error.validation = [first]
      return { error }
    }
  })
}

export type { FastifySchema }
