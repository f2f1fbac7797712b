import { useLayoutEffect, useRef } from 'preact/hooks'
import type { OutboxItem } from '../db/schema.ts'
import type { ShownEntry } from '../log/timeline.ts'
import type { SeenLine } from '../state/receipts.ts'
import { type Arrivals, arrivalsText, type Divider, dividerIndex, dividerText, readThrough } from '../state/unread.ts'
import { now } from '../time/clock.ts'
import { dayKey, dayLabel } from '../time/format.ts'
import { EmptyRoom } from './EmptyStates.tsx'
import { firstShownIndex, usePaintedSince } from './first-paint.ts'
import { PendingMessage } from './PendingMessage.tsx'
import { SentMessage } from './SentMessage.tsx'

const NEAR_BOTTOM_PX = 120
const NEAR_TOP_PX = 300
/** Room left above the divider when a room opens at its first unread message (a line of the message before). */
const LAND_GAP_PX = 24

interface Props {
  entries: ShownEntry[]
  pending: OutboxItem[]
  meId: string
  /** The room the list shows (message actions act on it). */
  roomId?: string
  /** The person moderates the room (owner or admin): they may delete any message. */
  moderator?: boolean
  /** The room holds no messages at all: an empty state instead of an empty log. */
  empty?: boolean
  /** The person may write here (a member): the empty state then points at the message box. */
  canWrite?: boolean
  /** Nothing on screen yet and the room's latest page is on its way. */
  loading?: boolean
  hasOlder: boolean
  loadingOlder: boolean
  onNearTop: () => void
  /** The window stops short of the live end (newer entries page in on scroll). */
  hasNewer?: boolean
  onNearBottom?: () => void
  /** Whether the person is at the live end; the timeline trims its top only then. */
  onFollowing?: (following: boolean) => void
  /** "N new messages" as fixed when the room was opened; the list opens there instead of at the bottom. */
  divider?: Divider | null
  /** Messages from others that came while the person read further up ("↓ N new"). */
  arrivals?: Arrivals | null
  /** How far the person has read: the last message whose end is in view. */
  onRead?: (seq: number) => void
  /** Back to the live end when the window stops short of it ("↓ N new", one's own message sent). */
  onJumpToNewest?: () => void
  /** "Seen by …" under the newest message each other member has read, by seq (state/receipts.ts). */
  seen?: ReadonlyMap<number, SeenLine>
  /** A message to land on once per `id` (a notification's): scrolled into view, focused, highlighted. */
  target?: { seq: number; id: number } | null
}

interface Anchor {
  key: string
  /** Pixels from the list's top edge to the row's top edge. */
  offset: number
}

function isAtBottom(el: HTMLElement): boolean {
  return el.scrollHeight - el.scrollTop - el.clientHeight < NEAR_BOTTOM_PX
}

/** The last row (message or notice) whose end is in view; rows are in order. */
function lastReadRow(el: HTMLElement): number | null {
  const rows = [...el.querySelectorAll<HTMLElement>('li[data-seq]')].map((row) => ({
    seq: Number(row.dataset.seq),
    bottom: row.getBoundingClientRect().bottom,
  }))
  return readThrough(rows, el.getBoundingClientRect().bottom)
}

/** Scrolls `el` so that `row` sits `gap` pixels below its top edge. */
function scrollRowToTop(el: HTMLElement, row: Element, gap: number): void {
  el.scrollTop += row.getBoundingClientRect().top - el.getBoundingClientRect().top - gap
}

/** Focus for a row or the list, placed by script: focusable without becoming a Tab stop, and left where it was scrolled to. */
function focusWithoutScrolling(target: HTMLElement): void {
  if (!target.hasAttribute('tabindex')) target.tabIndex = -1
  target.focus({ preventScroll: true })
}

/** The first row (message or notice) that shows at the top of the list: rows are in order, so a binary search. */
function findAnchor(el: HTMLElement): Anchor | null {
  const rows = el.querySelectorAll<HTMLElement>('li[data-key]')
  const top = el.getBoundingClientRect().top
  let lo = 0
  let hi = rows.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (rows[mid]!.getBoundingClientRect().bottom <= top) lo = mid + 1
    else hi = mid
  }
  const row = rows[lo]
  return row?.dataset.key ? { key: row.dataset.key, offset: row.getBoundingClientRect().top - top } : null
}

export function MessageList({
  entries,
  pending,
  meId,
  roomId = '',
  moderator = false,
  empty = false,
  canWrite = true,
  loading = false,
  hasOlder,
  loadingOlder,
  onNearTop,
  hasNewer = false,
  onNearBottom,
  onFollowing,
  divider = null,
  arrivals = null,
  onRead,
  onJumpToNewest,
  seen,
  target = null,
}: Props) {
  const ref = useRef<HTMLDivElement>(null)
  const stick = useRef(true)
  const anchor = useRef<Anchor | null>(null)
  /** The opening (Divider.id) the list has landed at; until then scrolling reads nothing. */
  const landed = useRef<number | null>(null)
  /** The target (Props.target id) the list has landed on. */
  const targeted = useRef<number | null>(null)
  /** Outbox items already shown: a new one is a message the person just wrote. */
  const shownPending = useRef<Set<string> | null>(null)
  /**
   * The first render with entries shows only the newest rows that fit the screen (and the unread
   * divider's), the rest one frame later: a cold start paints sooner. The layout effect below keeps
   * what is on screen where it was when the rest comes in above it.
   */
  const whole = usePaintedSince(entries.length > 0)
  const partial = !whole && entries.length > 0
  /** The oldest row of that first render: it and the rows after it are laid out for real at once (see .msg--eager). */
  const eagerKey = useRef<string | null>(null)

  /** Where the person is, for the read marker and the live-end state. */
  const report = (el: HTMLElement) => {
    const atBottom = isAtBottom(el)
    stick.current = atBottom
    onFollowing?.(atBottom && !hasNewer)
    const seq = lastReadRow(el)
    if (seq !== null) onRead?.(seq)
  }

  // At the live end keep the newest message in view; anywhere else keep the row
  // the person is reading where it was, whatever was added or trimmed above or
  // below it (older history paged in, the window's far end dropped). A room opened
  // with unread messages lands once at the divider; one's own new message goes to the bottom.
  useLayoutEffect(() => {
    const el = ref.current
    if (!el) return
    const ids = pending.map((item) => item.clientId)
    const wrote = shownPending.current !== null && ids.some((id) => !shownPending.current!.has(id))
    shownPending.current = new Set(ids)
    if (wrote) {
      if (divider) landed.current = divider.id
      stick.current = true
      if (hasNewer) onJumpToNewest?.()
    }
    const targetRow =
      target && targeted.current !== target.id ? el.querySelector<HTMLElement>(`li[data-seq="${target.seq}"]`) : null
    if (target && targetRow) {
      // Opened at a message (a notification's): it is where the eyes and the focus go, once.
      targeted.current = target.id
      if (divider) landed.current = divider.id
      scrollRowToTop(el, targetRow, LAND_GAP_PX)
      focusWithoutScrolling(targetRow)
      anchor.current = findAnchor(el)
      report(el)
      return
    }
    if (divider && landed.current !== divider.id) {
      // The history down to the first unread message is still on its way: wait at the bottom, reading nothing.
      if (!divider.ready) {
        el.scrollTop = el.scrollHeight
        return
      }
      landed.current = divider.id
      const row = el.querySelector('li[data-divider]')
      if (row) scrollRowToTop(el, row, LAND_GAP_PX)
      else el.scrollTop = el.scrollHeight
      anchor.current = findAnchor(el)
      report(el)
      return
    }
    if (stick.current && !hasNewer) el.scrollTop = el.scrollHeight
    else if (anchor.current) {
      const row = el.querySelector<HTMLElement>(`li[data-key="${anchor.current.key}"]`)
      if (row) el.scrollTop += row.getBoundingClientRect().top - el.getBoundingClientRect().top - anchor.current.offset
    }
    anchor.current = findAnchor(el)
  }, [entries, pending, hasNewer, divider, target, whole])

  const onScroll = () => {
    const el = ref.current
    // Read from the ref, not from this render: the landing happens in the layout effect after it.
    if (!el || (divider !== null && landed.current !== divider.id)) return
    anchor.current = findAnchor(el)
    report(el)
    // While the first render shows part of the page, what is above is the rest of it, not older history.
    if (el.scrollTop < NEAR_TOP_PX && hasOlder && !loadingOlder && !partial) onNearTop()
    if (stick.current && hasNewer) onNearBottom?.()
  }

  /**
   * "↓ N new": down to the first of them when it is in the window below, else to the live end.
   * Focus goes where the eyes go (the first new message, or the list at its live end), so a
   * keyboard or screen-reader user reads on from there; the button itself is about to go. Only
   * this tap moves focus: arrivals and one's own sends never take it from the composer.
   */
  const jumpDown = () => {
    const el = ref.current
    if (!el) return
    const first = arrivals && !hasNewer ? el.querySelector<HTMLElement>(`li[data-seq="${arrivals.firstSeq}"]`) : null
    const below = first && first.getBoundingClientRect().top > el.getBoundingClientRect().top + LAND_GAP_PX + 1
    if (first && below) {
      scrollRowToTop(el, first, LAND_GAP_PX)
      focusWithoutScrolling(first)
      return
    }
    stick.current = true
    if (hasNewer) onJumpToNewest?.()
    else el.scrollTop = el.scrollHeight
    focusWithoutScrolling(el)
  }
  const dividerAt = divider ? dividerIndex(entries, divider, meId) : -1
  // A room opened at a notification's message lands there (rather than at the divider): its row is shown first too.
  const targetAt = target ? entries.findIndex((e) => e.seq === target.seq) : -1
  const start = partial ? firstShownIndex(entries.length, window.innerHeight, targetAt >= 0 ? targetAt : dividerAt) : 0
  if (partial) eagerKey.current ??= entries[start]?.key ?? null
  const eagerFrom = eagerKey.current === null ? -1 : entries.findIndex((e) => e.key === eagerKey.current)

  const today = new Date(now())
  let previousDay = ''
  let previousAuthor: string | null = null
  const rows = []
  for (const [index, entry] of entries.entries()) {
    if (index < start) {
      // Not rendered yet; what the first shown row's separator and author line depend on is kept.
      previousDay = dayKey(entry.createdAt)
      previousAuthor = entry.kind === 'notice' ? null : entry.authorId
      continue
    }
    const day = dayKey(entry.createdAt)
    if (day !== previousDay) {
      rows.push(
        <li key={`d${day}`} class="day">
          {dayLabel(entry.createdAt, today)}
        </li>,
      )
      previousDay = day
      previousAuthor = null
    }
    if (index === dividerAt && divider) {
      const text = dividerText(divider.count)
      // Offline with the first unread message not on the device: say the line is not where it belongs.
      const note = divider.short && index === 0 ? ' — earlier ones are not on this device yet' : ''
      rows.push(
        // The labelled separator is the left rule; the text beside it is what sighted people read.
        <li key="unread-divider" class="unread-divider" data-divider>
          <hr aria-label={text + note} />
          <span aria-hidden="true">
            {text}
            {note}
          </span>
          <span class="unread-divider__rule" aria-hidden="true" />
        </li>,
      )
      previousAuthor = null
    }
    if (entry.kind === 'notice') {
      rows.push(
        // A quiet system line, not a bubble: no author, no menu; dir auto for names in any script.
        <li key={entry.key} data-key={entry.key} class="notice-row" dir="auto">
          {entry.text}
        </li>,
      )
      previousAuthor = null
      continue
    }
    const own = entry.authorId === meId
    const showAuthor = !own && previousAuthor !== entry.authorId
    previousAuthor = entry.authorId
    const seenLine = seen?.get(entry.seq)
    rows.push(
      <li
        key={entry.key}
        data-key={entry.key}
        class={`${own ? 'msg msg--own' : 'msg'}${entry.mentions.includes(meId) ? ' msg--mention' : ''}${target?.seq === entry.seq ? ' msg--target' : ''}${eagerFrom >= 0 && index >= eagerFrom ? ' msg--eager' : ''}`}
        data-seq={entry.seq}
        data-state="sent"
        data-waiting={entry.waiting ? 'true' : undefined}
      >
        <SentMessage entry={entry} roomId={roomId} own={own} moderator={moderator} showAuthor={showAuthor} />
        {seenLine && (
          // Plain text, nothing to tap: read by screen readers as it reads to everyone else.
          <p class="msg__seen" data-readers={seenLine.readers.length}>
            {seenLine.text}
          </p>
        )}
      </li>,
    )
  }

  return (
    // tabIndex -1: focusable from script only ("↓ N new" lands here), not a Tab stop.
    <div class="messages" role="log" aria-label="Messages" tabIndex={-1} ref={ref} onScroll={onScroll}>
      <ol class="messages__list">
        {hasOlder && !partial && (
          <li class="older">
            <button type="button" class="small" onClick={onNearTop} disabled={loadingOlder}>
              {loadingOlder ? 'Loading…' : 'Load older messages'}
            </button>
          </li>
        )}
        {empty && <EmptyRoom canWrite={canWrite} />}
        {loading && (
          <li class="empty-room" aria-busy="true">
            Loading messages…
          </li>
        )}
        {rows}
        {hasNewer && (
          <li class="newer">
            <button type="button" class="small" onClick={onNearBottom}>
              Load newer messages
            </button>
          </li>
        )}
        {pending.map((item) => (
          <PendingMessage key={item.clientId} item={item} />
        ))}
      </ol>
      {arrivals && (
        // Sticky at the list's bottom edge, taking no room: it floats over the messages.
        <div class="jump-new">
          <button type="button" class="jump-new__button" onClick={jumpDown}>
            <span aria-hidden="true">↓ </span>
            {arrivalsText(arrivals.count)}
            <span class="visually-hidden"> message{arrivals.count === 1 ? '' : 's'}: scroll down</span>
          </button>
        </div>
      )}
    </div>
  )
}
