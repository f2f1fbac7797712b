import { navigate } from '../state/navigation.ts'

/**
 * What a screen with nothing on it says: what it is, and what to do next. The action is a button
 * where the screen has one to offer; otherwise the text names the control to use.
 */

/** In the message list of a room that holds no messages at all. */
export function EmptyRoom({ canWrite }: { canWrite: boolean }) {
  return (
    <li class="empty-room">
      <p class="empty-room__title">No messages yet</p>
      {canWrite ? (
        <>
          <p class="empty-room__hint">Say hello: the first message starts the conversation.</p>
          <button type="button" class="secondary" onClick={() => document.getElementById('composer-input')?.focus()}>
            Write the first message
          </button>
        </>
      ) : (
        <p class="empty-room__hint">Join the room to write the first message.</p>
      )}
    </li>
  )
}

/** The main area at desktop width before a room is opened (on phones the room list fills the screen). */
export function NoRoomOpen({ hasRooms }: { hasRooms: boolean }) {
  return (
    <div class="empty-state empty-main">
      <h2>{hasRooms ? 'No room open' : 'Start a conversation'}</h2>
      <p>
        {hasRooms
          ? 'Choose a room from the list to read it, or start a new one with New room.'
          : 'You are in no rooms yet. Start one with New room (public for anyone here, or private for people you invite), or join a public room.'}
      </p>
      {!hasRooms && (
        <button type="button" class="primary" onClick={() => navigate({ name: 'discover' })}>
          Find public rooms
        </button>
      )}
    </div>
  )
}

/** The room list with no rooms in it: the person is in none (public rooms to join are in Discover). */
export function NoRooms() {
  return (
    <div class="empty-list pad">
      <p class="empty-list__title">No rooms yet</p>
      <p class="muted">
        Start one with New room above (public for anyone here, or private for people you invite), or find public rooms
        to join with Discover. A room someone shared a link to opens from that link.
      </p>
    </div>
  )
}
