/**
 * Removed while looking (ui/room-gone.ts): when the open room's row leaves the device the view goes
 * back to the list, but only for a private room, which the person can no longer read. A public
 * room's row may leave with a list refresh (the person left it, or was never a member): its
 * screen stays, with Join and any refused messages in place.
 */
import { cleanup, render } from '@testing-library/preact'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { notice, route } from '../../client/state/store.ts'
import { useBackToListWhenGone } from '../../client/ui/room-gone.ts'
import type { Room } from '../../shared/schemas.ts'
import { ROOM_A, roomFixture } from './support.ts'

function Probe({ room }: { room: Room | undefined }) {
  useBackToListWhenGone(room)
  return null
}

beforeEach(() => {
  route.value = { name: 'room', roomId: ROOM_A }
  notice.value = null
})
afterEach(cleanup)

describe('the open room’s row leaves the device', () => {
  it('a private room: back to the list, saying why', () => {
    const view = render(<Probe room={roomFixture(ROOM_A, { name: 'Lagoon', visibility: 'private' })} />)
    view.rerender(<Probe room={undefined} />)
    expect(route.value).toEqual({ name: 'rooms' })
    expect(notice.value).toBe('You are no longer a member of Lagoon.')
  })

  it('a public room (a refresh of the list dropped it): the screen stays', () => {
    const view = render(<Probe room={roomFixture(ROOM_A, { name: 'Harbour', visibility: 'public' })} />)
    view.rerender(<Probe room={undefined} />)
    expect(route.value).toEqual({ name: 'room', roomId: ROOM_A })
    expect(notice.value).toBeNull()
  })
})
