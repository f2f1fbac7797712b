import { useLayoutEffect, useRef } from 'preact/hooks'
import type { OutboxItem } from '../db/schema.ts'
import { dayKey, dayLabel, type ShownEntry } from '../state/reducers.ts'
import { now } from '../time/clock.ts'
import { MessageText } from './MessageText.tsx'
import { PendingMessage } from './PendingMessage.tsx'

const time = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' })
const NEAR_BOTTOM_PX = 120
const NEAR_TOP_PX = 300

interface Props {
  entries: ShownEntry[]
  pending: OutboxItem[]
  meId: string
  hasOlder: boolean
  loadingOlder: boolean
  onNearTop: () => void
}

export function MessageList({ entries, pending, meId, hasOlder, loadingOlder, onNearTop }: Props) {
  const ref = useRef<HTMLDivElement>(null)
  const stick = useRef(true)
  const lastHeight = useRef(0)
  const firstKey = useRef<string | undefined>(undefined)

  // Keep the newest message in view, unless the person scrolled up to read; keep
  // the reading position when older history is added above.
  useLayoutEffect(() => {
    const el = ref.current
    if (!el) return
    const prependedOlder = firstKey.current !== undefined && entries[0]?.key !== firstKey.current && !stick.current
    if (stick.current) el.scrollTop = el.scrollHeight
    else if (prependedOlder) el.scrollTop += el.scrollHeight - lastHeight.current
    lastHeight.current = el.scrollHeight
    firstKey.current = entries[0]?.key
  }, [entries, pending])

  const onScroll = () => {
    const el = ref.current
    if (!el) return
    stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < NEAR_BOTTOM_PX
    lastHeight.current = el.scrollHeight
    if (el.scrollTop < NEAR_TOP_PX && hasOlder && !loadingOlder) onNearTop()
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
        <li key={entry.key} class="notice-row">
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
      <li key={entry.key} class={own ? 'msg msg--own' : 'msg'} data-seq={entry.seq} data-state="sent">
        <div class="msg__bubble">
          {showAuthor && <p class="msg__author">{entry.authorName}</p>}
          <p class="msg__body">
            {entry.deleted ? <em class="muted">Message deleted</em> : <MessageText text={entry.body} />}
          </p>
          <p class="msg__meta">
            <time dateTime={entry.createdAt}>{time.format(new Date(entry.createdAt))}</time>
            {entry.edited && ' · edited'}
            {Object.entries(entry.reactions).map(([emoji, n]) => ` · ${emoji} ${n}`)}
          </p>
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
        {rows}
        {pending.map((item) => (
          <PendingMessage key={item.clientId} item={item} />
        ))}
      </ol>
    </div>
  )
}
