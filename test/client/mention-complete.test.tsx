import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/preact'
import { afterEach, describe, expect, it } from 'vitest'
import { insertMention, mentionCandidates, mentionQuery } from '../../client/state/mention-complete.ts'
import { members, user } from '../../client/state/store.ts'
import { Composer } from '../../client/ui/Composer.tsx'
import type { Member } from '../../shared/schemas.ts'
import { ALICE, BOB, ROOM_A } from './support.ts'

/** Issue 9 item 2: `@` in the composer offers the room's members (keyboard and touch). */
const member = (userId: string, username: string): Member => ({
  userId,
  username,
  role: 'member',
  joinedAt: '2026-11-23T12:00:00.000Z',
})
const CARA = '00000000-0000-4000-8000-00000000ca7a'
const roster = [member(ALICE, 'alice'), member(BOB, 'bob'), member(CARA, 'bobbie')]

afterEach(() => {
  cleanup()
  members.value = {}
  user.value = undefined
})

describe('mention completion rules', () => {
  it('finds the name being typed after an @ that starts a word, not in an address', () => {
    expect(mentionQuery('hi @Bo', 6)).toEqual({ start: 3, query: 'bo' })
    expect(mentionQuery('@', 1)).toEqual({ start: 0, query: '' })
    expect(mentionQuery('ana@example', 11)).toBeNull()
    expect(mentionQuery('@bob and more', 13)).toBeNull()
  })

  it('offers members by prefix, then by contained text, never the person themself', () => {
    expect(mentionCandidates(roster, 'bo', ALICE).map((m) => m.username)).toEqual(['bob', 'bobbie'])
    expect(mentionCandidates(roster, 'bie', ALICE).map((m) => m.username)).toEqual(['bobbie'])
    expect(mentionCandidates(roster, 'al', ALICE)).toEqual([])
  })

  it('replaces what was typed with the whole name and a space', () => {
    const at = mentionQuery('hi @bo', 6)!
    expect(insertMention('hi @bo', at, 6, 'bobbie')).toEqual({ text: 'hi @bobbie ', caret: 11 })
    expect(insertMention('hi @bo there', at, 6, 'bob')).toEqual({ text: 'hi @bob there', caret: 8 })
  })
})

describe('the composer offers members after @', () => {
  const box = () => screen.getByRole('textbox', { name: 'Message' }) as HTMLTextAreaElement
  const typeText = (value: string) => {
    box().value = value
    box().setSelectionRange(value.length, value.length)
    fireEvent.input(box(), { target: { value } })
  }

  it('arrows move, Enter picks, and the list is tied to the box for screen readers', async () => {
    user.value = { id: ALICE, username: 'alice', createdAt: '2026-11-23T12:00:00.000Z' }
    members.value = { [ROOM_A]: roster }
    render(<Composer roomId={ROOM_A} disabled={false} />)
    typeText('thanks @b')
    const options = await screen.findAllByRole('option')
    expect(options.map((o) => o.textContent)).toEqual(['@bob', '@bobbie'])
    expect(box().getAttribute('aria-activedescendant')).toBe(`mention-${BOB}`)
    fireEvent.keyDown(box(), { key: 'ArrowDown' })
    expect(box().getAttribute('aria-activedescendant')).toBe(`mention-${CARA}`)
    fireEvent.keyDown(box(), { key: 'Enter' })
    await waitFor(() => expect(box().value).toBe('thanks @bobbie '))
    expect(screen.queryByRole('listbox')).toBeNull()
  })

  it('a tap on a name picks it; Escape closes the list', async () => {
    members.value = { [ROOM_A]: roster }
    render(<Composer roomId={ROOM_A} disabled={false} />)
    typeText('@bo')
    fireEvent.keyDown(box(), { key: 'Escape' })
    expect(screen.queryByRole('listbox')).toBeNull()
    typeText('@bob')
    fireEvent.pointerDown(await screen.findByRole('option', { name: '@bob' }))
    await waitFor(() => expect(box().value).toBe('@bob '))
  })
})
