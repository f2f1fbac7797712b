import 'fake-indexeddb/auto'
import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/preact'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { getDb } from '../../client/db/page.ts'
import type { OutboxItem } from '../../client/db/schema.ts'
import { pendingView } from '../../client/log/pending.ts'
import { queueDelete, queueEdit, queueReaction, replyFields } from '../../client/outbox/operations.ts'
import { claimForSending, enqueue, listOutbox } from '../../client/outbox/store.ts'
import { outbox, timeline, user } from '../../client/state/store.ts'
import { PendingMessage } from '../../client/ui/PendingMessage.tsx'
import { created, deleted, edited, ROOM } from '../support/conversation-events.ts'

/**
 * Issue 9, offline semantics 2-4: one's own message still waiting shows the
 * changes made to it (edited text, deletion, reactions, marked waiting), and
 * a waiting reply shows what it quotes.
 */
afterEach(() => {
  cleanup()
  outbox.value = []
  timeline.value = null
})
beforeEach(async () => {
  await (await getDb()).clear('outbox')
  user.value = { id: '11111111-1111-4111-8111-111111111111', username: 'ana', createdAt: '2026-12-07T09:00:00.000Z' }
})

/** Hands every waiting item to the (pretend) network, as a sender does. */
async function handOver(): Promise<void> {
  await claimForSending(await getDb(), (queue) => queue.map((i) => ({ item: i })), 7)
}

const mine = (clientId: string) => ({ clientId })

describe('a waiting row shows the changes made to it (issue 9)', () => {
  it('before it is handed over an edit changes the queued message itself, with no operation', async () => {
    const db = await getDb()
    const item = await enqueue(db, ROOM, 'helo')
    expect(await queueEdit(db, ROOM, mine(item.clientId), 'hello')).toEqual({ done: 'changed_queued' })
    const items = await listOutbox(db)
    expect(items.map((i) => i.body)).toEqual(['hello'])
    expect(pendingView(items[0]!, items, [], 'ana')).toMatchObject({ body: 'hello', edited: false, waiting: [] })
  })

  it('once in flight an edit, reactions and a deletion are operations the row shows, waiting, in order', async () => {
    const db = await getDb()
    const item = await enqueue(db, ROOM, 'helo')
    await handOver()
    await queueEdit(db, ROOM, mine(item.clientId), 'hello')
    await queueReaction(db, ROOM, mine(item.clientId), '👍', 'add')
    await queueReaction(db, ROOM, mine(item.clientId), '🎉', 'add')
    await queueReaction(db, ROOM, mine(item.clientId), '👍', 'remove')
    let items = await listOutbox(db)
    const sent = items.find((i) => i.clientId === item.clientId)!
    expect(pendingView(sent, items, [], 'ana')).toMatchObject({
      body: 'hello',
      edited: true,
      deleted: false,
      reactions: [{ emoji: '🎉', count: 1, mine: true, waiting: true }],
      waiting: ['edit', 'react'],
    })
    expect(await queueDelete(db, ROOM, mine(item.clientId))).toMatchObject({ done: 'queued' })
    items = await listOutbox(db)
    expect(pendingView(sent, items, [], 'ana')).toMatchObject({
      deleted: true,
      reactions: [],
      waiting: ['edit', 'react', 'delete'],
    })
  })

  it('a refused operation on it is listed with its reason', async () => {
    const db = await getDb()
    const item = await enqueue(db, ROOM, 'hi')
    await handOver()
    const { item: op } = (await queueEdit(db, ROOM, mine(item.clientId), 'hi!')) as { item: OutboxItem }
    const items = (await listOutbox(db)).map((i) =>
      i.clientId === op.clientId
        ? { ...i, state: 'failed' as const, error: { code: 'target_deleted' as const, message: 'deleted' } }
        : i,
    )
    expect(pendingView(items[0]!, items, [], 'ana')).toMatchObject({
      body: 'hi',
      edited: false,
      failed: [{ clientId: op.clientId, type: 'edit', code: 'target_deleted' }],
    })
  })

  it('a waiting reply quotes a message of the log (in its current state) or one’s own queued message', async () => {
    const db = await getDb()
    const entries = [
      created(1, 'first line\nsecond'),
      edited(2, 1, 'edited line\nsecond'),
      created(3, 'gone'),
      deleted(4, 3),
    ]
    const own = await enqueue(db, ROOM, 'my own, still waiting')
    await enqueue(db, ROOM, 'to the log', undefined, replyFields({ seq: 1 }))
    await enqueue(db, ROOM, 'to a deleted one', undefined, replyFields({ seq: 3 }))
    await enqueue(db, ROOM, 'to mine', undefined, replyFields({ clientId: own.clientId }))
    await enqueue(db, ROOM, 'to one not held', undefined, replyFields({ seq: 99 }))
    const items = await listOutbox(db)
    const quotes = items.slice(1).map((i) => pendingView(i, items, entries, 'ana').replyTo)
    expect(quotes).toEqual([
      { seq: 1, clientId: entries[0]!.clientId, authorName: 'ana', firstLine: 'edited line', deleted: false },
      { seq: 3, clientId: entries[2]!.clientId, authorName: 'ana', firstLine: null, deleted: true },
      { seq: null, clientId: own.clientId, authorName: 'ana', firstLine: 'my own, still waiting', deleted: false },
      { seq: 99, clientId: null, authorName: null, firstLine: null, deleted: false },
    ])
  })

  it('the row draws the quote, the edited text, the reaction chips and what waits; React from its menu queues one', async () => {
    const db = await getDb()
    const original = await enqueue(db, ROOM, 'the original')
    const reply = await enqueue(db, ROOM, 'a reply', undefined, replyFields({ clientId: original.clientId }))
    await handOver()
    await queueEdit(db, ROOM, mine(reply.clientId), 'a reply, edited')
    await queueReaction(db, ROOM, mine(reply.clientId), '👍', 'add')
    outbox.value = await listOutbox(db)
    const shown = outbox.value.find((i) => i.clientId === reply.clientId)!
    render(
      <ul>
        <PendingMessage item={shown} />
      </ul>,
    )
    const quote = screen.getByRole('button', { name: /In reply to/ })
    expect(quote.textContent).toBe('In reply to anathe original')
    expect(screen.getByText('a reply, edited')).toBeTruthy()
    expect(screen.getByText(/Edit, Reaction waiting/)).toBeTruthy()
    expect(screen.getByRole('button', { name: '👍 1, yours, waiting' })).toBeTruthy()
    fireEvent.click(screen.getByRole('button', { name: 'On its way' }))
    expect(screen.getAllByRole('menuitem').map((b) => b.textContent)).toContain('Reply')
    fireEvent.click(screen.getByRole('menuitemcheckbox', { name: 'React with ❤️' }))
    await waitFor(async () =>
      expect((await listOutbox(db)).filter((i) => i.emoji === '❤️' && i.targetClientId === reply.clientId)).toHaveLength(
        1,
      ),
    )
  })
})
