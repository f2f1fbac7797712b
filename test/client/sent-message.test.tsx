import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/preact'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { getDb } from '../../client/db/page.ts'
import { foldTimeline } from '../../client/log/timeline.ts'
import { listOutbox } from '../../client/outbox/store.ts'
import { replyingTo } from '../../client/state/store.ts'
import { setClock } from '../../client/time/clock.ts'
import { Composer } from '../../client/ui/Composer.tsx'
import { MessageList } from '../../client/ui/MessageList.tsx'
import type { RoomEvent } from '../../shared/schemas.ts'
import { ALICE, BOB, event, FIXTURE_TIME, ROOM_A } from './support.ts'

/** Issue 9 item 7: the message action sheet, reactions, edited and deleted marks, reply quotes. */
afterEach(() => {
  cleanup()
  vi.restoreAllMocks()
  setClock(undefined)
  replyingTo.value = null
})
beforeEach(async () => {
  setClock(() => FIXTURE_TIME)
  await (await getDb()).clear('outbox')
})

const log: RoomEvent[] = [
  event(ROOM_A, 1, { body: 'Dinner at eight?\nor nine' }),
  event(ROOM_A, 2, { authorId: ALICE, authorName: 'alice', body: 'mine' }),
  event(ROOM_A, 3, { kind: 'message.edited', targetSeq: 2, body: 'mine, fixed' }),
  event(ROOM_A, 4, { kind: 'reaction.added', targetSeq: 1, reaction: '👍', authorId: ALICE, body: null }),
  event(ROOM_A, 5, { kind: 'reaction.added', targetSeq: 1, reaction: '👍', authorId: BOB, body: null }),
  event(ROOM_A, 6, { body: 'oops' }),
  event(ROOM_A, 7, { kind: 'message.deleted', targetSeq: 6, body: null }),
  event(ROOM_A, 8, { body: 'yes!', replyTo: 1 }),
]

function list(moderator = false) {
  return render(
    <MessageList
      entries={foldTimeline(log, ALICE)}
      pending={[]}
      meId={ALICE}
      roomId={ROOM_A}
      moderator={moderator}
      hasOlder={false}
      loadingOlder={false}
      onNearTop={() => undefined}
    />,
  )
}

const row = (seq: number) => document.querySelector<HTMLElement>(`li[data-seq="${seq}"]`)!

describe('sent messages (issue 9)', () => {
  it('shows "edited", a tombstone, reaction chips with counts and the reply quote', () => {
    list()
    expect(row(2).textContent).toContain('mine, fixed')
    expect(row(2).textContent).toContain('edited')
    expect(row(6).textContent).toContain('Message deleted')
    expect(row(6).textContent).not.toContain('oops')
    const chip = within(row(1)).getByRole('button', { name: '👍 2, yours' })
    expect(chip.getAttribute('aria-pressed')).toBe('true')
    const quote = within(row(8)).getByRole('button', { name: /In reply to bob Dinner at eight\?/ })
    expect(quote.textContent).not.toContain('or nine')
  })

  it('tapping the quote moves to the original', () => {
    list()
    fireEvent.click(within(row(8)).getByRole('button', { name: /In reply to/ }))
    expect(document.activeElement).toBe(row(1))
  })

  it('a quote whose original is not in the window loads it, and says so when it cannot (no window to page here)', async () => {
    render(
      <MessageList
        entries={foldTimeline(log, ALICE).filter((e) => e.seq !== 1)}
        pending={[]}
        meId={ALICE}
        roomId={ROOM_A}
        hasOlder={true}
        loadingOlder={false}
        onNearTop={() => undefined}
      />,
    )
    fireEvent.click(within(row(8)).getByRole('button', { name: /In reply to/ }))
    await waitFor(() => expect(row(8).textContent).toContain('The original could not be loaded'))
  })

  it('the keyboard button opens the menu: six reactions, Reply, More emoji, Copy, and Edit/Delete only when allowed', () => {
    list()
    fireEvent.click(within(row(1)).getByRole('button', { name: 'Actions for the message by bob' }))
    const menu = screen.getByRole('menu', { name: 'Message actions' })
    expect(within(menu).getAllByRole('menuitemcheckbox')).toHaveLength(6)
    expect(
      within(menu)
        .getAllByRole('menuitem')
        .map((b) => b.textContent),
    ).toEqual(['Reply', 'More emoji…', 'Copy text'])
    expect(document.activeElement?.getAttribute('aria-label')).toBe('React with 👍')
    fireEvent.keyDown(menu, { key: 'Escape' })
    fireEvent.contextMenu(row(2).querySelector('.msg__bubble')!)
    expect(
      within(screen.getByRole('menu'))
        .getAllByRole('menuitem')
        .map((b) => b.textContent),
    ).toEqual(['Reply', 'More emoji…', 'Copy text', 'Edit', 'Delete'])
  })

  it('a moderator may delete anyone’s message; a deleted message has no menu', () => {
    list(true)
    fireEvent.click(within(row(1)).getByRole('button', { name: 'Actions for the message by bob' }))
    expect(within(screen.getByRole('menu')).getByRole('menuitem', { name: 'Delete' })).toBeTruthy()
    expect(within(row(6)).queryByRole('button', { name: /Actions for/ })).toBeNull()
  })

  it('a long press opens the menu on touch', async () => {
    vi.useFakeTimers()
    try {
      list()
      fireEvent.pointerDown(row(1).querySelector('.msg__bubble')!, { pointerType: 'touch' })
      vi.advanceTimersByTime(600)
    } finally {
      vi.useRealTimers()
    }
    expect(await screen.findByRole('menu')).toBeTruthy()
  })

  it('tapping a chip toggles the person’s reaction through the outbox; a menu emoji adds one', async () => {
    list()
    fireEvent.click(within(row(1)).getByRole('button', { name: '👍 2, yours' }))
    await waitFor(async () => expect(await listOutbox(await getDb())).toHaveLength(1))
    fireEvent.click(within(row(2)).getByRole('button', { name: 'Actions for your message' }))
    fireEvent.click(screen.getByRole('menuitemcheckbox', { name: 'React with 😂' }))
    await waitFor(async () => expect(await listOutbox(await getDb())).toHaveLength(2))
    const items = await listOutbox(await getDb())
    expect(items.map((i) => [i.type, i.targetSeq, i.emoji, i.action])).toEqual([
      ['react', 1, '👍', 'remove'],
      ['react', 2, '😂', 'add'],
    ])
  })

  it('the picker offers more emoji, each a named button', async () => {
    list()
    fireEvent.click(within(row(1)).getByRole('button', { name: 'Actions for the message by bob' }))
    fireEvent.click(screen.getByRole('menuitem', { name: 'More emoji…' }))
    const picker = screen.getByRole('group', { name: 'Choose an emoji' })
    expect(within(picker).getAllByRole('button', { name: /^React with / }).length).toBeGreaterThan(20)
    fireEvent.click(within(picker).getByRole('button', { name: 'React with 🎉' }))
    await waitFor(async () => expect((await listOutbox(await getDb())).map((i) => i.emoji)).toEqual(['🎉']))
  })

  it('Edit saves an edit operation; Delete queues a deletion', async () => {
    list()
    fireEvent.click(within(row(2)).getByRole('button', { name: 'Actions for your message' }))
    fireEvent.click(screen.getByRole('menuitem', { name: 'Edit' }))
    const box = screen.getByRole('textbox', { name: 'Edit message' })
    fireEvent.input(box, { target: { value: 'mine, fixed twice' } })
    fireEvent.click(screen.getByRole('button', { name: 'Save' }))
    await waitFor(async () => expect(await listOutbox(await getDb())).toHaveLength(1))
    fireEvent.click(await within(row(2)).findByRole('button', { name: 'Actions for your message' }))
    fireEvent.click(screen.getByRole('menuitem', { name: 'Delete' }))
    await waitFor(async () => expect(await listOutbox(await getDb())).toHaveLength(2))
    expect((await listOutbox(await getDb())).map((i) => [i.type, i.targetSeq, i.body])).toEqual([
      ['edit', 2, 'mine, fixed twice'],
      ['delete', 2, ''],
    ])
  })

  it('Reply puts a quote over the composer; the sent message names what it replies to', async () => {
    list()
    render(<Composer roomId={ROOM_A} disabled={false} />)
    fireEvent.click(within(row(1)).getByRole('button', { name: 'Actions for the message by bob' }))
    fireEvent.click(screen.getByRole('menuitem', { name: 'Reply' }))
    expect(await screen.findByText('Replying to', { exact: false })).toBeTruthy()
    const box = screen.getByRole('textbox', { name: 'Message' })
    fireEvent.input(box, { target: { value: 'eight works' } })
    fireEvent.click(screen.getByRole('button', { name: 'Send' }))
    await waitFor(async () => expect(await listOutbox(await getDb())).toHaveLength(1))
    expect((await listOutbox(await getDb()))[0]).toMatchObject({ body: 'eight works', replyTo: 1 })
    await waitFor(() => expect(screen.queryByRole('button', { name: 'Cancel reply' })).toBeNull())
  })

  it('a waiting change shows at once, marked waiting; a refused one says why', () => {
    const entries = foldTimeline(log, ALICE, [
      {
        clientId: '00000000-0000-4000-8000-0000000000e1',
        roomId: ROOM_A,
        body: 'mine, offline',
        type: 'edit',
        targetSeq: 2,
        order: 1,
        createdAt: new Date(FIXTURE_TIME).toISOString(),
        state: 'waiting',
        error: null,
        attempts: 0,
      },
      {
        clientId: '00000000-0000-4000-8000-0000000000e2',
        roomId: ROOM_A,
        body: '',
        type: 'react',
        targetSeq: 1,
        emoji: '🎉',
        action: 'add',
        order: 2,
        createdAt: new Date(FIXTURE_TIME).toISOString(),
        state: 'failed',
        error: { code: 'target_deleted', message: 'Target deleted' },
        attempts: 1,
      },
    ])
    render(
      <MessageList
        entries={entries}
        pending={[]}
        meId={ALICE}
        roomId={ROOM_A}
        hasOlder={false}
        loadingOlder={false}
        onNearTop={() => undefined}
      />,
    )
    expect(row(2).textContent).toContain('mine, offline')
    expect(row(2).textContent).toContain('Edit waiting')
    expect(within(row(1)).getByRole('alert').textContent).toContain('Reaction not saved: the message was deleted')
  })
})
