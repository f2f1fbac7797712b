import { useEffect, useRef } from 'preact/hooks'
import type { Room } from '../../shared/schemas.ts'
import { navigate } from '../state/navigation.ts'
import { notice } from '../state/store.ts'

/**
 * The open room's row left the device while the person looked at it: a moderator removed them
 * from a private room, or they left it (or it was deleted) on another device, and the room-list
 * stream dropped it. The view goes back to the list and says why, rather than turning into "Room
 * not found". A public room keeps its row (unjoined), and its screen stays, with Join and any
 * refused messages in place. Leaving from this screen goes back by itself (state/membership.ts)
 * before the row goes, so it says nothing.
 */
export function useBackToListWhenGone(room: Room | undefined): void {
  const was = useRef<string | null>(null)
  const member = room !== undefined && room.role !== null
  useEffect(() => {
    if (member) was.current = room.name
    else if (room === undefined && was.current !== null) {
      notice.value = `You are no longer a member of ${was.current}.`
      was.current = null
      navigate({ name: 'rooms' })
    } else was.current = null
  }, [member, room === undefined, room?.name])
}
