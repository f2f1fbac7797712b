import { useEffect, useRef, useState } from 'preact/hooks'
import { LIMITS } from '../../shared/limits.ts'
import { getDb } from '../db/page.ts'
import { bodyProblem, send, typing } from '../state/compose.ts'

/** The draft is kept in IndexedDB so a reload (or an app update) never loses half a message. */
export function Composer({ roomId, disabled }: { roomId: string; disabled: boolean }) {
  const [text, setText] = useState('')
  const ref = useRef<HTMLTextAreaElement>(null)
  const saveTimer = useRef<ReturnType<typeof setTimeout> | null>(null)

  useEffect(() => {
    let live = true
    void getDb()
      .then((db) => db.get('drafts', roomId))
      .then((draft) => {
        if (live) setText(draft?.text ?? '')
      })
    return () => {
      live = false
    }
  }, [roomId])

  const saveDraft = (value: string) => {
    if (saveTimer.current) clearTimeout(saveTimer.current)
    saveTimer.current = setTimeout(() => {
      void getDb().then(async (db) => {
        if (value) await db.put('drafts', { roomId, text: value })
        else await db.delete('drafts', roomId)
      })
    }, 300)
  }

  const submit = async () => {
    const value = text
    if (bodyProblem(value)) return
    setText('')
    saveDraft('')
    if (!(await send(roomId, value))) setText(value)
    ref.current?.focus()
  }

  const over = text.trim().length - LIMITS.messageBodyMax
  return (
    <form
      class="composer"
      onSubmit={(event) => {
        event.preventDefault()
        void submit()
      }}
    >
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
        enterkeyhint="send"
        aria-describedby={over > 0 ? 'composer-limit' : undefined}
        onInput={(event) => {
          const value = (event.currentTarget as HTMLTextAreaElement).value
          setText(value)
          saveDraft(value)
          if (value) typing(roomId)
        }}
        onKeyDown={(event) => {
          if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
            event.preventDefault()
            void submit()
          }
        }}
      />
      {over > 0 && (
        <span id="composer-limit" class="composer__limit" role="alert">
          {bodyProblem(text)}
        </span>
      )}
      <button type="submit" class="primary composer__send" disabled={disabled || bodyProblem(text) !== null}>
        Send
      </button>
    </form>
  )
}
