import type { Kysely } from 'kysely'
import { LIMITS } from '../../shared/limits.ts'
import type { PresenceUser, ServerFrame } from '../../shared/protocol.ts'
import type { RoomEvent } from '../../shared/schemas.ts'
import type { DB } from '../db/schema.ts'
import { toRoomEvent } from '../messages/events.ts'
import { eventsAfter } from '../messages/messages.repository.ts'
import type { Metrics } from '../metrics/metrics.ts'
import { canRead } from '../rooms/access.ts'
import { type AccessRow, findRoomsAccess } from '../rooms/rooms.repository.ts'
import { errorFrame } from './frames.ts'

/** Events per replay frame at most: a long replay goes out in a few frames, each sent once the previous one has drained. */
const REPLAY_FRAME_EVENTS = 100

/** Bytes of live events a socket holds back across its replaying rooms (counted toward its send-buffer cap). */
export interface HeldBytes {
  bytes: number
}

/** One room followed by one socket. */
export class RoomStream {
  /** Live events that arrive during the replay (step 1); null once the room is live (step 7). */
  buffer: RoomEvent[] | null = []
  /** Encoded size of what `buffer` holds, also added to the socket's tally. */
  #heldBytes = 0
  /** The highest seq this socket has been sent for the room. */
  sentUpTo = 0
  /** The user could write when the room was last checked. */
  canWrite = false
  /** Unsubscribed, subscribed again, or the socket closed: the replay stops. */
  ended = false
  /** This socket counts in the room's presence (since it first went live; kept across a re-subscribe). */
  present = false
  /** Live, but holding events back again while a hole is read from the database (fillGap). */
  #filling = false

  constructor(private readonly tally: HeldBytes = { bytes: 0 }) {}

  get live(): boolean {
    return this.buffer === null || this.#filling
  }

  /** A live stream met a hole: it holds live events back, as during the replay, until fillGap has sent what is missing. */
  holdAgain(): void {
    if (this.buffer) return
    this.buffer = []
    this.#filling = true
  }

  /** Keeps live events back during the replay; `bytes` is their encoded size. */
  hold(events: readonly RoomEvent[], bytes: number): void {
    if (!this.buffer) return
    for (const event of events) this.buffer.push(event)
    this.#heldBytes += bytes
    this.tally.bytes += bytes
  }

  /** Step 5 (or the stream's end): the held events leave, and so does their share of the tally. */
  release(): RoomEvent[] {
    const held = this.buffer ?? []
    this.buffer = null
    this.#filling = false
    this.tally.bytes -= this.#heldBytes
    this.#heldBytes = 0
    return held
  }
}

/** What the resume algorithm needs from a socket (implemented by Connection). */
export interface ResumeTarget {
  readonly user: PresenceUser
  /** Largest replay frame to build (bytes; a frame holds at least one event). */
  readonly replayFrameBytes: number
  /** More missed events than this → `reset` (LIMITS.resumeMaxEvents unless configured lower). */
  readonly resumeMaxEvents?: number
  /** Replay sizes and resets are counted here when given. */
  readonly metrics?: Pick<Metrics, 'replayEvents' | 'resets'>
  /** Registers the room in the hub and returns its fresh stream, replacing any earlier one. */
  openStream(roomId: string): RoomStream
  closeStream(roomId: string): void
  send(frame: ServerFrame): void
  /** Sends an encoded replay frame and resolves once it has left the socket's buffer. */
  sendReplay(encoded: string): Promise<void>
  /** Step 7: the stream is live; presence is counted and the snapshot sent. */
  goLive(roomId: string): void
  /** Runs database work for this socket, a few tasks at a time. */
  schedule(task: () => Promise<void>): void
  /** A room's resume failed: log it and tell the client to subscribe again. */
  failed(error: unknown, roomId: string): void
}

export interface RoomCursor {
  roomId: string
  after: number
}

/** Events strictly after `seq`; the same array when all of them are. */
export function eventsAfterSeq(events: readonly RoomEvent[], seq: number): readonly RoomEvent[] {
  if (events.length === 0 || events[0]!.seq > seq) return events
  return events.filter((event) => event.seq > seq)
}

/** A subscribe frame's rooms, each once; a room named twice resumes from the lower `after` (no gap either way). */
export function distinctRooms(rooms: readonly RoomCursor[]): RoomCursor[] {
  const after = new Map<string, number>()
  for (const room of rooms) after.set(room.roomId, Math.min(room.after, after.get(room.roomId) ?? room.after))
  return [...after].map(([roomId, seq]) => ({ roomId, after: seq }))
}

/**
 * The resume algorithm, docs/PROTOCOL.md "Resume", for the rooms of one
 * subscribe frame. No gap and no duplicate across the switch from replay to
 * live: every room is registered for live events before the database is
 * read, and the buffered live events are flushed afterwards without what the
 * replay already sent. Step 1 runs now; the reads go through the socket's
 * queue, so one socket never has more than a few of them in flight.
 */
export function subscribeRooms(target: ResumeTarget, db: Kysely<DB>, rooms: readonly RoomCursor[]): void {
  if (rooms.length === 0) return
  // Step 1: register in the hub first; live events for each room are buffered from now on.
  const streams = rooms.map((room) => ({ ...room, stream: target.openStream(room.roomId) }))
  target.schedule(async () => {
    let access: Map<string, AccessRow>
    try {
      // Step 2: read access and last seq of every room of the frame (one query, after step 1).
      access = await findRoomsAccess(
        db,
        target.user.userId,
        streams.map((room) => room.roomId),
      )
    } catch (error) {
      for (const { roomId, stream } of streams) if (!stream.ended) abandon(target, roomId, error)
      return
    }
    for (const { roomId, after, stream } of streams) {
      if (stream.ended) continue
      const room = access.get(roomId)
      if (!canRead(room)) {
        target.closeStream(roomId)
        target.send(errorFrame('not_found', 'No such room', { roomId }))
        continue
      }
      stream.canWrite = room.role !== null
      const lastSeq = Number(room.last_seq)
      target.schedule(() =>
        resumeRoom(target, db, stream, roomId, after, lastSeq).catch((error) => {
          if (!stream.ended) abandon(target, roomId, error)
        }),
      )
    }
  })
}

function abandon(target: ResumeTarget, roomId: string, error: unknown): void {
  target.closeStream(roomId)
  target.failed(error, roomId)
}

/** Steps 3–7 for one room whose access and last seq (step 2) are known. */
async function resumeRoom(
  target: ResumeTarget,
  db: Kysely<DB>,
  stream: RoomStream,
  roomId: string,
  after: number,
  lastSeq: number,
): Promise<void> {
  if (stream.ended) return
  if (after > lastSeq || lastSeq - after > (target.resumeMaxEvents ?? LIMITS.resumeMaxEvents)) {
    // Step 3: too much missed (or a claim beyond the log): reset marker, go live after lastSeq.
    target.send({ type: 'reset', roomId, lastSeq })
    target.metrics?.resets.inc()
    stream.sentUpTo = lastSeq
  } else {
    // Step 4: read seq > after from the database and send it in frames of bounded size, one after another.
    stream.sentUpTo = after
    const rows = after < lastSeq ? await eventsAfter(db, roomId, after, LIMITS.resumeMaxEvents) : []
    target.metrics?.replayEvents.observe(rows.length)
    for (const frame of replayFrames(roomId, rows.map(toRoomEvent), target.replayFrameBytes)) {
      if (stream.ended) return
      stream.sentUpTo = frame.lastSeq
      await target.sendReplay(frame.encoded)
    }
    if (stream.ended) return
  }

  // Step 5: flush the buffer, skipping what steps 3–4 covered; a hole before it (another node's commit announced
  // late) is read first.
  await closeGap(target, db, stream, roomId)
  if (stream.ended) return
  const buffered = eventsAfterSeq(stream.release(), stream.sentUpTo)
  if (buffered.length > 0) {
    target.send({ type: 'events', roomId, events: [...buffered] })
    stream.sentUpTo = buffered.at(-1)!.seq
  }
  // Step 6: the replay is complete up to sentUpTo.
  target.send({ type: 'caught_up', roomId, lastSeq: stream.sentUpTo })
  // Step 7: live; presence snapshot.
  target.goLive(roomId)
}

/**
 * A live stream was handed events that skip ahead of what it was sent
 * (docs/PROTOCOL.md, "Fan-out and the bus seam": a room's first pointer on a
 * node can overtake another node's earlier commit). It holds live events
 * back (`holdAgain`, done by the caller), and this sends the hole from the
 * database, then what it held: the replay machinery, without `caught_up`.
 */
export function fillGap(target: ResumeTarget, db: Kysely<DB>, stream: RoomStream, roomId: string): void {
  target.schedule(async () => {
    try {
      await closeGap(target, db, stream, roomId)
      if (stream.ended) return
      const buffered = eventsAfterSeq(stream.release(), stream.sentUpTo)
      if (buffered.length > 0) {
        target.send({ type: 'events', roomId, events: [...buffered] })
        stream.sentUpTo = buffered.at(-1)!.seq
      }
    } catch (error) {
      if (!stream.ended) abandon(target, roomId, error)
    }
  })
}

/** The lowest held-back seq above what the stream was sent. */
function firstHeldAfter(stream: RoomStream): number | undefined {
  let first: number | undefined
  for (const event of stream.buffer ?? []) {
    if (event.seq > stream.sentUpTo && (first === undefined || event.seq < first)) first = event.seq
  }
  return first
}

/**
 * Sends, from the database, the events between what the stream was sent and
 * the first one it holds back, until there is no hole. A hole wider than the
 * resume bound is a `reset` to just before the held events, as step 3.
 */
async function closeGap(target: ResumeTarget, db: Kysely<DB>, stream: RoomStream, roomId: string): Promise<void> {
  for (;;) {
    const next = firstHeldAfter(stream)
    if (stream.ended || next === undefined || next <= stream.sentUpTo + 1) return
    const missing = next - 1 - stream.sentUpTo
    if (missing > (target.resumeMaxEvents ?? LIMITS.resumeMaxEvents)) {
      target.send({ type: 'reset', roomId, lastSeq: next - 1 })
      stream.sentUpTo = next - 1
      return
    }
    const rows = await eventsAfter(db, roomId, stream.sentUpTo, missing)
    const events = rows.map(toRoomEvent).filter((event) => event.seq < next)
    // Seqs are dense and `next` is committed, so the hole is there; if not, go on rather than wait forever.
    if (events.length === 0) return
    for (const frame of replayFrames(roomId, events, target.replayFrameBytes)) {
      if (stream.ended) return
      stream.sentUpTo = frame.lastSeq
      await target.sendReplay(frame.encoded)
    }
  }
}

/**
 * Encoded `events` frames of at most REPLAY_FRAME_EVENTS events and about
 * `maxBytes` bytes each (one event may be larger alone), so that a replay
 * frame always fits the socket's send buffer. Each event is serialised once.
 */
export function* replayFrames(
  roomId: string,
  events: readonly RoomEvent[],
  maxBytes: number,
): Generator<{ encoded: string; lastSeq: number }> {
  const head = `{"type":"events","roomId":${JSON.stringify(roomId)},"events":[`
  const tail = ']}'
  let parts: string[] = []
  let bytes = 0
  let lastSeq = 0
  const frame = () => ({ encoded: head + parts.join(',') + tail, lastSeq })
  for (const event of events) {
    const part = JSON.stringify(event)
    const size = Buffer.byteLength(part) + 1
    if (parts.length === REPLAY_FRAME_EVENTS || (parts.length > 0 && head.length + bytes + size > maxBytes)) {
      yield frame()
      parts = []
      bytes = 0
    }
    parts.push(part)
    bytes += size
    lastSeq = event.seq
  }
  if (parts.length > 0) yield frame()
}
