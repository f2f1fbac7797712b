import { useEffect, useRef, useState } from 'preact/hooks'
import { getDb } from '../db/page.ts'
import { bodyProblem, send, typing } from '../state/compose.ts'
import { insertMention, type MentionQuery, mentionCandidates, mentionQuery } from '../state/mention-complete.ts'
import { members, replyingTo, user } from '../state/store.ts'
import { publish } from '../tabs/bus.ts'
import { now } from '../time/clock.ts'
import { charactersLeft, LengthCounter } from './LengthCounter.tsx'

/**
 * On a touch screen Enter starts a new line and the Send button sends, as in the phone
 * messengers people know (an on-screen keyboard has no Shift+Enter); with a mouse and a
 * keyboard, Enter sends and Shift+Enter starts a line. Asked at each key press: a tablet
 * may get a keyboard and a trackpad while the app is open.
 */
function enterSends(): boolean {
  return typeof matchMedia !== 'function' || !matchMedia('(pointer: coarse)').matches
}

/**
 * The draft is kept in IndexedDB so a reload (or an app update) never loses
 * half a message. The text is cleared only once the outbox write succeeded;
 * when the device refuses it (storage full…), the text stays and the error shows.
 */
export function Composer({ roomId, disabled }: { roomId: string; disabled: boolean }) {
  const [text, setText] = useState('')
  const [error, setError] = useState<string | null>(null)
  const ref = useRef<HTMLTextAreaElement>(null)
  const saveTimer = useRef<ReturnType<typeof setTimeout> | null>(null)
  const sending = useRef(false)
  /** Typed since this room's draft began loading: a late draft must not overwrite it. */
  const typed = useRef(false)
  /** The `@name` being typed (issue 9 item 2) and the highlighted suggestion. */
  const [mention, setMention] = useState<MentionQuery | null>(null)
  const [active, setActive] = useState(0)
  const candidates = mention ? mentionCandidates(members.value[roomId] ?? [], mention.query, user.value?.id ?? '') : []
  const suggesting = candidates.length > 0
  const lookForMention = (el: HTMLTextAreaElement) => {
    const found = mentionQuery(el.value, el.selectionStart ?? el.value.length)
    if (found?.start !== mention?.start || found?.query !== mention?.query) setActive(0)
    setMention(found)
  }
  const pick = (username: string) => {
    const el = ref.current
    if (!el || !mention) return
    const next = insertMention(el.value, mention, el.selectionStart ?? el.value.length, username)
    setText(next.text)
    saveDraft(next.text)
    setMention(null)
    // After Preact writes the value: the caret goes after the inserted name.
    requestAnimationFrame(() => {
      el.focus()
      el.setSelectionRange(next.caret, next.caret)
    })
  }

  useEffect(() => {
    let live = true
    typed.current = false
    setError(null)
    getDb()
      .then((db) => db.get('drafts', roomId))
      .then((draft) => {
        if (live && !typed.current) setText(draft?.text ?? '')
      })
      .catch((reason: unknown) => console.warn('[ferry] could not load the draft', roomId, reason))
    return () => {
      live = false
    }
  }, [roomId])

  const saveDraft = (value: string) => {
    if (saveTimer.current) clearTimeout(saveTimer.current)
    saveTimer.current = setTimeout(() => {
      getDb()
        .then(async (db) => {
          if (value) await db.put('drafts', { roomId, text: value, updatedAt: new Date(now()).toISOString() })
          else await db.delete('drafts', roomId)
          // The room list says "Draft: …" (in every tab) once the person is elsewhere.
          publish({ type: 'rooms-changed' })
        })
        .catch((reason: unknown) => console.warn('[ferry] could not save the draft', roomId, reason))
    }, 300)
  }

  const submit = async () => {
    const value = text
    if (sending.current || bodyProblem(value)) return
    sending.current = true
    try {
      const reply = replyingTo.peek()
      const result = await send(roomId, value, reply?.roomId === roomId ? reply.target : undefined)
      if (result.ok) {
        setError(null)
        if (reply?.roomId === roomId) replyingTo.value = null
        // Whatever was typed while the write ran stays.
        if (ref.current === null || ref.current.value === value) {
          setText('')
          saveDraft('')
        }
      } else {
        setError(result.problem)
      }
    } finally {
      sending.current = false
    }
    ref.current?.focus()
  }

  const submitNow = () => {
    submit().catch((reason: unknown) => {
      console.error('[ferry] sending failed', reason)
      setError('Not sent: something went wrong. Try again; your text is kept.')
    })
  }

  const reply = replyingTo.value?.roomId === roomId ? replyingTo.value : null
  // Empty is not worth an alert; too long or an unstorable character is.
  const problem = text.trim() === '' ? null : bodyProblem(text)
  const left = charactersLeft(text)
  const describedBy = problem ? 'composer-limit' : error ? 'composer-error' : left ? 'composer-counter' : undefined
  return (
    <form
      class="composer"
      onSubmit={(event) => {
        event.preventDefault()
        submitNow()
      }}
    >
      {reply && (
        <div class="composer__reply">
          <p class="composer__reply-text">
            <span class="visually-hidden">Replying to </span>
            <span class="msg__quote-author">{reply.authorName}</span>
            <span class="msg__quote-text" dir="auto">
              {reply.firstLine}
            </span>
          </p>
          <button
            type="button"
            class="icon composer__reply-cancel"
            aria-label="Cancel reply"
            onClick={() => {
              replyingTo.value = null
              ref.current?.focus()
            }}
          >
            ×
          </button>
        </div>
      )}
      <label for="composer-input" class="visually-hidden">
        Message
      </label>
      <textarea
        id="composer-input"
        ref={ref}
        rows={1}
        value={text}
        disabled={disabled}
        placeholder={disabled ? 'Join the room to write' : 'Message'}
        enterkeyhint={enterSends() ? 'send' : 'enter'}
        aria-describedby={describedBy}
        aria-invalid={problem ? true : undefined}
        aria-autocomplete="list"
        aria-controls={suggesting ? 'mention-list' : undefined}
        aria-activedescendant={suggesting ? `mention-${candidates[active]?.userId}` : undefined}
        onInput={(event) => {
          const el = event.currentTarget as HTMLTextAreaElement
          const value = el.value
          typed.current = true
          setText(value)
          setError(null)
          saveDraft(value)
          lookForMention(el)
          if (value) typing(roomId)
        }}
        onClick={(event) => lookForMention(event.currentTarget as HTMLTextAreaElement)}
        onKeyDown={(event) => {
          if (suggesting && !event.isComposing) {
            const move = (to: number) => {
              event.preventDefault()
              setActive((to + candidates.length) % candidates.length)
            }
            if (event.key === 'ArrowDown') return move(active + 1)
            if (event.key === 'ArrowUp') return move(active - 1)
            if (event.key === 'Enter' || event.key === 'Tab') {
              event.preventDefault()
              return pick(candidates[active]!.username)
            }
            if (event.key === 'Escape') {
              event.preventDefault()
              return setMention(null)
            }
          }
          if (event.key === 'Enter' && !event.shiftKey && !event.isComposing && enterSends()) {
            event.preventDefault()
            submitNow()
          }
        }}
      />
      {suggesting && (
        <div id="mention-list" class="mentions" role="listbox" aria-label="Members">
          {candidates.map((m, i) => (
            <div
              key={m.userId}
              id={`mention-${m.userId}`}
              role="option"
              tabIndex={-1}
              aria-selected={i === active}
              class={i === active ? 'mentions__item mentions__item--active' : 'mentions__item'}
              // pointerdown, not click: the box keeps focus (and its caret) while the name is tapped.
              onPointerDown={(event) => {
                event.preventDefault()
                pick(m.username)
              }}
            >
              @{m.username}
            </div>
          ))}
        </div>
      )}
      <LengthCounter id="composer-counter" text={text} />
      {problem && (
        <span id="composer-limit" class="composer__limit" role="alert">
          {problem}
        </span>
      )}
      {error && !problem && (
        <span id="composer-error" class="composer__error" role="alert">
          {error}
        </span>
      )}
      <button type="submit" class="primary composer__send" disabled={disabled || bodyProblem(text) !== null}>
        Send
      </button>
    </form>
  )
}
