import { useEffect, useRef, useState } from 'preact/hooks'
import type { OutboxItem } from '../db/schema.ts'
import { bodyProblem, discardMessage, editMessage, retryMessage } from '../state/compose.ts'
import { formatTime } from '../time/format.ts'
import { charactersLeft, LengthCounter } from './LengthCounter.tsx'
import { type CloseReason, type MessageAction, MessageActions } from './MessageActions.tsx'
import { MessageText } from './MessageText.tsx'

const IN_FLIGHT = 'Already being sent: it can no longer be changed.'
/** How long a finger rests on a message before its menu opens (where the browser sends no contextmenu). */
const LONG_PRESS_MS = 500

type Phase = 'waiting' | 'sending' | 'failed'

/** The small status mark in the time line; its meaning is in words for screen readers, not in the shape or colour alone. */
function StatusMark({ phase }: { phase: Phase }) {
  if (phase === 'failed')
    return (
      <span class="msg__mark msg__mark--failed" aria-hidden="true">
        !
      </span>
    )
  return (
    <svg class="msg__mark" viewBox="0 0 16 16" width="13" height="13" aria-hidden="true" focusable="false">
      {phase === 'waiting' ? (
        <>
          <circle cx="8" cy="8" r="6.25" />
          <path d="M8 4.5V8l2.5 1.75" />
        </>
      ) : (
        <>
          <circle cx="8" cy="8" r="6.25" />
          <path d="M8 11.5v-7M5.25 7.25 8 4.5l2.75 2.75" />
        </>
      )}
    </svg>
  )
}

/** Whether a click came from something with its own action (a link in the text, the status button). */
const fromControl = (event: Event) => (event.target as Element | null)?.closest?.('a, button') != null

/**
 * A local echo: shown at once, with its time and a small mark (clock: waiting;
 * arrow: being sent; "!": failed) at the end of its last line. Its actions
 * (retry, edit, copy, discard) are in a menu opened by a tap, a long press, a
 * right-click or the keyboard (the mark is a button). Editable and
 * discardable only while no sender has handed it to the network: once it is
 * in flight the server may already hold it, and the menu says so.
 */
export function PendingMessage({ item }: { item: OutboxItem }) {
  const [editing, setEditing] = useState(false)
  const [draft, setDraft] = useState(item.body)
  const [notice, setNotice] = useState<string | null>(null)
  const [info, setInfo] = useState<string | null>(null)
  const [menu, setMenu] = useState(false)
  const failed = item.state === 'failed'
  const inFlight = !failed && item.sentAt !== undefined
  const phase: Phase = failed ? 'failed' : inFlight ? 'sending' : 'waiting'
  const reason = item.error?.message ?? 'refused by the server'
  const shownNotice = notice ?? (editing && inFlight ? IN_FLIGHT : null)
  const noticeRef = useRef<HTMLParagraphElement>(null)
  const bubble = useRef<HTMLDivElement>(null)
  const statusButton = useRef<HTMLButtonElement>(null)
  const editBox = useRef<HTMLTextAreaElement>(null)
  const press = useRef<ReturnType<typeof setTimeout> | null>(null)
  // A refusal under a message at the bottom of the list may fall below its visible edge: bring it
  // into view, or a Save that did nothing would look like a silent failure.
  useEffect(() => {
    if (shownNotice) noticeRef.current?.scrollIntoView?.({ block: 'nearest' })
  }, [shownNotice])
  useEffect(() => {
    if (editing) editBox.current?.focus()
  }, [editing])
  useEffect(() => () => clearPress(), [])

  /** Runs an action; a refusal (or failure) shows its reason instead of vanishing. */
  const act = (action: () => Promise<string | null>, onDone: () => void = () => undefined) => {
    setNotice(null)
    setInfo(null)
    action()
      .then((refusal) => {
        if (refusal) setNotice(refusal)
        else onDone()
      })
      .catch((error: unknown) => {
        console.error('[ferry] outbox action failed', item.clientId, error)
        setNotice('Something went wrong. Try again.')
      })
  }

  const copy = () => {
    setNotice(null)
    const clipboard = navigator.clipboard as Clipboard | undefined
    if (!clipboard) return setNotice('Copying is not available here: select the text instead.')
    clipboard.writeText(item.body).then(
      () => setInfo('Copied.'),
      (error: unknown) => {
        console.warn('[ferry] copy failed', error)
        setNotice('Could not copy: select the text instead.')
      },
    )
  }

  const openMenu = () => {
    setInfo(null)
    setMenu(true)
  }
  const closeMenu = (why: CloseReason) => {
    setMenu(false)
    if (why !== 'away') statusButton.current?.focus()
  }
  const clearPress = () => {
    if (press.current !== null) clearTimeout(press.current)
    press.current = null
  }

  const actions: MessageAction[] = inFlight
    ? [{ label: 'Copy text', onSelect: copy }]
    : [
        ...(failed ? [{ label: 'Retry', onSelect: () => act(() => retryMessage(item.clientId)) }] : []),
        {
          label: 'Edit',
          onSelect: () => {
            setNotice(null)
            setDraft(item.body)
            setEditing(true)
          },
        },
        { label: 'Copy text', onSelect: copy },
        { label: 'Discard', danger: true, onSelect: () => act(() => discardMessage(item.clientId)) },
      ]
  const note = failed ? `Not sent: ${reason}` : inFlight ? IN_FLIGHT : 'Waiting to send. It goes out once connected.'
  const menuId = `msg-actions-${item.clientId}`

  return (
    <li
      class={`msg msg--own msg--${item.state}${inFlight ? ' msg--sending' : ''}`}
      data-state={item.state}
      data-in-flight={inFlight ? 'true' : undefined}
      data-client-id={item.clientId}
    >
      {editing ? (
        <form
          class="msg__edit"
          onSubmit={(event) => {
            event.preventDefault()
            const problem = bodyProblem(draft)
            if (problem) return setNotice(problem)
            act(
              () => editMessage(item.clientId, draft),
              () => setEditing(false),
            )
          }}
        >
          <textarea
            ref={editBox}
            aria-label="Edit message"
            dir="auto"
            value={draft}
            aria-describedby={charactersLeft(draft) ? `edit-count-${item.clientId}` : undefined}
            onInput={(e) => {
              setDraft((e.currentTarget as HTMLTextAreaElement).value)
              setNotice(null)
            }}
          />
          <LengthCounter id={`edit-count-${item.clientId}`} text={draft} />
          <div class="row">
            <button type="submit" class="primary" disabled={inFlight}>
              Save
            </button>
            <button type="button" class="secondary" onClick={() => setEditing(false)}>
              Cancel
            </button>
          </div>
        </form>
      ) : (
        // biome-ignore lint/a11y/noStaticElementInteractions: a tap or long press anywhere on the bubble is a shortcut; the keyboard's way in is the status button
        // biome-ignore lint/a11y/useKeyWithClickEvents: the same status button is the keyboard path (Enter, Space, ContextMenu)
        <div
          ref={bubble}
          class="msg__bubble msg__bubble--actions"
          onClick={(event) => {
            // A link keeps its own tap, and a drag that selected text is not a tap.
            if (fromControl(event) || !(window.getSelection()?.isCollapsed ?? true)) return
            openMenu()
          }}
          onContextMenu={(event) => {
            event.preventDefault()
            openMenu()
          }}
          onPointerDown={(event) => {
            if (event.pointerType !== 'touch' || fromControl(event)) return
            clearPress()
            press.current = setTimeout(openMenu, LONG_PRESS_MS)
          }}
          onPointerUp={clearPress}
          onPointerCancel={clearPress}
          onPointerMove={clearPress}
        >
          <span class="visually-hidden">You: </span>
          <p class="msg__body" dir="auto">
            <MessageText text={item.body} />
          </p>
          <span class="msg__meta">
            <time dateTime={item.createdAt}>{formatTime(item.createdAt)}</time>
            <button
              ref={statusButton}
              type="button"
              class="msg__status"
              aria-haspopup="menu"
              aria-expanded={menu}
              aria-controls={menu ? menuId : undefined}
              onClick={() => (menu ? setMenu(false) : openMenu())}
              onKeyDown={(event) => {
                if (event.key === 'ContextMenu' || (event.shiftKey && event.key === 'F10')) {
                  event.preventDefault()
                  openMenu()
                }
              }}
            >
              <StatusMark phase={phase} />
              {phase === 'failed' ? (
                <>
                  {/* Seen: a short word; heard: the whole reason (one text, so it reads as one phrase). */}
                  <span aria-hidden="true"> Failed</span>
                  <span class="visually-hidden">{`Failed: ${reason}`}</span>
                </>
              ) : (
                // Not "Waiting to send" / "Sending": a name containing "send" would be one more "Send" button to find.
                <span class="visually-hidden">{phase === 'waiting' ? 'Waiting, not sent yet' : 'On its way'}</span>
              )}
            </button>
          </span>
        </div>
      )}
      {menu && !editing && (
        <MessageActions
          id={menuId}
          label="Message actions"
          actions={actions}
          note={note}
          onClose={closeMenu}
          opener={bubble}
        />
      )}
      {shownNotice && (
        <p ref={noticeRef} class="msg__notice" role="alert">
          {shownNotice}
        </p>
      )}
      {info && (
        <p class="msg__info" role="status">
          {info}
        </p>
      )}
    </li>
  )
}
