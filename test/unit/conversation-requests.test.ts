import { Compile } from 'typebox/compile'
import { describe, expect, it } from 'vitest'
import {
  ConversationEvent,
  MemberRemovedEvent,
  MessageCreatedEvent,
  MessageEditedEvent,
  ReactionAddedEvent,
  RoomRenamedEvent,
} from '../../shared/conversation/events.ts'
import {
  EditFrame,
  OperationAckFrame,
  OperationBody,
  OperationFrame,
  operationProblem,
  ReactFrame,
  RenameRoomBody,
  renameProblem,
  replyProblem,
} from '../../shared/conversation/requests.ts'
import { RoomEvent } from '../../shared/schemas.ts'
import { ANA, BEN, created, deleted, edited, joined, ROOM, reacted } from '../support/conversation-events.ts'

const CLIENT = '6f1c2a4e-8d3b-4c5e-9f7a-1b2c3d4e5f60'
const EARLIER = '2a0e4c6b-91d3-4c1e-8f57-3b9d0c2e4a11'
const frames = Compile(OperationFrame)
const bodies = Compile(OperationBody)

const edit = { type: 'edit', roomId: ROOM, clientId: CLIENT, targetSeq: 4, body: 'fixed' } as const
const del = { type: 'delete', roomId: ROOM, clientId: CLIENT, targetClientId: EARLIER, afterClientId: EARLIER } as const
const react = { type: 'react', roomId: ROOM, clientId: CLIENT, targetSeq: 4, emoji: '👍', action: 'add' } as const

describe('operation frames and bodies', () => {
  it('accept an edit, a delete and a reaction, by seq or by the client id of one’s own message', () => {
    for (const op of [edit, del, react, { ...react, action: 'remove' as const }]) {
      expect(frames.Check(op)).toBe(true)
      expect(operationProblem(op)).toBeNull()
      const { roomId: _inPath, ...body } = op
      expect(bodies.Check(body)).toBe(true)
    }
  })

  it.each([
    ['an unknown field', { ...edit, admin: true }],
    ['a body that is a number', { ...edit, body: 5 }],
    ['a body with U+0000', { ...edit, body: 'a\u0000b' }],
    ['a body with a lone surrogate', { ...edit, body: 'a\uD800' }],
    ['a seq that is a string', { ...edit, targetSeq: '4' }],
    ['seq 0 (no message has it)', { ...edit, targetSeq: 0 }],
    ['a fractional seq', { ...edit, targetSeq: 1.5 }],
    ['a target client id that is not a uuid', { ...del, targetClientId: 'mine' }],
    ['a missing clientId', { type: 'delete', roomId: ROOM, targetSeq: 4 }],
    ['an emoji with U+0000', { ...react, emoji: '\u0000' }],
    ['an empty emoji', { ...react, emoji: '' }],
    ['an emoji of more UTF-16 units than the byte limit', { ...react, emoji: 'a'.repeat(33) }],
    ['an unknown action', { ...react, action: 'toggle' }],
    ['a body on a delete', { ...del, body: 'x' }],
    ['an unknown type', { ...edit, type: 'patch' }],
  ])('refuse %s by schema (validation_failed)', (_name, op) => {
    expect(frames.Check(op)).toBe(false)
  })

  it.each([
    ['no target', 'validation_failed', { type: 'delete', roomId: ROOM, clientId: CLIENT }],
    ['two targets', 'validation_failed', { ...edit, targetClientId: EARLIER }],
    ['itself as target', 'validation_failed', { ...del, targetClientId: CLIENT }],
    ['itself as afterClientId', 'validation_failed', { ...edit, afterClientId: CLIENT }],
    ['a blank edit', 'message_empty', { ...edit, body: '  \n' }],
    ['an edit over 4000 characters', 'message_too_long', { ...edit, body: 'a'.repeat(4001) }],
    ['a letter as reaction', 'invalid_reaction', { ...react, emoji: 'a' }],
    ['two emoji as reaction', 'invalid_reaction', { ...react, emoji: '👍👍' }],
    ['a 35-byte emoji as reaction', 'invalid_reaction', { ...react, emoji: '👩🏻‍❤️‍💋‍👨🏼' }],
    ['17 emoji (within the schema, over 32 bytes)', 'invalid_reaction', { ...react, emoji: '👍'.repeat(17) }],
  ] as const)('refuse %s with %s', (_name, code, op) => {
    expect(frames.Check(op)).toBe(true)
    expect(operationProblem(op as never)?.code).toBe(code)
  })

  it('types an edit frame as the outbox will build it', () => {
    const typed: EditFrame = { ...edit }
    expect(Compile(EditFrame).Check(typed)).toBe(true)
    expect(Compile(ReactFrame).Check({ ...react, emoji: '🇩🇪' })).toBe(true)
  })
})

describe('reply fields and rename', () => {
  it('take at most one reply target, never the message itself', () => {
    expect(replyProblem({ clientId: CLIENT, replyTo: 3 })).toBeNull()
    expect(replyProblem({ clientId: CLIENT, replyToClientId: EARLIER })).toBeNull()
    expect(replyProblem({ clientId: CLIENT, replyTo: 3, replyToClientId: EARLIER })?.code).toBe('validation_failed')
    expect(replyProblem({ clientId: CLIENT, replyToClientId: CLIENT })?.code).toBe('validation_failed')
  })

  it('rename: the whole name and topic, a blank name refused', () => {
    const renames = Compile(RenameRoomBody)
    expect(renames.Check({ name: 'Harbour', topic: '' })).toBe(true)
    expect(renames.Check({ name: 'Harbour' })).toBe(false)
    expect(renames.Check({ name: 'Harbour', topic: 'a'.repeat(301) })).toBe(false)
    expect(renames.Check({ name: 'Harbour', topic: 'x\u0000' })).toBe(false)
    expect(renameProblem({ name: '   ', topic: '' })?.code).toBe('validation_failed')
    expect(renameProblem({ name: 'Harbour', topic: 'boats' })).toBeNull()
  })
})

describe('the wire shape of each kind', () => {
  const rows = Compile(RoomEvent)
  const kinds = Compile(ConversationEvent)
  const renamed = { ...joined(9, BEN), kind: 'room.renamed', subjectId: undefined, body: 'Dock', topic: null } as const

  it('is a valid RoomEvent row and a valid entry of its kind', () => {
    const samples = [
      created(1, 'hi', { replyTo: null, mentions: [BEN] }),
      edited(2, 1, 'hi!', { mentions: [] }),
      deleted(3, 1, BEN),
      reacted(4, 1, '👍', BEN),
      reacted(5, 1, '👍', BEN, false),
      joined(6, BEN),
      { ...joined(7, BEN), kind: 'member.left' as const },
      { ...joined(8, BEN), kind: 'member.removed' as const, authorId: ANA },
      renamed,
    ]
    for (const e of samples) {
      expect(rows.Check(e), e.kind).toBe(true)
      expect(kinds.Check(e), e.kind).toBe(true)
    }
  })

  it('refuses an entry missing what its kind needs', () => {
    expect(Compile(MessageEditedEvent).Check({ ...edited(2, 1, 'x'), targetSeq: null })).toBe(false)
    expect(Compile(ReactionAddedEvent).Check({ ...reacted(2, 1, '👍', BEN), reaction: null })).toBe(false)
    expect(Compile(MessageCreatedEvent).Check({ ...created(1), targetSeq: 4 })).toBe(false)
    expect(Compile(MemberRemovedEvent).Check({ ...joined(3, BEN), kind: 'member.removed', body: 'x' })).toBe(false)
    expect(Compile(RoomRenamedEvent).Check({ ...renamed, body: null })).toBe(false)
  })

  it('acks an operation with the stored entry', () => {
    const ack = { type: 'ack', roomId: ROOM, clientId: CLIENT, seq: 5, duplicate: false, event: edited(5, 1, 'x') }
    expect(Compile(OperationAckFrame).Check(ack)).toBe(true)
  })
})
