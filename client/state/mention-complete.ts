/**
 * `@` autocomplete in the composer (issue 9 item 2): what the person is
 * typing after an `@`, and the text once a member is picked. The name rule is
 * the shared one (shared/conversation/mentions.ts): an `@` not preceded by a
 * username character, then username characters.
 */
import type { Member } from '../../shared/schemas.ts'

export interface MentionQuery {
  /** Where the `@` is. */
  start: number
  /** What follows it up to the caret, lower case. */
  query: string
}

const TYPING = /(?<![A-Za-z0-9_-])@([A-Za-z0-9_-]{0,32})$/

/** The mention being typed just before `caret`, or null. */
export function mentionQuery(text: string, caret: number): MentionQuery | null {
  const match = TYPING.exec(text.slice(0, caret))
  if (!match) return null
  return { start: match.index, query: match[1]!.toLowerCase() }
}

/** Members whose name starts with the query (then those containing it), the person themself left out; at most `max`. */
export function mentionCandidates(members: readonly Member[], query: string, meId: string, max = 6): Member[] {
  const others = members.filter((m) => m.userId !== meId)
  const name = (m: Member) => m.username.toLowerCase()
  const starts = others.filter((m) => name(m).startsWith(query))
  const contains = others.filter((m) => !name(m).startsWith(query) && name(m).includes(query))
  return [...starts, ...contains].slice(0, max)
}

/** The text with the mention being typed replaced by `@username ` and where the caret goes. */
export function insertMention(text: string, at: MentionQuery, caret: number, username: string) {
  const inserted = `@${username} `
  const rest = text.slice(caret).replace(/^[A-Za-z0-9_-]*/, '')
  return { text: text.slice(0, at.start) + inserted + rest.replace(/^ /, ''), caret: at.start + inserted.length }
}
