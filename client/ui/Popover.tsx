import type { ComponentChildren } from 'preact'
import { useLayoutEffect, useRef, useState } from 'preact/hooks'

interface Props {
  id: string
  /** The button's content; its text is the button's accessible name. */
  label: ComponentChildren
  buttonClass?: string
  children: ComponentChildren
}

/**
 * A small menu behind a button (the disclosure pattern: a button with
 * aria-expanded, then ordinary buttons). It closes on Escape (focus back on its
 * button) or a tap elsewhere, but not when one of its own actions opens a
 * dialog, so "Log out" can ask first and stay put when the person cancels.
 */
export function Popover({ id, label, buttonClass = 'icon', children }: Props) {
  const [open, setOpen] = useState(false)
  const root = useRef<HTMLDivElement>(null)
  const button = useRef<HTMLButtonElement>(null)

  // A layout effect, not useEffect: that one runs after paint, so an Escape
  // pressed as soon as the panel shows could come before its listener.
  useLayoutEffect(() => {
    if (!open) return
    const onPointer = (event: PointerEvent) => {
      if (!root.current?.contains(event.target as Node)) setOpen(false)
    }
    const onKey = (event: KeyboardEvent) => {
      if (event.key !== 'Escape') return
      setOpen(false)
      button.current?.focus()
    }
    document.addEventListener('pointerdown', onPointer)
    document.addEventListener('keydown', onKey)
    return () => {
      document.removeEventListener('pointerdown', onPointer)
      document.removeEventListener('keydown', onKey)
    }
  }, [open])

  return (
    <div class="popover" ref={root}>
      <button
        ref={button}
        type="button"
        class={buttonClass}
        aria-expanded={open}
        aria-controls={id}
        onClick={() => setOpen(!open)}
      >
        {label}
      </button>
      {open && (
        <div id={id} class="popover__panel">
          {children}
        </div>
      )}
    </div>
  )
}
