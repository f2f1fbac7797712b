/**
 * What the room list shows, from the signals: the rooms the person belongs to, most recently
 * active first, each with the line under its name and the time of its last activity. Rooms they
 * have not joined are not here: they are found in Discover (ui/Discover.tsx). Pure, so it is
 * tested without a screen.
 */
import type { Room } from '../../shared/schemas.ts'
import type { OutboxItem } from '../db/schema.ts'
import type { DraftNote } from './store.ts'

export interface RoomRow {
  room: Room
  /** The line under the name: "Draft: …", "You: …", "Ann: …", or what the room is when empty. */
  preview: string
  /** The preview is a draft (styled apart, like messengers do). */
  draft: boolean
  /**
   * ISO time of the last activity (the last message, waiting or stored, or the shown draft's last
   * edit when newer), or null: no message yet and no dated draft.
   */
  lastAt: string | null
}

/** A message of one's own still waiting counts as activity (the newer of it and the last stored one). */
function lastActivity(room: Room, waiting: OutboxItem | undefined): string | null {
  const stored = room.lastMessage?.createdAt ?? null
  if (!waiting) return stored
  return stored !== null && stored > waiting.createdAt ? stored : waiting.createdAt
}

export function roomRows(
  rooms: readonly Room[],
  outbox: readonly OutboxItem[],
  drafts: Readonly<Record<string, DraftNote>>,
  meId: string | undefined,
  openRoomId: string | null,
): RoomRow[] {
  const waitingIn = new Map<string, OutboxItem>()
  // The outbox is in creation order: the last one per room is the newest.
  for (const item of outbox) waitingIn.set(item.roomId, item)
  const rows = rooms
    .filter((room) => room.role !== null)
    .map((room): RoomRow => {
      const waiting = waitingIn.get(room.id)
      const at = lastActivity(room, waiting)
      const draft = room.id === openRoomId ? undefined : drafts[room.id]
      if (draft && draft.text.trim() !== '') {
        // A draft just written moves its room up, as in the phone messengers (an undated old one does not).
        const lastAt = draft.at !== null && (at === null || draft.at > at) ? draft.at : at
        return { room, preview: `Draft: ${oneLine(draft.text)}`, draft: true, lastAt }
      }
      return { room, preview: previewOf(room, waiting, meId), draft: false, lastAt: at }
    })
  // Most recent activity first; a room with no message yet (and no dated draft) counts from its creation.
  const key = (row: RoomRow) => row.lastAt ?? row.room.createdAt
  return rows.sort((a, b) => key(b).localeCompare(key(a)) || a.room.id.localeCompare(b.room.id))
}

function previewOf(room: Room, waiting: OutboxItem | undefined, meId: string | undefined): string {
  if (waiting) return `You: ${oneLine(waiting.body)}`
  const last = room.lastMessage
  if (!last) return 'No messages yet'
  return `${last.authorId === meId ? 'You' : last.authorName}: ${oneLine(last.body)}`
}

/** A preview is one line: line breaks and runs of spaces become one space (CSS ellipsis cuts the rest). */
function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim()
}
