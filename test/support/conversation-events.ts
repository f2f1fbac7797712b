import type { RoomEvent } from '../../shared/schemas.ts'

/**
 * Room-log entries for the conversation tests, as the server sends them:
 * every field of a row, the kind's own fields set, the rest null.
 */
export const ROOM = '3b241101-e2bb-4255-8caf-4136c566a962'
export const OTHER_ROOM = '9a1c7f52-6d0e-4c1b-8f3a-2b4c5d6e7f80'
export const ANA = '11111111-1111-4111-8111-111111111111'
export const BEN = '22222222-2222-4222-8222-222222222222'
export const CAI = '33333333-3333-4333-8333-333333333333'

/** A fixed clock: the time of seq n, so nothing depends on today or the time zone. */
const at = (seq: number) => new Date(Date.UTC(2026, 11, 7, 9, 0, seq)).toISOString()
const clientIdOf = (seq: number) => `00000000-0000-4000-8000-${String(seq).padStart(12, '0')}`

function entry(seq: number, kind: RoomEvent['kind'], fields: Partial<RoomEvent>): RoomEvent {
  return {
    roomId: ROOM,
    seq,
    kind,
    authorId: ANA,
    authorName: 'ana',
    clientId: clientIdOf(seq),
    body: null,
    targetSeq: null,
    reaction: null,
    createdAt: at(seq),
    ...fields,
  }
}

export const created = (seq: number, body: string | null = `message ${seq}`, fields: Partial<RoomEvent> = {}) =>
  entry(seq, 'message.created', { body, ...fields })
export const edited = (seq: number, target: number, body: string | null, fields: Partial<RoomEvent> = {}) =>
  entry(seq, 'message.edited', { targetSeq: target, body, ...fields })
export const deleted = (seq: number, target: number, by = ANA) =>
  entry(seq, 'message.deleted', { targetSeq: target, authorId: by })
export const reacted = (seq: number, target: number, emoji: string, by: string | null, add = true) =>
  entry(seq, add ? 'reaction.added' : 'reaction.removed', { targetSeq: target, reaction: emoji, authorId: by })
export const joined = (seq: number, subject: string) =>
  entry(seq, 'member.joined', { clientId: null, subjectId: subject, subjectName: 'ben' })
export { at as timeOfSeq }
