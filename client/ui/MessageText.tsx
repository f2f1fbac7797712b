import { useId, useLayoutEffect, useRef, useState } from 'preact/hooks'
import { linkify } from './linkify.ts'
import { isLongMessage } from './long-message.ts'

/** Message text as text: JSX escapes it; only vetted http(s)/mailto URLs become links. */
function Linked({ text }: { text: string }) {
  return (
    <>
      {linkify(text).map((segment, i) =>
        segment.kind === 'text' ? (
          segment.text
        ) : (
          <a key={i} href={segment.href} target="_blank" rel="noopener noreferrer nofollow ugc">
            {segment.text}
          </a>
        ),
      )}
    </>
  )
}

/**
 * A message's text; a long one (long-message.ts) is folded to its first lines with "Show more",
 * which unfolds it in place ("Show less" folds it again). Unfolding grows the row downwards, so
 * what the reader sees above stays put; folding again brings the button back into view if it
 * would otherwise land above the visible part of the list, so the reader keeps their place.
 */
export function MessageText({ text }: { text: string }) {
  const long = isLongMessage(text)
  const [expanded, setExpanded] = useState(false)
  const id = useId()
  const button = useRef<HTMLButtonElement>(null)
  const folding = useRef(false)
  useLayoutEffect(() => {
    if (!folding.current) return
    folding.current = false
    button.current?.scrollIntoView?.({ block: 'nearest' })
  }, [expanded])
  if (!long) return <Linked text={text} />
  const folded = !expanded
  return (
    <>
      <span id={id} class={folded ? 'msg__text msg__text--folded' : 'msg__text'}>
        <Linked text={text} />
      </span>
      <button
        ref={button}
        type="button"
        class="link-button msg__more"
        aria-expanded={expanded}
        aria-controls={id}
        onClick={() => {
          folding.current = expanded
          setExpanded(!expanded)
        }}
      >
        {folded ? 'Show more' : 'Show less'}
      </button>
    </>
  )
}
