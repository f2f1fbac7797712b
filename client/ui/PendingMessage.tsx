import { useEffect, useRef, useState } from 'preact/hooks'
import type { OutboxItem } from '../db/schema.ts'
import { type PendingReply, pendingView } from '../log/pending.ts'
import { firstLine } from '../log/timeline.ts'
import { bodyProblem, discardMessage, retryMessage } from '../state/compose.ts'
import { deleteMessage, editMessageText, failureText, toggleReaction } from '../state/operations.ts'
import { outbox, replyingTo, timeline, user } from '../state/store.ts'
import { formatTime } from '../time/format.ts'
import { charactersLeft, LengthCounter } from './LengthCounter.tsx'
import { type CloseReason, type MessageAction, MessageActions, type QuickAction } from './MessageActions.tsx'
import { MessageText } from './MessageText.tsx'
import { focusRow, goToOriginal } from './quote.ts'
import { COMMON_REACTIONS } from './reactions.ts'

const IN_FLIGHT = 'Being sent: a change now goes out after it, as its own step.'
const WHAT = { edit: 'Edit', delete: 'Deletion', react: 'Reaction' } as const

/** Moves the eyes and the focus to the message a waiting reply quotes, when it is in the list. */
function showQuoted(quoted: PendingReply): boolean {
  return focusRow(quoted.seq !== null ? `li[data-seq="${quoted.seq}"]` : `li[data-client-id="${quoted.clientId}"]`)
}
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
 * arrow: being sent; "!": failed) at the end of its last line, the reply it
 * quotes, and the person's changes to it (client/log/pending.ts). Its actions
 * (react, reply, retry, edit, copy, discard) are in a menu opened by a tap, a
 * long press, a right-click or the keyboard (the mark is a button). While no
 * sender has handed it to the network an edit or discard changes the queued
 * message itself; once in flight the server may already hold it, so an edit
 * or deletion becomes an operation by its clientId, shown here as waiting.
 */
export function PendingMessage({ item }: { item: OutboxItem }) {
  const shown = timeline.value
  const view = pendingView(
    item,
    outbox.value,
    shown?.roomId === item.roomId ? shown.entries : [],
    user.value?.username ?? 'You',
  )
  const target = { clientId: item.clientId }
  const [editing, setEditing] = useState(false)
  const [draft, setDraft] = useState(item.body)
  const [notice, setNotice] = useState<string | null>(null)
  const [info, setInfo] = useState<string | null>(null)
  const [menu, setMenu] = useState(false)
  const failed = item.state === 'failed'
  const inFlight = !failed && item.sentAt !== undefined
  const phase: Phase = failed ? 'failed' : inFlight ? 'sending' : 'waiting'
  const reason = item.error?.message ?? 'refused by the server'
  const shownNotice = notice
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
    clipboard.writeText(view.body).then(
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

  const react = (emoji: string) => {
    const held = view.reactions.some((r) => r.emoji === emoji)
    act(() => toggleReaction(item.roomId, target, emoji, held))
  }
  const reply = () => {
    replyingTo.value = {
      roomId: item.roomId,
      target,
      authorName: user.value?.username ?? 'You',
      firstLine: firstLine(view.body),
    }
    document.getElementById('composer-input')?.focus()
  }
  const edit = {
    label: 'Edit',
    onSelect: () => {
      setNotice(null)
      setDraft(view.body)
      setEditing(true)
    },
  }
  // A failed send was refused (nothing stored): it can be retried, changed or discarded, not answered.
  const live = !failed && !view.deleted
  const actions: MessageAction[] = view.deleted
    ? []
    : inFlight
      ? [
          { label: 'Reply', onSelect: reply },
          edit,
          { label: 'Copy text', onSelect: copy },
          { label: 'Delete', danger: true, onSelect: () => act(() => deleteMessage(item.roomId, target)) },
        ]
      : [
          ...(failed ? [{ label: 'Retry', onSelect: () => act(() => retryMessage(item.clientId)) }] : []),
          ...(failed ? [] : [{ label: 'Reply', onSelect: reply }]),
          edit,
          { label: 'Copy text', onSelect: copy },
          // Discarding takes what was queued against it too (its reactions; a reply to it keeps its text).
          { label: 'Discard', danger: true, onSelect: () => act(() => deleteMessage(item.roomId, target)) },
        ]
  const quick: QuickAction[] = live
    ? COMMON_REACTIONS.map((emoji) => ({
        text: emoji,
        label: `React with ${emoji}`,
        pressed: view.reactions.some((r) => r.emoji === emoji),
        onSelect: () => react(emoji),
      }))
    : []
  const note = failed ? `Not sent: ${reason}` : inFlight ? IN_FLIGHT : 'Waiting to send. It goes out once connected.'
  const quoted = view.replyTo
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
            // The queued message itself while no sender holds it; else an edit operation by clientId.
            act(
              () => editMessageText(item.roomId, target, draft),
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
            <button type="submit" class="primary">
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
          {quoted && (
            <button
              type="button"
              class="msg__quote"
              onClick={() => {
                // A queued original is always on screen; a stored one may be older than the window.
                if (quoted.seq === null) {
                  if (!showQuoted(quoted)) setInfo('The original is not shown here.')
                } else goToOriginal(item.roomId, quoted.seq, () => showQuoted(quoted), setInfo)
              }}
            >
              <span class="visually-hidden">In reply to </span>
              <span class="msg__quote-author">{quoted.authorName ?? 'an earlier message'}</span>
              <span class="msg__quote-text" dir="auto">
                {quoted.deleted ? 'Message deleted' : (quoted.firstLine ?? '')}
              </span>
            </button>
          )}
          <p class="msg__body" dir="auto">
            {view.deleted ? <em class="muted">Message deleted</em> : <MessageText text={view.body} />}
          </p>
          <span class="msg__meta">
            {view.edited && 'edited · '}
            {view.waiting.length > 0 && (
              <span class="msg__waiting">{view.waiting.map((w) => WHAT[w]).join(', ')} waiting · </span>
            )}
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
      {view.reactions.length > 0 && (
        // biome-ignore lint/a11y/useSemanticElements: a labelled group of buttons under a bubble; a fieldset is for form fields
        <div class="msg__reactions" role="group" aria-label="Reactions">
          {view.reactions.map((r) => (
            <button
              key={r.emoji}
              type="button"
              class="chip chip--mine chip--waiting"
              aria-pressed={true}
              aria-label={`${r.emoji} ${r.count}, yours, waiting`}
              onClick={() => react(r.emoji)}
            >
              <span aria-hidden="true">
                {r.emoji} {r.count}
              </span>
            </button>
          ))}
        </div>
      )}
      {menu && !editing && (
        <MessageActions
          id={menuId}
          label="Message actions"
          actions={actions}
          quick={quick}
          note={note}
          onClose={closeMenu}
          opener={bubble}
        />
      )}
      {view.failed.map((f) => (
        <p key={f.clientId} class="msg__notice" role="alert">
          {`${WHAT[f.type]} not saved: ${failureText(f.code, f.message)}. `}
          <button type="button" class="small" onClick={() => act(() => retryMessage(f.clientId))}>
            Retry
          </button>{' '}
          <button type="button" class="small" onClick={() => act(() => discardMessage(f.clientId))}>
            Dismiss
          </button>
        </p>
      ))}
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
