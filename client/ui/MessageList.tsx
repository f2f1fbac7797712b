import { useLayoutEffect, useRef } from 'preact/hooks'
import type { OutboxItem } from '../db/schema.ts'
import type { ShownEntry } from '../state/reducers.ts'
import { now } from '../time/clock.ts'
import { dayKey, dayLabel, formatTime } from '../time/format.ts'
import { MessageText } from './MessageText.tsx'
import { PendingMessage } from './PendingMessage.tsx'

const NEAR_BOTTOM_PX = 120
const NEAR_TOP_PX = 300

interface Props {
  entries: ShownEntry[]
  pending: OutboxItem[]
  meId: string
  /** The room holds no messages at all: an empty state instead of an empty log. */
  empty?: boolean
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
}

interface Anchor {
  key: string
  /** Pixels from the list's top edge to the row's top edge. */
  offset: number
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
  empty = false,
  loading = false,
  hasOlder,
  loadingOlder,
  onNearTop,
  hasNewer = false,
  onNearBottom,
  onFollowing,
}: Props) {
  const ref = useRef<HTMLDivElement>(null)
  const stick = useRef(true)
  const anchor = useRef<Anchor | null>(null)

  // At the live end keep the newest message in view; anywhere else keep the row
  // the person is reading where it was, whatever was added or trimmed above or
  // below it (older history paged in, the window's far end dropped).
  useLayoutEffect(() => {
    const el = ref.current
    if (!el) return
    if (stick.current && !hasNewer) el.scrollTop = el.scrollHeight
    else if (anchor.current) {
      const row = el.querySelector<HTMLElement>(`li[data-key="${anchor.current.key}"]`)
      if (row) el.scrollTop += row.getBoundingClientRect().top - el.getBoundingClientRect().top - anchor.current.offset
    }
    anchor.current = findAnchor(el)
  }, [entries, pending, hasNewer])

  const onScroll = () => {
    const el = ref.current
    if (!el) return
    const atBottom = el.scrollHeight - el.scrollTop - el.clientHeight < NEAR_BOTTOM_PX
    stick.current = atBottom
    anchor.current = findAnchor(el)
    onFollowing?.(atBottom && !hasNewer)
    if (el.scrollTop < NEAR_TOP_PX && hasOlder && !loadingOlder) onNearTop()
    if (atBottom && hasNewer) onNearBottom?.()
  }

  const today = new Date(now())
  let previousDay = ''
  let previousAuthor: string | null = null
  const rows = []
  for (const entry of entries) {
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
    if (entry.kind === 'notice') {
      rows.push(
        <li key={entry.key} data-key={entry.key} class="notice-row">
          {entry.text}
        </li>,
      )
      previousAuthor = null
      continue
    }
    const own = entry.authorId === meId
    const showAuthor = !own && previousAuthor !== entry.authorId
    previousAuthor = entry.authorId
    rows.push(
      <li
        key={entry.key}
        data-key={entry.key}
        class={own ? 'msg msg--own' : 'msg'}
        data-seq={entry.seq}
        data-state="sent"
      >
        <div class="msg__bubble">
          {/* The author for everyone: seen above the first of a run, heard on every message (own ones too). */}
          {showAuthor ? (
            <p class="msg__author">{entry.authorName}</p>
          ) : (
            <span class="visually-hidden">{own ? 'You: ' : `${entry.authorName}: `}</span>
          )}
          <p class="msg__body" dir="auto">
            {entry.deleted ? <em class="muted">Message deleted</em> : <MessageText text={entry.body} />}
          </p>
          {/* After the text, not under it: the time floats to the end of the last line (styles.css, "Time line"). */}
          <span class="msg__meta">
            {entry.edited && 'edited · '}
            {Object.entries(entry.reactions).map(([emoji, n]) => `${emoji} ${n} · `)}
            <time dateTime={entry.createdAt}>{formatTime(entry.createdAt)}</time>
          </span>
        </div>
      </li>,
    )
  }

  return (
    <div class="messages" role="log" aria-label="Messages" ref={ref} onScroll={onScroll}>
      <ol class="messages__list">
        {hasOlder && (
          <li class="older">
            <button type="button" class="small" onClick={onNearTop} disabled={loadingOlder}>
              {loadingOlder ? 'Loading…' : 'Load older messages'}
            </button>
          </li>
        )}
        {empty && <li class="empty-room">No messages yet — say hello</li>}
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
    </div>
  )
}
