import { useEffect } from 'preact/hooks'
import { logout } from '../state/actions.ts'
import { notice, route, user } from '../state/store.ts'
import { AuthScreen } from './AuthScreen.tsx'
import { RoomList } from './RoomList.tsx'
import { RoomView } from './RoomView.tsx'
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
  const confirmDiscard = (question: string) => window.confirm(question)
  return (
    <div class={`shell ${current.name === 'room' ? 'shell--room' : 'shell--list'}`}>
      <header class="topbar">
        <span class="brand">Ferry</span>
        <StatusLine />
        <span class="me">{me.username}</span>
        {/* logout never rejects: it reports its own failures in the notice */}
        <button type="button" class="link-button" onClick={() => void logout(confirmDiscard)}>
          Log out
        </button>
      </header>
      <nav class="sidebar" aria-label="Rooms">
        <RoomList />
      </nav>
      <main class="main">
        {current.name === 'room' ? (
          <RoomView key={current.roomId} roomId={current.roomId} />
        ) : (
          <p class="empty-main">Pick a room to start chatting.</p>
        )}
      </main>
      <Notice />
      <UpdatePrompt />
    </div>
  )
}
