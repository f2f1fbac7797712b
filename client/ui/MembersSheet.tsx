import type { RefObject } from 'preact'
import { useEffect, useLayoutEffect, useRef } from 'preact/hooks'
import type { Room } from '../../shared/schemas.ts'
import { loadMembers, moderates } from '../state/members.ts'
import { members, status } from '../state/store.ts'
import { InviteMember } from './InviteMember.tsx'
import { MemberList } from './MemberList.tsx'
import { RoomAbout } from './RoomAbout.tsx'

interface Props {
  room: Room
  /** Distinct people here now, or null when not known (offline). */
  online: number | null
  /** The button that opened the sheet: focus goes back to it on close. */
  opener: RefObject<HTMLButtonElement | null>
  onClose: () => void
}

/**
 * The room's details over the messages (a bottom sheet on phones, a side panel at desktop width), so
 * opening it never moves the timeline: its name and topic (renamed here by the owner and admins),
 * who is in it with their roles and what the viewer may do to each, and inviting by username. A native modal <dialog>: it keeps focus inside, makes the
 * rest of the page inert and closes on Escape; its title labels it. Closing (Escape, the close
 * button, a tap on the backdrop) puts focus back on the Members button.
 */
export function MembersSheet({ room, online, opener, onClose }: Props) {
  const dialog = useRef<HTMLDialogElement>(null)
  useLayoutEffect(() => {
    const el = dialog.current
    if (!el) return
    // showModal where it exists (every browser Ferry supports); a plain open dialog otherwise.
    if (typeof el.showModal === 'function') el.showModal()
    else el.setAttribute('open', '')
    const closed = () => {
      onClose()
      opener.current?.focus()
    }
    el.addEventListener('close', closed)
    return () => el.removeEventListener('close', closed)
  }, [])
  // Opened: the list as the server has it now (roles may have changed while it was closed).
  useEffect(() => {
    void loadMembers(room.id) // never rejects
  }, [room.id])
  // The list when loaded (it follows removals and invites at once); the room row's count until then.
  const many = members.value[room.id]?.length ?? room.memberCount
  const count = `${many} member${many === 1 ? '' : 's'}`
  return (
    // biome-ignore lint/a11y/useKeyWithClickEvents: the click is a tap on the backdrop; from the keyboard, Escape (native to a modal dialog) and the Close button do the same
    <dialog
      ref={dialog}
      id="members-panel"
      class="sheet"
      aria-labelledby="members-title"
      aria-modal="true"
      onClick={(event) => {
        // The dialog itself is hit only on its backdrop (its content fills it): a tap there closes it.
        if (event.target === dialog.current) dialog.current?.close()
      }}
    >
      <div class="sheet__content">
        <header class="sheet__head">
          <div class="sheet__titles">
            <h2 id="members-title" class="sheet__title">
              Members
            </h2>
            <p class="sheet__subtitle muted">{online === null ? count : `${count} · ${online} online`}</p>
          </div>
          <button type="button" class="icon sheet__close" aria-label="Close" onClick={() => dialog.current?.close()}>
            ×
          </button>
        </header>
        <div class="sheet__body">
          {status.value.offline && (
            <p class="sheet__offline muted">
              You are offline: this is the list as last seen, and changes need a connection.
            </p>
          )}
          <RoomAbout room={room} />
          <MemberList room={room} />
          {moderates(room.role) && <InviteMember room={room} />}
        </div>
      </div>
    </dialog>
  )
}
