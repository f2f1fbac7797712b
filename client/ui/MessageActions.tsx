import type { ComponentChildren, RefObject } from 'preact'
import { useLayoutEffect, useRef } from 'preact/hooks'

export interface MessageAction {
  label: string
  onSelect: () => void
  /** Drawn as destructive (Discard, Delete). */
  danger?: boolean
}

/** Why the menu closed: after a choice or Escape focus goes back to what opened it; after Tab or a tap elsewhere it stays where it went. */
export type CloseReason = 'select' | 'escape' | 'away'

/** A one-tap choice drawn small in a row above the list (the common reactions). */
export interface QuickAction {
  /** What is drawn (an emoji). */
  text: string
  /** Its accessible name, e.g. "React with 👍". */
  label: string
  onSelect: () => void
  /** Drawn as chosen (the person already holds this reaction). */
  pressed?: boolean
}

interface Props {
  id: string
  /** Drawn first, in a row: the six common reactions. */
  quick?: readonly QuickAction[]
  /** The menu's accessible name, e.g. "Message actions". */
  label: string
  actions: readonly MessageAction[]
  /** Shown above the actions: a failure's full reason, or why the message cannot be changed. */
  note?: ComponentChildren
  onClose: (reason: CloseReason) => void
  /** What opened the menu: a tap there is the opener's to handle (it toggles), not a tap elsewhere. */
  opener?: RefObject<HTMLElement | null>
}

/**
 * The small action menu of one message (a WAI-ARIA menu of buttons): opened by
 * a tap, a long press, a right-click or the keyboard on the message, it takes
 * focus on its first item; arrows, Home and End move between items; Escape
 * closes it (focus back on the message); Tab or a tap elsewhere closes it.
 * Shared by waiting/failed messages and, later, sent ones (reply, react...).
 * It sits in the flow under the bubble rather than floating: every message
 * row contains its paint (content-visibility), and in the flow it can never
 * run off a 320 px screen.
 */
export function MessageActions({ id, label, actions, quick = [], note, onClose, opener }: Props) {
  const root = useRef<HTMLDivElement>(null)
  const items = () => [
    ...(root.current?.querySelectorAll<HTMLButtonElement>('[role=menuitem], [role=menuitemcheckbox]') ?? []),
  ]

  // A layout effect, before paint, so a key pressed as soon as the menu shows reaches it (as in Popover).
  useLayoutEffect(() => {
    items()[0]?.focus()
    root.current?.scrollIntoView?.({ block: 'nearest' })
    const onPointer = (event: PointerEvent) => {
      const target = event.target as Node
      if (!root.current?.contains(target) && !opener?.current?.contains(target)) onClose('away')
    }
    document.addEventListener('pointerdown', onPointer)
    return () => document.removeEventListener('pointerdown', onPointer)
  }, [])

  const onKeyDown = (event: KeyboardEvent) => {
    const list = items()
    const at = list.indexOf(document.activeElement as HTMLButtonElement)
    const move = (to: number) => {
      event.preventDefault()
      list[(to + list.length) % list.length]?.focus()
    }
    if (event.key === 'ArrowDown') move(at + 1)
    else if (event.key === 'ArrowUp') move(at - 1)
    else if (event.key === 'Home') move(0)
    else if (event.key === 'End') move(list.length - 1)
    else if (event.key === 'Escape') {
      event.preventDefault()
      event.stopPropagation()
      onClose('escape')
    } else if (event.key === 'Tab') onClose('away')
  }

  return (
    <div class="msg-actions" ref={root}>
      {note && <p class="msg-actions__note">{note}</p>}
      <div id={id} class="msg-actions__list" role="menu" aria-label={label} onKeyDown={onKeyDown}>
        {quick.length > 0 && (
          // biome-ignore lint/a11y/useSemanticElements: a labelled group of buttons (inside a menu, or under a bubble); a fieldset is for form fields
          <div class="msg-actions__quick" role="group" aria-label="React">
            {quick.map((action, i) => (
              <button
                key={action.text}
                type="button"
                role="menuitemcheckbox"
                aria-checked={action.pressed === true}
                aria-label={action.label}
                tabIndex={i === 0 ? 0 : -1}
                class="msg-actions__emoji"
                onClick={() => {
                  onClose('select')
                  action.onSelect()
                }}
              >
                {action.text}
              </button>
            ))}
          </div>
        )}
        {actions.map((action, i) => (
          <button
            key={action.label}
            type="button"
            role="menuitem"
            tabIndex={i === 0 && quick.length === 0 ? 0 : -1}
            class={action.danger ? 'msg-actions__item msg-actions__item--danger' : 'msg-actions__item'}
            onClick={() => {
              onClose('select')
              action.onSelect()
            }}
          >
            {action.label}
          </button>
        ))}
      </div>
    </div>
  )
}
