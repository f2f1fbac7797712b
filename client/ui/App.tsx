import { useEffect } from 'preact/hooks'
import { install, installOffer } from '../pwa/install.ts'
import { logout } from '../state/session.ts'
import { notice, rooms, route, user } from '../state/store.ts'
import { AuthScreen } from './AuthScreen.tsx'
import { Discover } from './Discover.tsx'
import { NoRoomOpen } from './EmptyStates.tsx'
import { narrowLayout, usePaintedSince } from './first-paint.ts'
import { NotifyOffer, NotifySetting } from './Notifications.tsx'
import { Popover } from './Popover.tsx'
import { RoomList } from './RoomList.tsx'
import { RoomView } from './RoomView.tsx'
import { SearchScreen } from './Search.tsx'
import { StatusLine } from './StatusLine.tsx'
import { UpdatePrompt } from './UpdatePrompt.tsx'

function Notice() {
  const text = notice.value
  useEffect(() => {
    if (!text) return
    const t = setTimeout(() => {
      notice.value = null
    }, 6000)
    return () => clearTimeout(t)
  }, [text])
  if (!text) return null
  return (
    <div class="notice" role="alert">
      {text}
    </div>
  )
}

/** Who is signed in, and Log out: out of the app bar, behind one button. */
function AccountMenu({ username }: { username: string }) {
  const confirmDiscard = (question: string) => window.confirm(question)
  return (
    <Popover
      id="account-menu"
      buttonClass="account"
      label={
        <>
          <span class="visually-hidden">Account: </span>
          <span class="account__name">{username}</span>
        </>
      }
    >
      <p class="popover__text">
        Signed in as <strong>{username}</strong>
      </p>
      <NotifySetting />
      {/* logout never rejects: it reports its own failures in the notice */}
      <button type="button" class="secondary" onClick={() => void logout(confirmDiscard)}>
        Log out
      </button>
    </Popover>
  )
}

/** Keyboard users jump past the app bar and the room list to the message box; shown only while it has focus. */
function SkipLink() {
  return (
    // biome-ignore lint/a11y/useValidAnchor: a skip link is a link to its target (and works without script); the click only focuses it, because following the #fragment would fire popstate, and the router would open the room again
    <a
      href="#composer-input"
      class="skip-link"
      onClick={(event) => {
        event.preventDefault()
        document.getElementById('composer-input')?.focus()
      }}
    >
      Skip to message box
    </a>
  )
}

/**
 * The room list. On a phone an open room (or Discover) covers it, so a start there builds it only
 * after the first frame: the first paint spends nothing on what it does not show.
 */
function Sidebar({ covered }: { covered: boolean }) {
  const painted = usePaintedSince(true)
  return (
    <nav class="sidebar" aria-label="Rooms">
      {(painted || !covered || !narrowLayout()) && <RoomList />}
    </nav>
  )
}

export function App() {
  const me = user.value
  if (me === undefined) return <div class="splash" aria-busy="true" />
  if (me === null) {
    return (
      <>
        <AuthScreen />
        <UpdatePrompt />
      </>
    )
  }
  const current = route.value
  const openRoom = current.name === 'room' ? rooms.value.find((r) => r.id === current.roomId) : undefined
  // On a phone, a room, Discover and Search take the whole screen; the list is one Back away.
  const full = current.name === 'room' || current.name === 'discover' || current.name === 'search'
  return (
    <div class={`shell ${full ? 'shell--room' : 'shell--list'}`}>
      {openRoom && openRoom.role !== null && <SkipLink />}
      <header class="topbar">
        <span class="brand">Ferry</span>
        {installOffer.value && (
          <button type="button" class="secondary install" onClick={() => void install()}>
            Install
          </button>
        )}
        <AccountMenu username={me.username} />
      </header>
      <StatusLine />
      <NotifyOffer />
      <Sidebar covered={full} />
      <main class="main">
        {current.name === 'room' ? (
          <RoomView key={current.roomId} roomId={current.roomId} />
        ) : current.name === 'discover' ? (
          <Discover />
        ) : current.name === 'search' ? (
          <SearchScreen route={current} />
        ) : (
          <NoRoomOpen hasRooms={rooms.value.some((r) => r.role !== null)} />
        )}
      </main>
      <Notice />
      <UpdatePrompt />
    </div>
  )
}
