import type { PresenceUser } from '../../shared/protocol.ts'
import type { Room } from '../../shared/schemas.ts'
import type { ConnStatus } from '../tabs/messages.ts'

/**
 * How many distinct people have the room open now, or null when that is not known: the socket is
 * not greeted (offline, reconnecting: presence was cleared) or the room's presence snapshot has not
 * come yet. The snapshot always includes the person themself, so a known count is at least 1 and
 * an empty list means "not known", never "nobody".
 */
export function onlineCount(users: readonly PresenceUser[] | undefined, status: ConnStatus): number | null {
  if (status.offline || status.socket !== 'open' || !users || users.length === 0) return null
  return new Set(users.map((u) => u.userId)).size
}

/** The room header's second line, as parts ("Public", "12 members", "3 online"), joined with " · ". */
export function subtitleParts(room: Pick<Room, 'visibility' | 'memberCount'>, online: number | null): string[] {
  const parts = [
    room.visibility === 'private' ? 'Private' : 'Public',
    `${room.memberCount} member${room.memberCount === 1 ? '' : 's'}`,
  ]
  if (online !== null) parts.push(`${online} online`)
  return parts
}
