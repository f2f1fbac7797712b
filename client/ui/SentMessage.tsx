import { useEffect, useRef, useState } from 'preact/hooks'
import type { ShownMessage } from '../log/timeline.ts'
import { bodyProblem, discardMessage, retryMessage } from '../state/compose.ts'
import { deleteMessage, editMessageText, failureText, toggleReaction } from '../state/operations.ts'
import { replyingTo } from '../state/store.ts'
import { formatTime } from '../time/format.ts'
import { charactersLeft, LengthCounter } from './LengthCounter.tsx'
import { type CloseReason, type MessageAction, MessageActions, type QuickAction } from './MessageActions.tsx'
import { MessageText } from './MessageText.tsx'
import { focusRow, goToOriginal } from './quote.ts'
import { COMMON_REACTIONS, MORE_REACTIONS } from './reactions.ts'

/** How long a finger rests on a message before its menu opens (where the browser sends no contextmenu). */
const LONG_PRESS_MS = 500

const fromControl = (event: Event) => (event.target as Element | null)?.closest?.('a, button') != null

const WHAT = { edit: 'Edit', delete: 'Deletion', react: 'Reaction' } as const

interface Props {
  entry: ShownMessage
  roomId: string
  /** The person wrote it: they may edit and delete it. */
  own: boolean
  /** The person moderates the room (owner or admin): they may delete it too. */
  moderator: boolean
  /** The author's name above the bubble (first of a run, not one's own). */
  showAuthor: boolean
}

/**
 * A message from the log, in its current state (edited, deleted, reactions,
 * the reply it quotes), with the person's waiting changes already shown
 * (marked waiting) and refused ones explained. Its actions (reply, react,
 * copy, edit, delete) are in a menu opened by a long press, a right-click, or
 * the "…" button (keyboard: Enter, Space, ContextMenu).
 */
export function SentMessage({ entry, roomId, own, moderator, showAuthor }: Props) {
  const [menu, setMenu] = useState(false)
  const [picker, setPicker] = useState(false)
  const [editing, setEditing] = useState(false)
  const [draft, setDraft] = useState(entry.body)
  const [notice, setNotice] = useState<string | null>(null)
  const [info, setInfo] = useState<string | null>(null)
  const bubble = useRef<HTMLDivElement>(null)
  const more = useRef<HTMLButtonElement>(null)
  const editBox = useRef<HTMLTextAreaElement>(null)
  const pickerRef = useRef<HTMLDivElement>(null)
  const press = useRef<ReturnType<typeof setTimeout> | null>(null)
  const target = { seq: entry.seq }
  const deleted = entry.deleted

  const clearPress = () => {
    if (press.current !== null) clearTimeout(press.current)
    press.current = null
  }
  useEffect(() => () => clearPress(), [])
  useEffect(() => {
    if (editing) editBox.current?.focus()
  }, [editing])
  useEffect(() => {
    if (picker) pickerRef.current?.querySelector('button')?.focus()
  }, [picker])

  const act = (action: () => Promise<string | null>, onDone: () => void = () => undefined) => {
    setNotice(null)
    setInfo(null)
    action().then(
      (problem) => (problem ? setNotice(problem) : onDone()),
      (error: unknown) => {
        console.error('[ferry] message action failed', entry.seq, error)
        setNotice('Something went wrong. Try again.')
      },
    )
  }
  const react = (emoji: string) => {
    const held = entry.reactions.some((r) => r.emoji === emoji && r.mine)
    act(() => toggleReaction(roomId, target, emoji, held))
  }
  const copy = () => {
    const clipboard = navigator.clipboard as Clipboard | undefined
    if (!clipboard) return setNotice('Copying is not available here: select the text instead.')
    clipboard.writeText(entry.body).then(
      () => setInfo('Copied.'),
      () => setNotice('Could not copy: select the text instead.'),
    )
  }
  const reply = () => {
    replyingTo.value = {
      roomId,
      target,
      authorName: entry.authorName,
      firstLine: entry.body.split('\n').find((line) => line.trim() !== '') ?? '',
    }
    document.getElementById('composer-input')?.focus()
  }
  const openMenu = () => {
    setInfo(null)
    setMenu(true)
  }
  const closeMenu = (why: CloseReason) => {
    setMenu(false)
    if (why === 'escape') more.current?.focus()
  }

  const actions: MessageAction[] = deleted
    ? []
    : [
        { label: 'Reply', onSelect: reply },
        { label: 'More emoji…', onSelect: () => setPicker(true) },
        { label: 'Copy text', onSelect: copy },
        ...(own
          ? [
              {
                label: 'Edit',
                onSelect: () => {
                  setDraft(entry.body)
                  setEditing(true)
                },
              },
            ]
          : []),
        ...(own || moderator
          ? [{ label: 'Delete', danger: true, onSelect: () => act(() => deleteMessage(roomId, target)) }]
          : []),
      ]
  const quick: QuickAction[] = deleted
    ? []
    : COMMON_REACTIONS.map((emoji) => ({
        text: emoji,
        label: `React with ${emoji}`,
        pressed: entry.reactions.some((r) => r.emoji === emoji && r.mine),
        onSelect: () => react(emoji),
      }))
  const menuId = `msg-actions-s${entry.seq}`
  const waiting = entry.waiting ?? []
  const quoted = entry.replyTo

  return (
    <>
      {/* The author for everyone: seen above the first of a run, heard on every message (own ones too). */}
      {editing ? (
        <form
          class="msg__edit"
          onSubmit={(event) => {
            event.preventDefault()
            const problem = bodyProblem(draft)
            if (problem) return setNotice(problem)
            act(
              () => editMessageText(roomId, target, draft),
              () => setEditing(false),
            )
          }}
        >
          <textarea
            ref={editBox}
            aria-label="Edit message"
            dir="auto"
            value={draft}
            aria-describedby={charactersLeft(draft) ? `edit-count-s${entry.seq}` : undefined}
            onInput={(e) => {
              setDraft((e.currentTarget as HTMLTextAreaElement).value)
              setNotice(null)
            }}
          />
          <LengthCounter id={`edit-count-s${entry.seq}`} text={draft} />
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
        // biome-ignore lint/a11y/noStaticElementInteractions: long press and right-click are shortcuts; the keyboard's way in is the "…" button
        <div
          ref={bubble}
          class={`msg__bubble${deleted ? ' msg__bubble--deleted' : ''}`}
          onContextMenu={(event) => {
            if (deleted) return
            event.preventDefault()
            openMenu()
          }}
          onPointerDown={(event) => {
            if (deleted || event.pointerType !== 'touch' || fromControl(event)) return
            clearPress()
            press.current = setTimeout(openMenu, LONG_PRESS_MS)
          }}
          onPointerUp={clearPress}
          onPointerCancel={clearPress}
          onPointerMove={clearPress}
        >
          {showAuthor ? (
            <p class="msg__author">{entry.authorName}</p>
          ) : (
            <span class="visually-hidden">{own ? 'You: ' : `${entry.authorName}: `}</span>
          )}
          {quoted && (
            <button
              type="button"
              class="msg__quote"
              onClick={() => {
                goToOriginal(roomId, quoted.seq, () => focusRow(`li[data-seq="${quoted.seq}"]`), setInfo)
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
            {deleted ? <em class="muted">Message deleted</em> : <MessageText text={entry.body} />}
          </p>
          <span class="msg__meta">
            {entry.edited && !deleted && 'edited · '}
            {waiting.length > 0 && (
              <span class="msg__waiting">{waiting.map((w) => WHAT[w]).join(', ')} waiting · </span>
            )}
            <time dateTime={entry.createdAt}>{formatTime(entry.createdAt)}</time>
            {!deleted && (
              <button
                ref={more}
                type="button"
                class="msg__actions-button"
                aria-label={`Actions for ${own ? 'your message' : `the message by ${entry.authorName}`}`}
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
                <span aria-hidden="true">⋯</span>
              </button>
            )}
          </span>
        </div>
      )}
      {entry.reactions.length > 0 && (
        // biome-ignore lint/a11y/useSemanticElements: a labelled group of buttons (inside a menu, or under a bubble); a fieldset is for form fields
        <div class="msg__reactions" role="group" aria-label="Reactions">
          {entry.reactions.map((r) => (
            <button
              key={r.emoji}
              type="button"
              class={`chip${r.mine ? ' chip--mine' : ''}${r.waiting ? ' chip--waiting' : ''}`}
              aria-pressed={r.mine}
              aria-label={`${r.emoji} ${r.count}${r.mine ? ', yours' : ''}${r.waiting ? ', waiting' : ''}`}
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
          onClose={closeMenu}
          opener={bubble}
        />
      )}
      {picker && (
        // biome-ignore lint/a11y/useSemanticElements: a labelled group of buttons (inside a menu, or under a bubble); a fieldset is for form fields
        <div
          ref={pickerRef}
          class="emoji-picker"
          role="group"
          aria-label="Choose an emoji"
          onKeyDown={(event) => {
            if (event.key === 'Escape') {
              event.preventDefault()
              setPicker(false)
              more.current?.focus()
            }
          }}
        >
          {[...COMMON_REACTIONS, ...MORE_REACTIONS].map((emoji) => (
            <button
              key={emoji}
              type="button"
              class="emoji-picker__item"
              aria-label={`React with ${emoji}`}
              onClick={() => {
                setPicker(false)
                react(emoji)
              }}
            >
              {emoji}
            </button>
          ))}
          <button type="button" class="secondary emoji-picker__close" onClick={() => setPicker(false)}>
            Close
          </button>
        </div>
      )}
      {(entry.failed ?? []).map((f) => (
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
      {notice && (
        <p class="msg__notice" role="alert">
          {notice}
        </p>
      )}
      {info && (
        <p class="msg__info" role="status">
          {info}
        </p>
      )}
    </>
  )
}
