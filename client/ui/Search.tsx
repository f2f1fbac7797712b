/**
 * The search of messages (issue 12, docs/SEARCH.md "Screen"): a field, a scope (this room / all
 * rooms) when opened from a room, a sort (newest first / best match), and the hits, each with its room, author, time and a snippet with
 * the matched words marked. Snippets are text with ranges (shared/search/contract.ts), rendered as
 * text nodes and <mark> elements, never as markup. Keyboard: Enter searches now, ↓/↑ move through
 * the results (Tab too), Escape goes back. State: state/search.ts.
 */
import { useEffect, useRef } from 'preact/hooks'
import { SEARCH_LIMITS, type SearchHit, type Snippet } from '../../shared/search/contract.ts'
import { navigate, replaceSearchRoute } from '../state/navigation.ts'
import {
  loadMore,
  openSearch,
  type SearchScope,
  type SearchSort,
  search,
  searchNow,
  setScope,
  setSort,
  stopSearch,
  typeQuery,
} from '../state/search.ts'
import { type Route, rooms, status } from '../state/store.ts'
import { now } from '../time/clock.ts'
import { relativeTime } from '../time/format.ts'

type SearchRoute = Extract<Route, { name: 'search' }>

/** What the screen says whenever the device answered alone (offline, or the server failed). */
export const ON_DEVICE = 'Searching messages on this device'
/** Beside it when best match was asked for: the device only sorts newest first. */
export const NEWEST_ON_DEVICE = 'Sorted by newest on this device'
/** Beside it while the device's index still lacks older cached messages (client/search/fill.ts). */
export const STILL_INDEXING = 'Still indexing older messages on this device'

export interface TextPart {
  text: string
  mark: boolean
}

/**
 * `text` cut at the ranges' edges: marked parts for the ranges, plain ones between. Ranges come
 * from the network: they are clamped to the text, sorted, and overlaps and empty ones dropped, and
 * an edge inside a surrogate pair (an emoji) moves out of it, so no character is ever split.
 */
export function markedParts(text: string, ranges: ReadonlyArray<readonly [number, number]>): TextPart[] {
  const low = (i: number) => i > 0 && i < text.length && /[\uDC00-\uDFFF]/.test(text[i]!)
  const clamp = (i: number) => Math.max(0, Math.min(text.length, i))
  const sorted = ranges
    .map(([a, b]): [number, number] => {
      let start = clamp(a)
      let end = clamp(b)
      if (low(start)) start--
      if (low(end)) end++
      return [start, end]
    })
    .filter(([a, b]) => a < b)
    .sort((x, y) => x[0] - y[0] || x[1] - y[1])
  const parts: TextPart[] = []
  let at = 0
  for (const [start, end] of sorted) {
    if (end <= at) continue
    const from = Math.max(start, at)
    if (from > at) parts.push({ text: text.slice(at, from), mark: false })
    parts.push({ text: text.slice(from, end), mark: true })
    at = end
  }
  if (at < text.length) parts.push({ text: text.slice(at), mark: false })
  return parts
}

/** A snippet as text with <mark> around the matched words, and "…" where the message goes on. */
export function SnippetText({ snippet }: { snippet: Snippet }) {
  return (
    <span class="search-hit__snippet" dir="auto">
      {snippet.cutStart && '…'}
      {markedParts(snippet.text, snippet.ranges).map((part, i) =>
        part.mark ? <mark key={i}>{part.text}</mark> : part.text,
      )}
      {snippet.cutEnd && '…'}
    </span>
  )
}

function SearchIcon() {
  return (
    <svg class="search-icon" viewBox="0 0 24 24" width="22" height="22" aria-hidden="true" focusable="false">
      <circle cx="10.5" cy="10.5" r="6.5" fill="none" stroke="currentColor" stroke-width="2.2" />
      <path d="M15.5 15.5 21 21" fill="none" stroke="currentColor" stroke-width="2.2" stroke-linecap="round" />
    </svg>
  )
}

/**
 * The room list's and the room header's way in. `current`: the search screen is open (at desktop
 * width the list stays beside it, and its button shows so, as Discover's does).
 */
export function SearchButton({ roomId, current = false }: { roomId?: string; current?: boolean }) {
  return (
    <button
      type="button"
      class="icon search-button"
      aria-label={roomId ? 'Search in this room' : 'Search messages'}
      aria-current={current ? 'page' : undefined}
      onClick={() => navigate(roomId ? { name: 'search', q: '', roomId, scope: 'room' } : { name: 'search', q: '' })}
    >
      <SearchIcon />
    </button>
  )
}

function HitItem({ hit, clock }: { hit: SearchHit; clock: number }) {
  return (
    <li class="search-hit">
      <a
        href={`/rooms/${hit.roomId}?at=${hit.seq}`}
        class="search-hit__link"
        data-result=""
        onClick={(event) => {
          event.preventDefault()
          navigate({ name: 'room', roomId: hit.roomId, at: hit.seq })
        }}
      >
        <span class="search-hit__top">
          <span class="search-hit__room" dir="auto">
            {hit.roomName}
          </span>{' '}
          <time class="search-hit__time" dateTime={hit.createdAt}>
            {relativeTime(hit.createdAt, clock)}
          </time>
        </span>{' '}
        <span class="search-hit__author" dir="auto">
          {hit.authorName}
          {hit.edited && <span class="muted-inline"> (edited)</span>}
        </span>{' '}
        <SnippetText snippet={hit.snippet} />
      </a>
    </li>
  )
}

const plural = (n: number) => `${n} message${n === 1 ? '' : 's'}`

/** Focus the result `step` away from the focused one (the field before the first). */
function moveFocus(list: HTMLElement | null, field: HTMLInputElement | null, step: number): void {
  const links = Array.from(list?.querySelectorAll<HTMLAnchorElement>('a[data-result]') ?? [])
  const index = links.indexOf(document.activeElement as HTMLAnchorElement)
  const next = index + step
  if (next < 0) field?.focus()
  else links[Math.min(next, links.length - 1)]?.focus()
}

export function SearchScreen({ route: at }: { route: SearchRoute }) {
  const state = search.value
  const field = useRef<HTMLInputElement>(null)
  const list = useRef<HTMLUListElement>(null)
  const roomId = at.roomId ?? null
  const scope: SearchScope = roomId ? (at.scope ?? 'room') : 'all'
  const sort: SearchSort = at.sort ?? 'recent'
  const roomName = roomId ? rooms.value.find((r) => r.id === roomId)?.name : undefined
  const offline = status.value.offline

  // Opened (or returned to by Back): search what the address says, unless that is already shown.
  useEffect(() => openSearch(at.q, roomId, scope, sort), [at.q, roomId, scope, sort])
  useEffect(() => {
    field.current?.focus()
    return stopSearch
  }, [])
  // The address follows the field, the scope and the sort, in the same history entry.
  useEffect(() => {
    // Read now, not as rendered: on the first render openSearch (above) has only just set it.
    const now = search.peek()
    if (now.query === at.q && now.scope === scope && now.roomId === roomId && now.sort === sort) return
    replaceSearchRoute({
      name: 'search',
      q: now.query,
      ...(now.roomId ? { roomId: now.roomId, scope: now.scope } : {}),
      ...(now.sort === 'relevance' ? { sort: 'relevance' as const } : {}),
    })
  }, [state.query, state.scope, state.roomId, state.sort])
  // The connection went or came back: ask again, of whoever can answer now.
  const wasOffline = useRef(offline)
  useEffect(() => {
    if (wasOffline.current === offline) return
    wasOffline.current = offline
    if (search.peek().query.trim() !== '') void searchNow()
  }, [offline])

  const back = () => navigate(roomId ? { name: 'room', roomId } : { name: 'rooms' })
  const onKeyDown = (event: KeyboardEvent) => {
    if (event.key === 'Escape') {
      event.preventDefault()
      back()
    } else if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      const inField = event.target === field.current
      if (inField && event.key === 'ArrowUp') return
      event.preventDefault()
      moveFocus(list.current, field.current, event.key === 'ArrowDown' ? 1 : -1)
    }
  }

  const query = state.query.trim()
  const onDevice = query !== '' && (state.source === 'device' || (offline && state.loading))
  const answered = state.answered !== null && !state.loading
  const where = scope === 'room' ? (roomName ? `in ${roomName}` : 'in this room') : 'in all your rooms'
  const count = state.loading
    ? 'Searching…'
    : !answered
      ? ''
      : state.hits.length === 0
        ? 'No messages found'
        : `${plural(state.hits.length)}${state.nextCursor || state.deviceMore ? ' or more' : ''} found${onDevice ? ' on this device' : ''}`
  const clock = now()
  return (
    <section class="search" aria-labelledby="search-title" onKeyDown={onKeyDown}>
      <header class="search__head">
        <button
          type="button"
          class="icon back"
          aria-label={roomId ? 'Back to the room' : 'Back to rooms'}
          onClick={back}
        >
          ‹
        </button>
        <h2 id="search-title">Search</h2>
      </header>
      <search aria-label="Messages" class="search__form">
        <form
          onSubmit={(event) => {
            event.preventDefault()
            void searchNow()
          }}
        >
          <label class="field">
            <span>Search messages</span>
            <input
              ref={field}
              type="search"
              enterKeyHint="search"
              value={state.query}
              maxLength={SEARCH_LIMITS.queryMax}
              autoComplete="off"
              spellcheck={false}
              onInput={(event) => typeQuery(event.currentTarget.value)}
            />
          </label>
          <div class="search__options">
            {roomId && (
              <fieldset class="search__toggle">
                <legend class="visually-hidden">Search in</legend>
                <label>
                  <input
                    type="radio"
                    name="search-scope"
                    checked={scope === 'room'}
                    onChange={() => setScope('room')}
                  />
                  <span>This room</span>
                </label>
                <label>
                  <input type="radio" name="search-scope" checked={scope === 'all'} onChange={() => setScope('all')} />
                  <span>All rooms</span>
                </label>
              </fieldset>
            )}
            <fieldset class="search__toggle">
              <legend class="visually-hidden">Sort</legend>
              <label>
                <input
                  type="radio"
                  name="search-sort"
                  checked={state.sort === 'recent'}
                  onChange={() => setSort('recent')}
                />
                <span>Newest</span>
              </label>
              <label>
                <input
                  type="radio"
                  name="search-sort"
                  checked={state.sort === 'relevance'}
                  onChange={() => setSort('relevance')}
                />
                <span>Best match</span>
              </label>
            </fieldset>
          </div>
        </form>
      </search>
      {onDevice && <p class="search__device">{ON_DEVICE}</p>}
      {onDevice && state.sort === 'relevance' && <p class="search__device">{NEWEST_ON_DEVICE}</p>}
      {onDevice && state.deviceIndexing && <p class="search__device">{STILL_INDEXING}</p>}
      <p class="visually-hidden" role="status">
        {count}
      </p>
      {state.error && (
        <div class="search__error">
          <p class="form-error" role="alert">
            {state.error}
          </p>
          <button type="button" class="secondary" onClick={() => void searchNow()}>
            Retry
          </button>
        </div>
      )}
      {query === '' && (
        <div class="search__hint muted">
          <p>Search messages {where}.</p>
          <p>Use "quotes" for a phrase, -word to leave a word out, or between alternatives.</p>
        </div>
      )}
      {query !== '' && answered && state.hits.length === 0 && !state.error && (
        <p class="muted search__none">
          No messages {where} match “{query}”{onDevice ? ' among those on this device' : ''}.
        </p>
      )}
      {state.loading && state.hits.length === 0 && <p class="muted">Searching…</p>}
      <ul ref={list} class="search__list" aria-busy={state.loading} aria-label="Results">
        {state.hits.map((hit) => (
          <HitItem key={`${hit.roomId}:${hit.seq}`} hit={hit} clock={clock} />
        ))}
      </ul>
      {(state.nextCursor || state.deviceMore) && !state.loading && (
        <button type="button" class="secondary load-more" disabled={state.loadingMore} onClick={() => void loadMore()}>
          {state.loadingMore ? 'Loading…' : 'More results'}
        </button>
      )}
    </section>
  )
}
