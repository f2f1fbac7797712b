import { type RawBuilder, sql } from 'kysely'

/** Unread counts stop counting here, so a room never read costs at most this many index rows. */
export const UNREAD_CAP = 999

/**
 * The one rule for "unread": messages by others after the member's read
 * marker (up to `throughSeq` when given: the count as of that entry),
 * counted up to UNREAD_CAP. Used by the room list, the read markers and the
 * push payload; the arguments are column references or values.
 */
export function unreadCount(
  roomId: RawBuilder<unknown>,
  userId: RawBuilder<unknown>,
  lastReadSeq: RawBuilder<unknown>,
  throughSeq?: RawBuilder<unknown>,
): RawBuilder<string> {
  const through = throughSeq ? sql`AND ue.seq <= ${throughSeq}` : sql``
  return sql<string>`(SELECT count(*) FROM (
    SELECT 1 FROM room_events ue
     WHERE ue.room_id = ${roomId} AND ue.seq > ${lastReadSeq} ${through}
       AND ue.kind = 'message.created' AND ue.author_id IS DISTINCT FROM ${userId}
     LIMIT ${UNREAD_CAP}
  ) unread)`
}
