import { describe, expect, it } from 'vitest'
import { routeFromPath } from '../../client/state/navigation.ts'
import { ROOM_A } from './support.ts'

describe('routeFromPath', () => {
  it('reads a room link in any letter case as the room, with its id as stored (lower case)', () => {
    expect(routeFromPath(`/rooms/${ROOM_A.toUpperCase()}`)).toEqual({ name: 'room', roomId: ROOM_A })
    expect(routeFromPath(`/rooms/${ROOM_A}`)).toEqual({ name: 'room', roomId: ROOM_A })
  })

  it('reads the message a notification opens the room at (?at=seq), and ignores a bad one', () => {
    expect(routeFromPath(`/rooms/${ROOM_A}`, null, '?at=50')).toEqual({ name: 'room', roomId: ROOM_A, at: 50 })
    for (const search of ['?at=0', '?at=x', '?at=-1', '?at=5.5'])
      expect(routeFromPath(`/rooms/${ROOM_A}`, null, search)).toEqual({ name: 'room', roomId: ROOM_A })
    expect(routeFromPath('/', null, '?at=50')).toEqual({ name: 'rooms' })
  })

  it('anything else is the room list', () => {
    for (const path of [
      '/',
      '/rooms',
      `/rooms/${ROOM_A}/x`,
      '/rooms/not-a-room-id-but-36-characters-long',
      `/rooms/${'-'.repeat(36)}`,
      '/x',
    ]) {
      expect(routeFromPath(path)).toEqual({ name: 'rooms' })
    }
  })
})
