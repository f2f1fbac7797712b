import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/preact'
import { useRef, useState } from 'preact/hooks'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { getDb } from '../../client/db/page.ts'
import type { OutboxItem } from '../../client/db/schema.ts'
import { enqueue, listOutbox, markFailed } from '../../client/outbox/store.ts'
import { type CloseReason, MessageActions } from '../../client/ui/MessageActions.tsx'
import { QueueBar } from '../../client/ui/QueueBar.tsx'
import { ROOM_A, ROOM_B } from './support.ts'

afterEach(() => {
  cleanup()
  vi.restoreAllMocks()
})

/** A message with a button that opens the menu, as PendingMessage (and #9's sent messages) use it. */
function Harness({ onSelect, onClose }: { onSelect: (label: string) => void; onClose: (why: CloseReason) => void }) {
  const [open, setOpen] = useState(false)
  const opener = useRef<HTMLButtonElement>(null)
  return (
    <div>
      <button type="button" ref={opener} onClick={() => setOpen(!open)}>
        Open
      </button>
      <p>Elsewhere</p>
      {open && (
        <MessageActions
          id="menu"
          label="Message actions"
          note="Not sent: too long"
          opener={opener}
          actions={['Retry', 'Edit', 'Discard'].map((label) => ({ label, onSelect: () => onSelect(label) }))}
          onClose={(why) => {
            onClose(why)
            setOpen(false)
            if (why !== 'away') opener.current?.focus()
          }}
        />
      )}
    </div>
  )
}

function setup() {
  const onSelect = vi.fn()
  const onClose = vi.fn()
  render(<Harness onSelect={onSelect} onClose={onClose} />)
  const open = () => fireEvent.click(screen.getByRole('button', { name: 'Open' }))
  const focused = () => document.activeElement?.textContent
  return { onSelect, onClose, open, focused }
}

describe('MessageActions (the message menu)', () => {
  it('is a named menu of menu items with its note; the first item takes focus', () => {
    const { open, focused } = setup()
    open()
    const menu = screen.getByRole('menu', { name: 'Message actions' })
    expect(screen.getAllByRole('menuitem').map((b) => b.textContent)).toEqual(['Retry', 'Edit', 'Discard'])
    expect(menu.parentElement?.textContent).toContain('Not sent: too long')
    expect(focused()).toBe('Retry')
    // One tab stop: the others are reached with the arrows.
    expect(screen.getAllByRole('menuitem').map((b) => b.tabIndex)).toEqual([0, -1, -1])
  })

  it('arrows, Home and End move between items and wrap around', () => {
    const { open, focused } = setup()
    open()
    const menu = screen.getByRole('menu')
    fireEvent.keyDown(menu, { key: 'ArrowDown' })
    expect(focused()).toBe('Edit')
    fireEvent.keyDown(menu, { key: 'End' })
    expect(focused()).toBe('Discard')
    fireEvent.keyDown(menu, { key: 'ArrowDown' })
    expect(focused()).toBe('Retry')
    fireEvent.keyDown(menu, { key: 'ArrowUp' })
    expect(focused()).toBe('Discard')
    fireEvent.keyDown(menu, { key: 'Home' })
    expect(focused()).toBe('Retry')
  })

  it('Escape closes it and gives focus back to what opened it', () => {
    const { open, onClose, focused } = setup()
    open()
    fireEvent.keyDown(screen.getByRole('menu'), { key: 'Escape' })
    expect(onClose).toHaveBeenCalledWith('escape')
    expect(screen.queryByRole('menu')).toBeNull()
    expect(focused()).toBe('Open')
  })

  it('a choice closes it first, then runs the action', () => {
    const { open, onClose, onSelect } = setup()
    open()
    fireEvent.click(screen.getByRole('menuitem', { name: 'Edit' }))
    expect(onClose).toHaveBeenCalledWith('select')
    expect(onSelect).toHaveBeenCalledWith('Edit')
    expect(onClose.mock.invocationCallOrder[0]!).toBeLessThan(onSelect.mock.invocationCallOrder[0]!)
    expect(screen.queryByRole('menu')).toBeNull()
  })

  it('a tap elsewhere closes it; a tap on its opener is left to the opener (which toggles it)', () => {
    const { open, onClose } = setup()
    open()
    fireEvent.pointerDown(screen.getByRole('button', { name: 'Open' }))
    expect(onClose).not.toHaveBeenCalled()
    fireEvent.pointerDown(screen.getByText('Elsewhere'))
    expect(onClose).toHaveBeenCalledWith('away')
    expect(screen.queryByRole('menu')).toBeNull()
  })
})

describe('QueueBar (Retry all / Discard all)', () => {
  beforeEach(async () => {
    await (await getDb()).clear('outbox')
  })

  const roomItems = async () => (await listOutbox(await getDb())).filter((i) => i.roomId === ROOM_A)

  it('Retry all puts the room’s failed messages back in line and says how many', async () => {
    const db = await getDb()
    const a = await enqueue(db, ROOM_A, 'a')
    const b = await enqueue(db, ROOM_A, 'b')
    const other = await enqueue(db, ROOM_B, 'other')
    for (const item of [a, b, other]) await markFailed(db, item.clientId, { code: 'not_member', message: 'Join' })
    render(<QueueBar roomId={ROOM_A} pending={await roomItems()} />)
    expect(screen.getByText('2 failed')).toBeTruthy()
    fireEvent.click(screen.getByRole('button', { name: 'Retry all' }))
    expect((await screen.findByRole('status')).textContent).toBe('2 messages put back in line.')
    expect((await listOutbox(db)).map((i) => [i.body, i.state])).toEqual([
      ['a', 'waiting'],
      ['b', 'waiting'],
      ['other', 'failed'],
    ])
  })

  it('Discard all asks first; Cancel keeps them; Discard removes what is not in flight and says what it could not', async () => {
    const db = await getDb()
    const flying = await enqueue(db, ROOM_A, 'flying')
    const failed = await enqueue(db, ROOM_A, 'failed')
    await markFailed(db, failed.clientId, { code: 'not_member', message: 'Join' })
    await enqueue(db, ROOM_A, 'waiting')
    await db.put('outbox', { ...(await db.get('outbox', flying.clientId))!, sentAt: 5 } as OutboxItem)
    render(<QueueBar roomId={ROOM_A} pending={await roomItems()} />)
    fireEvent.click(screen.getByRole('button', { name: 'Discard all' }))
    expect(screen.getByText('Discard 2 unsent messages?')).toBeTruthy()
    await waitFor(() => expect(document.activeElement?.textContent).toBe('Cancel'))
    fireEvent.click(screen.getByRole('button', { name: 'Cancel' }))
    expect(screen.queryByText('Discard 2 unsent messages?')).toBeNull()
    expect(await roomItems()).toHaveLength(3)

    fireEvent.click(screen.getByRole('button', { name: 'Discard all' }))
    fireEvent.click(screen.getByRole('button', { name: 'Discard' }))
    expect((await screen.findByRole('status')).textContent).toBe(
      '2 messages discarded. 1 already being sent could not be discarded (the server may have it).',
    )
    expect((await roomItems()).map((i) => i.body)).toEqual(['flying'])
  })
})
