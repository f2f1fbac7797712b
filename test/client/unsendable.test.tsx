/**
 * Issue 9: a removed member's queued message fails with its reason. Its room is gone from the
 * device, so no room screen can show it: the room list does ("Not sent", with the text, the
 * reason, Copy and Discard), and never for a room that is still listed (that room shows it).
 */
import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/preact'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { getDb } from '../../client/db/page.ts'
import type { OutboxItem } from '../../client/db/schema.ts'
import { listOutbox } from '../../client/outbox/store.ts'
import { drafts, outbox, rooms, route, user } from '../../client/state/store.ts'
import { unsendable } from '../../client/state/unsendable.ts'
import { RoomList } from '../../client/ui/RoomList.tsx'
import { ALICE, FIXTURE_TIME, ROOM_A, ROOM_B, roomFixture } from './support.ts'

const notMember = { code: 'not_member' as const, message: 'Only members can write here (server words)' }

function item(over: Partial<OutboxItem>): OutboxItem {
  return {
    clientId: crypto.randomUUID(),
    roomId: ROOM_B,
    body: 'meet at the depot gate',
    order: 1,
    createdAt: new Date(FIXTURE_TIME).toISOString(),
    state: 'failed',
    error: notMember,
    attempts: 1,
    ...over,
  }
}

afterEach(cleanup)

describe('messages whose room is gone', () => {
  it('are the failed sends and edits with text of rooms not listed; reactions, deletions and waiting ones are not', () => {
    const gone = item({})
    const edit = item({ type: 'edit', targetSeq: 3, body: 'new text' })
    const listed = item({ roomId: ROOM_A })
    const waiting = item({ state: 'waiting', error: null })
    const reaction = item({ type: 'react', body: '', emoji: '👍', action: 'add', targetSeq: 3 })
    const deletion = item({ type: 'delete', body: '', targetSeq: 3 })
    expect(unsendable([gone, edit, listed, waiting, reaction, deletion], [roomFixture(ROOM_A)])).toEqual([gone, edit])
  })

  describe('on the room list', () => {
    beforeEach(async () => {
      user.value = { id: ALICE, username: 'alice', createdAt: new Date(FIXTURE_TIME).toISOString() }
      route.value = { name: 'rooms' }
      drafts.value = {}
      rooms.value = [roomFixture(ROOM_A, { name: 'Quiet cove' })]
      const db = await getDb()
      await db.clear('outbox')
    })

    it('shows the text and the reason, and Discard removes it from the device', async () => {
      const gone = item({})
      const db = await getDb()
      await db.put('outbox', gone)
      outbox.value = [gone]
      render(<RoomList />)
      const section = screen.getByRole('region', { name: 'Not sent' })
      expect(section.textContent).toContain('meet at the depot gate')
      expect(section.textContent).toContain('Not sent: you are no longer a member of this room.')
      expect(screen.getByRole('button', { name: 'Copy text' })).toBeTruthy()
      fireEvent.click(screen.getByRole('button', { name: 'Discard' }))
      await waitFor(async () => expect(await listOutbox(db)).toEqual([]))
    })

    it('shows nothing while every failed message has its room listed', () => {
      outbox.value = [item({ roomId: ROOM_A })]
      render(<RoomList />)
      expect(screen.queryByRole('region', { name: 'Not sent' })).toBeNull()
    })
  })
})
