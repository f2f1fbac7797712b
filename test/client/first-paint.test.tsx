/**
 * Issue 8 item 11: a room's first render shows only the newest rows that fit the screen (and the
 * unread divider's or a notification's message's), the rest of the page one frame later
 * (ui/first-paint.ts, ui/MessageList.tsx).
 * The scroll position across that second render is checked in Chromium (e2e/cold-paint): happy-dom
 * lays nothing out.
 */
import { cleanup, render, waitFor } from '@testing-library/preact'
import { afterEach, describe, expect, it } from 'vitest'
import { foldTimeline } from '../../client/log/timeline.ts'
import { firstShownIndex, MIN_ROW_PX } from '../../client/ui/first-paint.ts'
import { MessageList } from '../../client/ui/MessageList.tsx'
import { ALICE, event, ROOM_A } from './support.ts'

afterEach(cleanup)

describe('firstShownIndex', () => {
  it('keeps enough of the newest entries to fill the height with the shortest rows', () => {
    expect(firstShownIndex(50, 20 * MIN_ROW_PX, -1)).toBe(30)
    expect(firstShownIndex(50, 20 * MIN_ROW_PX + 1, -1)).toBe(29)
  })

  it('shows everything when everything fits', () => {
    expect(firstShownIndex(10, 20 * MIN_ROW_PX, -1)).toBe(0)
    expect(firstShownIndex(0, 800, -1)).toBe(0)
  })

  it('starts one entry above an unread divider further up, so the landing finds it', () => {
    expect(firstShownIndex(50, 20 * MIN_ROW_PX, 12)).toBe(11)
    expect(firstShownIndex(50, 20 * MIN_ROW_PX, 0)).toBe(0)
    // A divider among the rows shown anyway changes nothing.
    expect(firstShownIndex(50, 20 * MIN_ROW_PX, 45)).toBe(30)
  })
})

describe('a message list’s first render', () => {
  const entries = foldTimeline(
    Array.from({ length: 50 }, (_, i) => event(ROOM_A, i + 1)),
    ALICE,
  )
  const list = () => (
    <MessageList
      entries={entries}
      pending={[]}
      meId={ALICE}
      roomId={ROOM_A}
      hasOlder={true}
      loadingOlder={false}
      onNearTop={() => undefined}
    />
  )
  const bodies = () => [...document.querySelectorAll('li.msg .msg__body')].map((p) => p.textContent)

  it('shows the newest rows that fit, laid out at once, then the whole page after a frame', async () => {
    render(list())
    const fit = Math.ceil(window.innerHeight / MIN_ROW_PX)
    expect(fit).toBeLessThan(50)
    expect(bodies()).toEqual(entries.slice(50 - fit).map((e) => `message ${e.seq}`))
    expect(document.querySelectorAll('li.msg:not(.msg--eager)')).toHaveLength(0)
    // Not yet the button for older history: what is above is the rest of this page.
    expect(document.querySelector('li.older')).toBeNull()

    await waitFor(() => expect(bodies()).toEqual(entries.map((e) => `message ${e.seq}`)))
    // The rows shown first stay laid out; the ones added above may be skipped while off screen.
    expect(document.querySelectorAll('li.msg.msg--eager')).toHaveLength(fit)
    expect(document.querySelector('li.older')).not.toBeNull()
  })

  it('opened at a notification’s message further up, starts with the row above it', () => {
    render(
      <MessageList
        entries={entries}
        pending={[]}
        meId={ALICE}
        roomId={ROOM_A}
        hasOlder={true}
        loadingOlder={false}
        onNearTop={() => undefined}
        target={{ seq: 5, id: 1 }}
      />,
    )
    expect(bodies()[0]).toBe('message 4')
    expect(document.querySelector('li.msg--target')?.textContent).toContain('message 5')
  })
})
