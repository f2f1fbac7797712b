/**
 * Discover: public rooms the person has not joined, searched and paged on the server (a server
 * may hold ten thousand of them; the device keeps none of them in its room list). Joining one
 * opens it (Back returns here). Live: a public room created meanwhile appears, one joined on
 * another device goes (state/discover.ts).
 */
import { useEffect, useRef, useState } from 'preact/hooks'
import { LIMITS } from '../../shared/limits.ts'
import type { Room } from '../../shared/schemas.ts'
import { discoverList } from '../state/discover.ts'
import { discoverRooms, joinRoom } from '../state/membership.ts'
import { navigate } from '../state/navigation.ts'
import { createdPublicRooms, rooms, status } from '../state/store.ts'
import { RoomAvatar } from './RoomList.tsx'

/** Typing pauses this long before the server is asked, so a word is one request, not one per letter. */
export const SEARCH_DEBOUNCE_MS = 300

interface Results {
  /** The search these results answer (the box may already hold more). */
  query: string
  rooms: Room[]
  hasMore: boolean
  /** A page is on its way (the first one or "Load more"). */
  loading: boolean
  /** 'offline', or why the server refused; null when fine. */
  problem: string | null
}

const members = (n: number) => `${n} member${n === 1 ? '' : 's'}`

export function Discover() {
  const [search, setSearch] = useState('')
  const [results, setResults] = useState<Results>({
    query: '',
    rooms: [],
    hasMore: false,
    loading: true,
    problem: null,
  })
  const [joining, setJoining] = useState<string | null>(null)
  /** Answers to an older search (or after leaving) are dropped: only the latest one shows. */
  const asked = useRef(0)
  const offline = status.value.offline

  const load = async (text: string, before?: Room) => {
    const ask = ++asked.current
    setResults((r) => ({ ...r, loading: true, problem: null, ...(before ? {} : { rooms: [], hasMore: false }) }))
    const page = await discoverRooms(text, before?.id)
    if (ask !== asked.current) return
    if ('problem' in page) setResults((r) => ({ ...r, loading: false, problem: page.problem }))
    else
      setResults((r) => ({
        query: text,
        rooms: before
          ? [...r.rooms, ...page.rooms.filter((room) => !r.rooms.some((o) => o.id === room.id))]
          : page.rooms,
        hasMore: page.hasMore,
        loading: false,
        problem: null,
      }))
  }

  // A new search (debounced), and again when the connection comes back.
  useEffect(() => {
    if (offline) return
    const timer = setTimeout(() => void load(search), search === '' ? 0 : SEARCH_DEBOUNCE_MS)
    return () => clearTimeout(timer)
  }, [search, offline])
  useEffect(
    () => () => {
      asked.current++
    },
    [],
  )

  const join = async (room: Room) => {
    setJoining(room.id)
    const joined = await joinRoom(room.id)
    setJoining(null)
    // Joined: it is in the room list now (so no longer listed here), and open, as messengers do.
    if (joined) navigate({ name: 'room', roomId: room.id, from: 'discover' })
  }

  const joinedIds = new Set(rooms.value.filter((r) => r.role !== null).map((r) => r.id))
  const shown = discoverList(results.rooms, createdPublicRooms.value, joinedIds, results.query)

  const needsConnection = offline || results.problem === 'offline'
  return (
    <section class="discover" aria-labelledby="discover-title">
      <header class="discover__head">
        <button type="button" class="icon back" aria-label="Back to rooms" onClick={() => navigate({ name: 'rooms' })}>
          ‹
        </button>
        <h2 id="discover-title">Discover</h2>
      </header>
      <search class="discover__search">
        <label class="field">
          <span>Search public rooms</span>
          <input
            type="search"
            value={search}
            maxLength={LIMITS.roomSearchMax}
            autoComplete="off"
            onInput={(event) => setSearch(event.currentTarget.value)}
          />
        </label>
      </search>
      {needsConnection ? (
        <p class="muted pad" role="status">
          Discover needs a connection. Connect to find public rooms to join.
        </p>
      ) : (
        <>
          {results.problem && (
            <p class="form-error pad" role="alert">
              {results.problem}
            </p>
          )}
          <p class="visually-hidden" role="status">
            {results.loading
              ? 'Searching…'
              : `${shown.length}${results.hasMore ? ' or more' : ''} public room${shown.length === 1 ? '' : 's'} found`}
          </p>
          {!results.loading && !results.problem && shown.length === 0 && (
            <p class="muted pad">
              {search.trim() ? `No public rooms to join match “${search.trim()}”.` : 'No public rooms to join yet.'}
            </p>
          )}
          <ul class="discover__list" aria-busy={results.loading}>
            {shown.map((room) => (
              <li key={room.id} class="discover__item">
                <RoomAvatar id={room.id} name={room.name} />
                <a
                  href={`/rooms/${room.id}`}
                  class="discover__link"
                  onClick={(event) => {
                    event.preventDefault()
                    navigate({ name: 'room', roomId: room.id })
                  }}
                >
                  <span class="discover__name" dir="auto">
                    {room.name}
                  </span>
                  <span class="muted discover__count">{members(room.memberCount)}</span>
                </a>
                <button
                  type="button"
                  class="primary"
                  aria-label={`Join ${room.name}`}
                  disabled={joining === room.id}
                  onClick={() => void join(room)}
                >
                  Join
                </button>
              </li>
            ))}
          </ul>
          {results.loading && <p class="muted pad">Loading…</p>}
          {results.hasMore && !results.loading && (
            <button type="button" class="secondary load-more" onClick={() => void load(search, results.rooms.at(-1))}>
              Load more
            </button>
          )}
        </>
      )}
    </section>
  )
}
