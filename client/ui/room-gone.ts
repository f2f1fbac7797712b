import { useEffect, useRef } from 'preact/hooks'
import type { Room } from '../../shared/schemas.ts'
import { navigate } from '../state/navigation.ts'
import { notice } from '../state/store.ts'

/**
 * The open room's row left the device while the person looked at it: a moderator removed them
 * from a private room, or they left it (or it was deleted) on another device, and the room-list
 * stream dropped it. The view goes back to the list and says why, rather than turning into "Room
 * not found". Only a private room: a public one stays readable, so its screen stays, with Join
 * and any refused messages in place, even when a refresh of the list drops its row before its
 * `room_removed` marks it unjoined (RoomView then shows it as a room being visited). Leaving from this screen goes back by itself (state/membership.ts)
 * before the row goes, so it says nothing.
 */
export function useBackToListWhenGone(room: Room | undefined): void {
  /** The private room shown while the person was its member (a public one stays readable: never followed here). */
  const was = useRef<string | null>(null)
  const privateMember = room !== undefined && room.role !== null && room.visibility === 'private'
  useEffect(() => {
    if (privateMember) was.current = room.name
    else if (room === undefined && was.current !== null) {
      notice.value = `You are no longer a member of ${was.current}.`
      was.current = null
      navigate({ name: 'rooms' })
    } else was.current = null
  }, [privateMember, room === undefined, room?.name])
}
