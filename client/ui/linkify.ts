/**
 * Splits message text into plain text and links. Only http(s) and mailto
 * become links, plus `www.host.tld…` written without a scheme (as https, the
 * way people type addresses); everything else (javascript:, data:, …) stays
 * text. The result is rendered with JSX, which escapes it: no HTML is ever parsed.
 */
export type Segment = { kind: 'text'; text: string } | { kind: 'link'; text: string; href: string }

// `www.` counts only at the start of a word (not in "mail.www.example" or inside a URL's path).
const CANDIDATE = /(?:\b(?:https?:\/\/|mailto:)|(?<![\w.@/:-])www\.)[^\s<>"']+/gi
const TRAILING = /[.,;:!?)\]}]+$/
/** A bare `www.` address needs a dot after its first label ("www.example.org", not "www.local"). */
const BARE_WWW = /^www\.[^./?#]+\.[^./?#]/i

function hrefFor(raw: string): string | null {
  if (/^www\./i.test(raw)) return BARE_WWW.test(raw) ? safeHref(`https://${raw}`) : null
  return safeHref(raw)
}

export function safeHref(raw: string): string | null {
  try {
    const url = new URL(raw)
    return url.protocol === 'http:' || url.protocol === 'https:' || url.protocol === 'mailto:' ? url.href : null
  } catch {
    return null
  }
}

export function linkify(text: string): Segment[] {
  const out: Segment[] = []
  let last = 0
  for (const match of text.matchAll(CANDIDATE)) {
    const start = match.index ?? 0
    const raw = match[0].replace(TRAILING, '')
    const href = hrefFor(raw)
    if (!href) continue
    if (start > last) out.push({ kind: 'text', text: text.slice(last, start) })
    out.push({ kind: 'link', text: raw, href })
    last = start + raw.length
  }
  if (last < text.length) out.push({ kind: 'text', text: text.slice(last) })
  return out
}
