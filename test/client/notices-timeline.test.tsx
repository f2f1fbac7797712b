/**
 * Member notices and renames in the timeline (issue 9 item 1, shown per item 4 of the brief): a
 * quiet system line ("ana joined", "ben was removed by ana", "ana renamed the room to …"), never
 * a chat bubble, in its place among the messages; kinds this client does not know show nothing.
 */
import { cleanup, render } from '@testing-library/preact'
import { afterEach, describe, expect, it } from 'vitest'
import { foldTimeline, noticeText } from '../../client/log/timeline.ts'
import { MessageList } from '../../client/ui/MessageList.tsx'
import type { RoomEvent } from '../../shared/schemas.ts'
import { ALICE, BOB, event, ROOM_A } from './support.ts'

const ANA = ALICE
const BEN = BOB
const notice = (seq: number, kind: string, over: Partial<RoomEvent> = {}): RoomEvent => ({
  ...event(ROOM_A, seq),
  kind,
  clientId: null,
  body: null,
  authorId: ANA,
  authorName: 'ana',
  ...over,
})

afterEach(cleanup)

describe('notice lines', () => {
  it('say who did what, the person it happened to first', () => {
    expect(noticeText(notice(1, 'member.joined', { subjectId: ANA, subjectName: 'ana' }))).toBe('ana joined')
    expect(noticeText(notice(2, 'member.joined', { subjectId: BEN, subjectName: 'ben' }))).toBe('ana added ben')
    expect(
      noticeText(notice(3, 'member.left', { authorId: BEN, authorName: 'ben', subjectId: BEN, subjectName: 'ben' })),
    ).toBe('ben left')
    expect(noticeText(notice(4, 'member.removed', { subjectId: BEN, subjectName: 'ben' }))).toBe(
      'ben was removed by ana',
    )
    expect(noticeText(notice(5, 'room.renamed', { body: 'Harbour', topic: null }))).toBe(
      'ana renamed the room to “Harbour”',
    )
    // An account deleted since: the line still reads.
    expect(noticeText(notice(6, 'member.removed', { authorName: null, subjectId: BEN, subjectName: null }))).toBe(
      'Someone was removed',
    )
  })

  it('entries from before subjects were written name the actor as the subject', () => {
    expect(noticeText(notice(1, 'member.joined'))).toBe('ana joined')
  })

  it('a kind this client does not know shows nothing, and the messages around it stay', () => {
    const shown = foldTimeline([
      event(ROOM_A, 1),
      notice(2, 'poll.created'),
      notice(3, 'member.votes_cast'),
      event(ROOM_A, 4),
    ])
    expect(shown.map((s) => [s.seq, s.kind])).toEqual([
      [1, 'message'],
      [4, 'message'],
    ])
  })

  it('are drawn as quiet lines among the messages, not bubbles: no author, no menu, no reactions', () => {
    const entries = foldTimeline(
      [
        event(ROOM_A, 1, { body: 'before' }),
        notice(2, 'member.removed', { subjectId: BEN, subjectName: 'ben' }),
        notice(3, 'room.renamed', { body: 'Harbour' }),
        event(ROOM_A, 4, { body: 'after' }),
      ],
      ANA,
    )
    render(
      <MessageList
        entries={entries}
        pending={[]}
        meId={ANA}
        roomId={ROOM_A}
        hasOlder={false}
        loadingOlder={false}
        onNearTop={() => undefined}
      />,
    )
    const rows = [...document.querySelectorAll('.messages__list > li:not(.day)')]
    const kind = (li: Element) => (li.classList.contains('msg') ? 'msg' : li.className)
    expect(rows.map(kind)).toEqual(['msg', 'notice-row', 'notice-row', 'msg'])
    const lines = rows.filter((li) => li.classList.contains('notice-row'))
    expect(lines.map((li) => li.textContent)).toEqual(['ben was removed by ana', 'ana renamed the room to “Harbour”'])
    for (const line of lines) {
      expect(line.querySelector('button, .msg__bubble, .msg__author')).toBeNull()
      expect(line.getAttribute('dir')).toBe('auto')
    }
  })
})
