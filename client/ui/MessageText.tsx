import { linkify } from './linkify.ts'

/** Message text as text: JSX escapes it; only vetted http(s)/mailto URLs become links. */
export function MessageText({ text }: { text: string }) {
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
