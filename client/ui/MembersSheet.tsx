import type { RefObject } from 'preact'
import { useLayoutEffect, useRef } from 'preact/hooks'
import type { Room } from '../../shared/schemas.ts'
import { MemberList } from './MemberList.tsx'

interface Props {
  room: Room
  /** Distinct people here now, or null when not known (offline). */
  online: number | null
  /** The button that opened the sheet: focus goes back to it on close. */
  opener: RefObject<HTMLButtonElement | null>
  onClose: () => void
}

/**
 * The member list over the messages (a bottom sheet on phones, a side panel at desktop width), so
 * opening it never moves the timeline. A native modal <dialog>: it keeps focus inside, makes the
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
  const count = `${room.memberCount} member${room.memberCount === 1 ? '' : 's'}`
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
          <MemberList room={room} />
        </div>
      </div>
    </dialog>
  )
}
