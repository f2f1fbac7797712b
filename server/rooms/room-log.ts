import { type Kysely, sql, type Transaction } from 'kysely'
import type { RoomEvent } from '../../shared/schemas.ts'
import type { DB } from '../db/schema.ts'
import type { Appender } from '../messages/appender.ts'
import { toRoomEvent } from '../messages/events.ts'

/** The kinds the server writes into a room's log itself, without a client id. */
export type NoticeKind = 'member.joined' | 'member.left' | 'member.removed' | 'room.renamed'

export interface Notice {
  kind: NoticeKind
  /** Who did it. */
  authorId: string
  /** `member.*`: who joined, left or was removed. */
  subjectId?: string
  /** `room.renamed`: the new name and topic (null: none). */
  body?: string
  topic?: string | null
}

export interface LockedRoom {
  id: string
  visibility: 'public' | 'private'
  owner_id: string
  last_seq: string
}

/**
 * One transaction that changes a room and writes its log: the room's row is
 * locked first (`FOR UPDATE`, as ferry_append_batch does), so the seq, the
 * members and the roles hold still until the commit, and a message appended
 * meanwhile sees the membership either before or after the change, never
 * half of it. Runs in the room's appender lane (Appender.exclusive), which
 * publishes the entries `work` returns after the commit, in seq order with the
 * room's messages. `work` sees `undefined` when the room does not exist.
 * Throwing rolls everything back.
 */
export function changeRoom<T>(
  db: Kysely<DB>,
  appender: Appender,
  roomId: string,
  work: (trx: Transaction<DB>, room: LockedRoom | undefined, log: RoomLog) => Promise<T>,
): Promise<T> {
  return appender.exclusive(roomId, () =>
    db.transaction().execute(async (trx) => {
      const room = await trx
        .selectFrom('rooms')
        .select(['id', 'visibility', 'owner_id', 'last_seq'])
        .where('id', '=', roomId)
        .forUpdate()
        .executeTakeFirst()
      const log = new RoomLog(trx, roomId)
      const result = await work(trx, room, log)
      return { result, created: log.created }
    }),
  )
}

/** Appends server-written entries to one locked room's log, at its next gap-free seqs. */
export class RoomLog {
  readonly created: RoomEvent[] = []

  constructor(
    private readonly trx: Transaction<DB>,
    private readonly roomId: string,
  ) {}

  /** The seq the next entry will get (the room's row is locked, so nobody else takes it). */
  async nextSeq(): Promise<number> {
    const row = await this.trx
      .selectFrom('rooms')
      .select('last_seq')
      .where('id', '=', this.roomId)
      .executeTakeFirstOrThrow()
    return Number(row.last_seq) + 1
  }

  async append(notice: Notice): Promise<RoomEvent> {
    const { last_seq } = await this.trx
      .updateTable('rooms')
      .set({ last_seq: sql<string>`last_seq + 1` })
      .where('id', '=', this.roomId)
      .returning('last_seq')
      .executeTakeFirstOrThrow()
    const row = await this.trx
      .insertInto('room_events')
      .values({
        room_id: this.roomId,
        seq: last_seq,
        kind: notice.kind,
        author_id: notice.authorId,
        client_id: null,
        body: notice.body ?? null,
        subject_id: notice.subjectId ?? null,
        topic: notice.topic ?? null,
      })
      .returningAll()
      .executeTakeFirstOrThrow()
    const names = await this.trx
      .selectFrom('users')
      .select(['id', 'username'])
      .where('id', 'in', [notice.authorId, notice.subjectId ?? notice.authorId])
      .execute()
    const nameOf = (id: string | null) => names.find((user) => user.id === id)?.username ?? null
    const event = toRoomEvent({ ...row, author_name: nameOf(row.author_id), subject_name: nameOf(row.subject_id) })
    this.created.push(event)
    return event
  }
}

/** Whether the room's log says `userId` left it or was removed (room_events_subject_idx). */
export async function wasMember(db: Kysely<DB>, roomId: string, userId: string): Promise<boolean> {
  const row = await db
    .selectFrom('room_events')
    .select('seq')
    .where('subject_id', '=', userId)
    .where('room_id', '=', roomId)
    .where('kind', 'in', ['member.left', 'member.removed'])
    .limit(1)
    .executeTakeFirst()
  return row !== undefined
}
