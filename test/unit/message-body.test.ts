import { describe, expect, it } from 'vitest'
import { LIMITS } from '../../shared/limits.ts'
import { characterCount, messageBodyProblem } from '../../shared/validation.ts'

describe('messageBodyProblem', () => {
  it('accepts 1–4000 code points after trimming', () => {
    expect(messageBodyProblem('x')).toBeNull()
    expect(messageBodyProblem('a'.repeat(LIMITS.messageBodyMax))).toBeNull()
    expect(messageBodyProblem(`  ${'a'.repeat(LIMITS.messageBodyMax)}\n`)).toBeNull()
    // Emoji are two UTF-16 units but one code point each.
    expect(messageBodyProblem('🚢'.repeat(LIMITS.messageBodyMax))).toBeNull()
    expect(characterCount('🚢🚢')).toBe(2)
  })

  it('names the problem with a typed code', () => {
    expect(messageBodyProblem('')?.code).toBe('message_empty')
    expect(messageBodyProblem(' \n\t\u00a0 ')?.code).toBe('message_empty')
    expect(messageBodyProblem('a'.repeat(4001))).toEqual({
      code: 'message_too_long',
      message: 'A message can be at most 4000 characters (this one has 4001)',
    })
    expect(messageBodyProblem('🚢'.repeat(4001))?.code).toBe('message_too_long')
  })
})
