/**
 * UUIDs name the same thing in any letter case (RFC 9562); Ferry stores,
 * keys and compares them in lower case. Every id from outside is made
 * canonical once, where it is validated (the HTTP validator and the frame
 * parser), so no code behind them has to remember to.
 */
import type { TSchema } from 'typebox'
import { Compile } from 'typebox/compile'

type Canonicalize = (value: unknown) => void
/** A union's branch: lowered by its own steps when the value is that branch (`is`). */
type Branch = { is: (value: unknown) => boolean; canonicalize: Canonicalize | null }
type Step = { key: string; next: Canonicalize | 'uuid' } | { items: Canonicalize | 'uuid' } | { branches: Branch[] }

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null

function isUuid(schema: Record<string, unknown>): boolean {
  if (schema.format === 'uuid') return true
  // Type.Union([Uuid, Type.Null()]): a string that passed is the uuid branch.
  return Array.isArray(schema.anyOf) && schema.anyOf.some((branch) => isRecord(branch) && branch.format === 'uuid')
}

/**
 * A function that lower-cases, in place, every uuid a value valid against
 * `schema` holds (object properties and array items, at any depth); null when
 * the schema holds none, so most schemas cost nothing.
 */
export function uuidCanonicalizer(schema: TSchema): Canonicalize | null {
  const steps: Step[] = []
  const node = schema as unknown as Record<string, unknown>
  if (isRecord(node.properties)) {
    for (const [key, property] of Object.entries(node.properties)) {
      if (!isRecord(property)) continue
      if (isUuid(property)) steps.push({ key, next: 'uuid' })
      else {
        const next = uuidCanonicalizer(property as TSchema)
        if (next) steps.push({ key, next })
      }
    }
  }
  if (isRecord(node.items)) {
    if (isUuid(node.items)) steps.push({ items: 'uuid' })
    else {
      const next = uuidCanonicalizer(node.items as TSchema)
      if (next) steps.push({ items: next })
    }
  }
  // A union of objects (the HTTP operation body): the ids of the branch the value is. A key may be
  // an id in one branch and text in another, so only the first branch the value fits is applied.
  if (Array.isArray(node.anyOf) && !isUuid(node)) {
    const lowerings = node.anyOf.map((branch) => uuidCanonicalizer(branch as TSchema))
    if (lowerings.some((lowering) => lowering !== null)) {
      const branches = node.anyOf.map((branch, i): Branch => {
        const checker = Compile(branch as TSchema)
        return { is: (value) => checker.Check(value), canonicalize: lowerings[i] ?? null }
      })
      steps.push({ branches })
    }
  }
  if (steps.length === 0) return null
  return (value) => {
    for (const step of steps) {
      if ('branches' in step) {
        step.branches.find((branch) => branch.is(value))?.canonicalize?.(value)
      } else if ('key' in step) {
        if (!isRecord(value) || Array.isArray(value)) continue
        const held = value[step.key]
        if (step.next === 'uuid') {
          if (typeof held === 'string') value[step.key] = held.toLowerCase()
        } else step.next(held)
      } else if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          const held = value[i]
          if (step.items === 'uuid') {
            if (typeof held === 'string') value[i] = held.toLowerCase()
          } else step.items(held)
        }
      }
    }
  }
}
