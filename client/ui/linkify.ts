/**
 * Splits message text into plain text and links. Only http(s) and mailto
 * become links; everything else (javascript:, data:, …) stays text. The
 * result is rendered with JSX, which escapes it: no HTML is ever parsed.
 */
export type Segment = { kind: 'text'; text: string } | { kind: 'link'; text: string; href: string }

const CANDIDATE = /\b(?:https?:\/\/|mailto:)[^\s<>"']+/gi
const TRAILING = /[.,;:!?)\]}]+$/

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
    const href = safeHref(raw)
    if (!href) continue
    if (start > last) out.push({ kind: 'text', text: text.slice(last, start) })
    out.push({ kind: 'link', text: raw, href })
    last = start + raw.length
  }
  if (last < text.length) out.push({ kind: 'text', text: text.slice(last) })
  return out
}
