import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/preact'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { getDb } from '../../client/db/page.ts'
import { claimForSending, enqueue, listOutbox } from '../../client/outbox/store.ts'
import { bodyProblem } from '../../client/state/compose.ts'
import { setClock } from '../../client/time/clock.ts'
import { Composer } from '../../client/ui/Composer.tsx'
import { PendingMessage } from '../../client/ui/PendingMessage.tsx'
import { LIMITS } from '../../shared/limits.ts'
import { FIXTURE_TIME, ROOM_A } from './support.ts'

afterEach(() => {
  cleanup()
  vi.restoreAllMocks()
})
beforeEach(async () => {
  await (await getDb()).clear('outbox')
})

const box = () => screen.getByRole('textbox', { name: 'Message' }) as HTMLTextAreaElement
const sendButton = () => screen.getByRole('button', { name: 'Send' }) as HTMLButtonElement
const type = (value: string) => fireEvent.input(box(), { target: { value } })

describe('composer: never lose typed text (issue 7 item 14)', () => {
  it('keeps the text and shows the error when IndexedDB refuses the write (quota)', async () => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => undefined)
    vi.spyOn(IDBObjectStore.prototype, 'add').mockImplementation(() => {
      throw new DOMException('The quota has been exceeded.', 'QuotaExceededError')
    })
    render(<Composer roomId={ROOM_A} disabled={false} />)
    type('a message I typed')
    fireEvent.keyDown(box(), { key: 'Enter' })
    const alert = await screen.findByRole('alert')
    expect(alert.textContent).toContain('out of storage space')
    expect(box().value).toBe('a message I typed')
    expect(error).toHaveBeenCalled()
    vi.restoreAllMocks()
    expect(await listOutbox(await getDb())).toEqual([])
    // Once the device has room again, the same text goes out and the box clears.
    fireEvent.click(sendButton())
    await waitFor(() => expect(box().value).toBe(''))
    expect(screen.queryByRole('alert')).toBeNull()
    expect((await listOutbox(await getDb())).map((i) => i.body)).toEqual(['a message I typed'])
  })
})

describe('one body rule for client and server (issue 7 item 16)', () => {
  it('counts code points: 4000 emoji are accepted, 4001 are one too many', () => {
    expect(LIMITS.messageBodyMax).toBe(4000)
    expect(bodyProblem('😀'.repeat(4000))).toBeNull()
    expect(bodyProblem('😀'.repeat(4001))).toBe('1 character too long.')
    expect(bodyProblem('  ')).toBe('Write something first.')
  })

  it('refuses U+0000 and a lone surrogate before queueing', () => {
    expect(bodyProblem('a\u0000b')).toContain('U+0000')
    expect(bodyProblem('broken \uD83D')).toContain('lone surrogate')
  })

  it('the composer lets 4000 emoji through and shows the count past the limit', async () => {
    render(<Composer roomId={ROOM_A} disabled={false} />)
    type('😀'.repeat(4000))
    expect(screen.queryByRole('alert')).toBeNull()
    expect(sendButton().disabled).toBe(false)
    type('😀'.repeat(4003))
    expect(screen.getByRole('alert').textContent).toBe('3 characters too long.')
    expect(sendButton().disabled).toBe(true)
    type('nul \u0000 inside')
    expect(screen.getByRole('alert').textContent).toContain('U+0000')
    expect(sendButton().disabled).toBe(true)
  })
})

describe('pending message in flight (issue 7 item 3)', () => {
  it('shows "On its way" and, in its menu, that a change now goes out after it (issue 9: an operation)', async () => {
    const db = await getDb()
    const item = await enqueue(db, ROOM_A, 'on its way')
    render(
      <ul>
        <PendingMessage item={{ ...item, sentAt: 1 }} />
      </ul>,
    )
    fireEvent.click(screen.getByRole('button', { name: 'On its way' }))
    expect(screen.getByText('Being sent: a change now goes out after it, as its own step.')).toBeTruthy()
    expect(screen.getAllByRole('menuitem').map((b) => b.textContent)).toEqual(['Reply', 'Edit', 'Copy text', 'Delete'])
  })

  it('a discard raced by a sender that took the item meanwhile becomes a deletion of it, queued after it', async () => {
    const db = await getDb()
    const item = await enqueue(db, ROOM_A, 'racing the flusher')
    render(
      <ul>
        <PendingMessage item={item} />
      </ul>,
    )
    fireEvent.click(screen.getByRole('button', { name: 'Waiting, not sent yet' }))
    await claimForSending(db, (queue) => queue.map((i) => ({ item: i })), 7)
    fireEvent.click(screen.getByRole('menuitem', { name: 'Discard' }))
    // The server may hold it already: issue 9's offline semantics 3, a delete by its clientId.
    await waitFor(async () =>
      expect((await listOutbox(db)).map((i) => [i.type ?? 'send', i.body, i.targetClientId])).toEqual([
        ['send', 'racing the flusher', undefined],
        ['delete', '', item.clientId],
      ]),
    )
    expect(screen.queryByRole('alert')).toBeNull()
  })

  it('a failed message shows "!" with its reason for screen readers, and Retry in its menu', async () => {
    const db = await getDb()
    const item = await enqueue(db, ROOM_A, 'refused')
    render(
      <ul>
        <PendingMessage
          item={{ ...item, state: 'failed', error: { code: 'not_member', message: 'Join the room first' } }}
        />
      </ul>,
    )
    const mark = screen.getByRole('button', { name: 'Failed: Join the room first' })
    expect(mark.querySelector('[aria-hidden=true]')?.textContent).toBe('!')
    fireEvent.click(mark)
    expect(screen.getByText('Not sent: Join the room first')).toBeTruthy()
    expect(screen.getAllByRole('menuitem').map((b) => b.textContent)).toEqual(['Retry', 'Edit', 'Copy text', 'Discard'])
  })
})

describe('pending message menu (issue 8 item 8)', () => {
  it('opens on a right-click (or a long press, which phones report the same way) and copies the text', async () => {
    const db = await getDb()
    const item = await enqueue(db, ROOM_A, 'copy me')
    const writeText = vi.fn(async () => undefined)
    vi.stubGlobal('navigator', { ...navigator, clipboard: { writeText } })
    render(
      <ul>
        <PendingMessage item={item} />
      </ul>,
    )
    fireEvent.contextMenu(screen.getByText('copy me'))
    expect(screen.getAllByRole('menuitem').map((b) => b.textContent)).toEqual(['Reply', 'Edit', 'Copy text', 'Discard'])
    fireEvent.click(screen.getByRole('menuitem', { name: 'Copy text' }))
    expect((await screen.findByRole('status')).textContent).toBe('Copied.')
    expect(writeText).toHaveBeenCalledWith('copy me')
    expect(screen.queryByRole('menu')).toBeNull()
    vi.unstubAllGlobals()
  })

  it('a tap on a link in the text follows the link and leaves the menu closed', async () => {
    const db = await getDb()
    const item = await enqueue(db, ROOM_A, 'see https://example.org')
    render(
      <ul>
        <PendingMessage item={item} />
      </ul>,
    )
    const link = screen.getByRole('link', { name: 'https://example.org' })
    link.addEventListener('click', (event) => event.preventDefault())
    fireEvent.click(link)
    expect(screen.queryByRole('menu')).toBeNull()
    fireEvent.click(screen.getByText(/^see/))
    expect(screen.getByRole('menu', { name: 'Message actions' })).toBeTruthy()
  })
})

describe('drafts carry the time they were written (the room list sorts by it)', () => {
  afterEach(() => setClock(undefined))

  it('saves the text with the injected clock’s time, and deletes the draft once the box is empty', async () => {
    setClock(() => FIXTURE_TIME)
    const db = await getDb()
    await db.clear('drafts')
    render(<Composer roomId={ROOM_A} disabled={false} />)
    type('half a thought')
    await waitFor(async () =>
      expect(await db.get('drafts', ROOM_A)).toEqual({
        roomId: ROOM_A,
        text: 'half a thought',
        updatedAt: new Date(FIXTURE_TIME).toISOString(),
      }),
    )
    type('')
    await waitFor(async () => expect(await db.get('drafts', ROOM_A)).toBeUndefined())
  })
})
