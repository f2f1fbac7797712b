import type { Kysely } from 'kysely'
import type { DB, RoomEventRow } from '../db/schema.ts'
import type { EventRowWithAuthor } from './events.ts'

function eventsWithAuthor(db: Kysely<DB>, roomId: string) {
  return db
    .selectFrom('room_events')
    .leftJoin('users', 'users.id', 'room_events.author_id')
    .leftJoin('users as subjects', 'subjects.id', 'room_events.subject_id')
    .selectAll('room_events')
    .select(['users.username as author_name', 'subjects.username as subject_name'])
    .where('room_events.room_id', '=', roomId)
}

/** Messages newest first, strictly before `before` (when given). Fetches one extra to tell hasMore. */
export function messagesBefore(
  db: Kysely<DB>,
  roomId: string,
  before: number | undefined,
  limit: number,
): Promise<Array<RoomEventRow & { author_name: string | null }>> {
  let query = eventsWithAuthor(db, roomId).where('room_events.kind', '=', 'message.created')
  if (before !== undefined) query = query.where('room_events.seq', '<', String(before))
  return query.orderBy('room_events.seq', 'desc').limit(limit).execute()
}

/**
 * The messages around `around` (`GET …/messages?around=`): `atOrBelow` newest first from `around`
 * down, `above` oldest first after it, at most `limit` each.
 */
export async function messagesAround(
  db: Kysely<DB>,
  roomId: string,
  around: number,
  limit: number,
): Promise<{
  atOrBelow: Array<RoomEventRow & { author_name: string | null }>
  above: Array<RoomEventRow & { author_name: string | null }>
}> {
  const messages = () => eventsWithAuthor(db, roomId).where('room_events.kind', '=', 'message.created')
  const atOrBelow = await messages()
    .where('room_events.seq', '<=', String(around))
    .orderBy('room_events.seq', 'desc')
    .limit(limit)
    .execute()
  const above = await messages()
    .where('room_events.seq', '>', String(around))
    .orderBy('room_events.seq', 'asc')
    .limit(limit)
    .execute()
  return { atOrBelow, above }
}

/** Events oldest first, strictly after `after`, at most `limit`. */
export function eventsAfter(
  db: Kysely<DB>,
  roomId: string,
  after: number,
  limit: number,
): Promise<EventRowWithAuthor[]> {
  return eventsWithAuthor(db, roomId)
    .where('room_events.seq', '>', String(after))
    .orderBy('room_events.seq', 'asc')
    .limit(limit)
    .execute()
}
