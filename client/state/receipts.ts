/**
 * "Seen by ana, ben" (issue 9 item 3): where each other member's read receipt goes in the open
 * room, from the highest marker heard per reader (`receipts`, kept by the leader's engine and
 * passed to every tab). Pure, so it is tested without a screen.
 */
import type { ShownEntry } from '../log/timeline.ts'

/** Past this many members a line counts readers instead of naming them ("Seen by 23"). */
export const RECEIPT_NAMES_MAX_MEMBERS = 20
/** Names written out before "and N others". */
const NAMES_SHOWN = 3

export interface SeenLine {
  /** The visible text, which is also what a screen reader reads. */
  text: string
  /** The readers placed here (user ids), for tests and titles. */
  readers: string[]
}

/**
 * Each reader (not the person) goes under the newest message they have read, among those shown:
 * the newest with seq ≤ their marker. A person has seen what they wrote, so their own newest
 * message counts as read too. A reader is not listed under their own message (that says
 * nothing) but under the newest one before it by someone else; readers whose marker is older
 * than every message shown (or who read only their own) are left out.
 */
export function seenLines(
  entries: readonly ShownEntry[],
  readers: Readonly<Record<string, number>>,
  meId: string,
  names: ReadonlyMap<string, string>,
  memberCount: number,
): Map<number, SeenLine> {
  const messages = entries.filter((e) => e.kind === 'message')
  const ownNewest = new Map<string, number>()
  for (const m of messages) if (m.authorId !== null) ownNewest.set(m.authorId, m.seq)
  const at = new Map<number, string[]>()
  for (const [userId, marker] of Object.entries(readers)) {
    if (userId === meId) continue
    const read = Math.max(marker, ownNewest.get(userId) ?? 0)
    let index = newestAtOrBelow(messages, read)
    // Under their own message a receipt says nothing; under the newest one before it that is not
    // theirs it says what the writer wants to know: the reader saw it (they answered after it).
    while (index >= 0 && messages[index]!.authorId === userId) index--
    if (index < 0) continue
    const message = messages[index]!
    const list = at.get(message.seq) ?? []
    list.push(userId)
    at.set(message.seq, list)
  }
  const lines = new Map<number, SeenLine>()
  for (const [seq, ids] of at) lines.set(seq, { text: seenText(ids, names, memberCount), readers: ids })
  return lines
}

/** Index of the newest message with seq ≤ `seq` (messages in seq order), -1 when none. */
function newestAtOrBelow(messages: readonly { seq: number }[], seq: number): number {
  let lo = 0
  let hi = messages.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (messages[mid]!.seq <= seq) lo = mid + 1
    else hi = mid
  }
  return lo - 1
}

/** "Seen by ana, ben", "Seen by ana, ben, cy and 2 others", or in a big room "Seen by 23". */
export function seenText(readers: readonly string[], names: ReadonlyMap<string, string>, memberCount: number): string {
  if (memberCount > RECEIPT_NAMES_MAX_MEMBERS) return `Seen by ${readers.length}`
  const known = readers.map((id) => names.get(id)).filter((n): n is string => n !== undefined)
  known.sort((a, b) => a.localeCompare(b))
  const shown = known.slice(0, NAMES_SHOWN)
  const others = readers.length - shown.length
  if (shown.length === 0) return `Seen by ${others} ${others === 1 ? 'person' : 'people'}`
  if (others === 0) return `Seen by ${shown.join(', ')}`
  return `Seen by ${shown.join(', ')} and ${others} other${others === 1 ? '' : 's'}`
}

/** Who is who, from what the tab knows: the member list, who is here, and the authors shown. */
export function readerNames(
  members: readonly { userId: string; username: string }[] | undefined,
  present: readonly { userId: string; username: string }[] | undefined,
  entries: readonly ShownEntry[],
): Map<string, string> {
  const names = new Map<string, string>()
  for (const e of entries) if (e.kind === 'message' && e.authorId !== null) names.set(e.authorId, e.authorName)
  for (const p of present ?? []) names.set(p.userId, p.username)
  for (const m of members ?? []) names.set(m.userId, m.username)
  return names
}
