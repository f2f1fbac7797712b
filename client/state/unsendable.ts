/**
 * Messages that can no longer be sent anywhere the person can see them: a send (or an edit's new
 * text) refused because its room is gone from the device, e.g. they were removed from a private
 * room while the message waited offline (issue 9: "their queued message fails with the reason").
 * A failed message of a room still listed shows in that room (its queue bar and row); these have
 * no room screen left, so the room list shows them, with their text, to copy or discard.
 */
import type { Room } from '../../shared/schemas.ts'
import type { OutboxItem } from '../db/schema.ts'

export function unsendable(outbox: readonly OutboxItem[], rooms: readonly Room[]): OutboxItem[] {
  const listed = new Set(rooms.map((room) => room.id))
  return outbox.filter(
    (item) =>
      item.state === 'failed' &&
      !listed.has(item.roomId) &&
      (item.type === undefined || item.type === 'send' || item.type === 'edit') &&
      item.body !== '',
  )
}
