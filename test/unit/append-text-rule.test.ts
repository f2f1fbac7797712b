import { Compile } from 'typebox/compile'
import { describe, expect, it } from 'vitest'
import { MessageBody } from '../../shared/schemas.ts'
import { messageBodyProblem } from '../../shared/validation.ts'

/** The client refuses, before queueing, what the server's schema would refuse: no message is queued only to fail. */
describe('unstorable text', () => {
  const schema = Compile(MessageBody)
  const bodies = ['nul \u0000', 'lone \ud800', 'lone \udc00', 'swapped \udc00\ud800', 'ship 🚢', 'plain', '\ufffd ok']

  it('messageBodyProblem refuses exactly what the MessageBody schema refuses', () => {
    for (const body of bodies) {
      const problem = messageBodyProblem(body)
      expect({ body, refused: problem?.code === 'validation_failed' }).toEqual({ body, refused: !schema.Check(body) })
    }
  })

  it('names the reason', () => {
    expect(messageBodyProblem('a\u0000b')).toEqual({
      code: 'validation_failed',
      message: 'A message cannot contain U+0000 or a broken character (a lone surrogate)',
    })
  })
})
