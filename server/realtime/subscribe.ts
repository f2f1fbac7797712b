import type { Kysely } from 'kysely'
import { LIMITS } from '../../shared/limits.ts'
import type { PresenceUser, ServerFrame } from '../../shared/protocol.ts'
import type { RoomEvent } from '../../shared/schemas.ts'
import type { DB } from '../db/schema.ts'
import { toRoomEvent } from '../messages/events.ts'
import { eventsAfter } from '../messages/messages.repository.ts'
import { canRead } from '../rooms/access.ts'
import { findRoomAccess } from '../rooms/rooms.repository.ts'
import { encodeFrame, errorFrame } from './frames.ts'

/** Events per replay frame: a long replay goes out in a few frames, each sent once the previous one has drained. */
const REPLAY_FRAME_EVENTS = 100

/** One room followed by one socket. */
export class RoomStream {
  /** Live events that arrive during the replay (step 1); null once the room is live (step 7). */
  buffer: RoomEvent[] | null = []
  /** The highest seq this socket has been sent for the room. */
  sentUpTo = 0
  /** The user could write when the room was last checked. */
  canWrite = false
  /** Unsubscribed, subscribed again, or the socket closed: the replay stops. */
  ended = false

  get live(): boolean {
    return this.buffer === null
  }
}

/** What the resume algorithm needs from a socket (implemented by Connection). */
export interface ResumeTarget {
  readonly user: PresenceUser
  /** Registers the room in the hub and returns its fresh stream, replacing any earlier one. */
  openStream(roomId: string): RoomStream
  closeStream(roomId: string): void
  send(frame: ServerFrame): void
  /** Sends an encoded replay frame and resolves once it has left the socket's buffer. */
  sendReplay(encoded: string): Promise<void>
  /** Step 7: the stream is live; presence is counted and the snapshot sent. */
  goLive(roomId: string): void
}

/** Events strictly after `seq`; the same array when all of them are. */
export function eventsAfterSeq(events: readonly RoomEvent[], seq: number): readonly RoomEvent[] {
  if (events.length === 0 || events[0]!.seq > seq) return events
  return events.filter((event) => event.seq > seq)
}

/**
 * The resume algorithm, docs/PROTOCOL.md "Resume". No gap and no duplicate
 * across the switch from replay to live: the socket is registered for live
 * events before the database is read, and the buffered live events are
 * flushed afterwards without what the replay already sent.
 */
export async function resumeRoom(target: ResumeTarget, db: Kysely<DB>, roomId: string, after: number): Promise<void> {
  // Step 1: register in the hub first; live events for the room are buffered from now on.
  const stream = target.openStream(roomId)
  try {
    await replay(target, db, stream, roomId, after)
  } catch (error) {
    if (stream.ended) return
    target.closeStream(roomId)
    throw error
  }
}

async function replay(target: ResumeTarget, db: Kysely<DB>, stream: RoomStream, roomId: string, after: number) {
  // Step 2: check read access and read the room's last seq (one query, after step 1).
  const room = await findRoomAccess(db, target.user.userId, roomId)
  if (stream.ended) return
  if (!canRead(room)) {
    target.closeStream(roomId)
    target.send(errorFrame('not_found', 'No such room', { roomId }))
    return
  }
  stream.canWrite = room.role !== null
  const lastSeq = Number(room.last_seq)

  if (after > lastSeq || lastSeq - after > LIMITS.resumeMaxEvents) {
    // Step 3: too much missed (or a claim beyond the log): reset marker, go live after lastSeq.
    target.send({ type: 'reset', roomId, lastSeq })
    stream.sentUpTo = lastSeq
  } else {
    // Step 4: read seq > after from the database and send it, in frames of REPLAY_FRAME_EVENTS.
    stream.sentUpTo = after
    const rows = after < lastSeq ? await eventsAfter(db, roomId, after, LIMITS.resumeMaxEvents) : []
    for (let start = 0; start < rows.length; start += REPLAY_FRAME_EVENTS) {
      if (stream.ended) return
      const events = rows.slice(start, start + REPLAY_FRAME_EVENTS).map(toRoomEvent)
      stream.sentUpTo = events.at(-1)!.seq
      await target.sendReplay(encodeFrame({ type: 'events', roomId, events }))
    }
    if (stream.ended) return
  }

  // Step 5: flush the buffer, skipping what steps 3–4 covered.
  const buffered = eventsAfterSeq(stream.buffer ?? [], stream.sentUpTo)
  stream.buffer = null
  if (buffered.length > 0) {
    target.send({ type: 'events', roomId, events: [...buffered] })
    stream.sentUpTo = buffered.at(-1)!.seq
  }
  // Step 6: the replay is complete up to sentUpTo.
  target.send({ type: 'caught_up', roomId, lastSeq: stream.sentUpTo })
  // Step 7: live; presence snapshot.
  target.goLive(roomId)
}
