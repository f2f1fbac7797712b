import type { Kysely, Transaction } from 'kysely'
import type { MessageState, Reaction } from '../../shared/conversation/fold.ts'
import type { Message } from '../../shared/schemas.ts'
import type { DB } from '../db/schema.ts'
import { toMessage, toRoomEvent } from './events.ts'
import { messagesAround, messagesBefore } from './messages.repository.ts'

type Trx = Transaction<DB>
type Row = Awaited<ReturnType<typeof messagesBefore>>[number]

/**
 * A history page (`GET …/messages?before=`, newest first), each message with
 * its folded current state (docs/PROTOCOL.md, "The fold", Snapshots). Read
 * from the denormalised state the append keeps in the same transaction as
 * each entry (the message row's edited_seq/deleted_*, the latest edit's
 * text, `message_reactions` in seq order), not by folding the log: the two
 * agree (test/integration/conversation-history.test.ts folds the raw log with
 * shared/conversation/fold.ts and compares). One repeatable-read snapshot,
 * so `through`, the room's last seq in it, covers everything the state holds.
 */
export async function historyPage(
  db: Kysely<DB>,
  roomId: string,
  before: number | undefined,
  limit: number,
): Promise<{ messages: Message[]; hasMore: boolean }> {
  return db
    .transaction()
    .setIsolationLevel('repeatable read')
    .execute(async (trx) => {
      const through = await lastSeqOf(trx, roomId)
      const rows = await messagesBefore(trx, roomId, before, limit + 1)
      return { messages: await withState(trx, roomId, rows.slice(0, limit), through), hasMore: rows.length > limit }
    })
}

/**
 * The page around `around` (`GET …/messages?around=`, newest first): the message at `around` (or,
 * when that seq is no message, the nearest one below it), about half the page older and the rest
 * newer; fewer on one side leaves the room for the other. Beyond the room's last seq it is the
 * newest page, below its first message the oldest. `hasMore`: older messages exist beyond the
 * page; `hasNewer`: newer ones do. Same snapshot and fold as `historyPage`.
 */
export async function aroundPage(
  db: Kysely<DB>,
  roomId: string,
  around: number,
  limit: number,
): Promise<{ messages: Message[]; hasMore: boolean; hasNewer: boolean }> {
  return db
    .transaction()
    .setIsolationLevel('repeatable read')
    .execute(async (trx) => {
      const through = await lastSeqOf(trx, roomId)
      const { atOrBelow, above } = await messagesAround(trx, roomId, around, limit + 1)
      // The anchor and up to half the page older; the newer side takes the rest, and gives back what it lacks.
      const newer = Math.min(above.length, limit - Math.min(atOrBelow.length, Math.ceil(limit / 2)))
      const older = Math.min(atOrBelow.length, limit - newer)
      const page = [...above.slice(0, newer).reverse(), ...atOrBelow.slice(0, older)]
      return {
        messages: await withState(trx, roomId, page, through),
        hasMore: atOrBelow.length > older,
        hasNewer: above.length > newer,
      }
    })
}

async function lastSeqOf(trx: Trx, roomId: string): Promise<number> {
  const room = await trx.selectFrom('rooms').select('last_seq').where('id', '=', roomId).executeTakeFirst()
  return Number(room?.last_seq ?? 0)
}

/** Each message row of a page with its folded current state as of the snapshot (`through`: the room's last seq in it). */
async function withState(trx: Trx, roomId: string, page: Row[], through: number): Promise<Message[]> {
  const editSeqs = page.flatMap((r) => (r.edited_seq !== null && r.deleted_seq === null ? [r.edited_seq] : []))
  const edits =
    editSeqs.length === 0
      ? []
      : await trx
          .selectFrom('room_events')
          .select(['seq', 'body', 'mentions'])
          .where('room_id', '=', roomId)
          .where('seq', 'in', editSeqs)
          .execute()
  const reactions =
    page.length === 0
      ? []
      : await trx
          .selectFrom('message_reactions')
          .select(['message_seq', 'emoji', 'user_id', 'seq'])
          .where('room_id', '=', roomId)
          .where(
            'message_seq',
            'in',
            page.map((r) => r.seq),
          )
          .orderBy('seq')
          .execute()
  const editBySeq = new Map(edits.map((e) => [Number(e.seq), e]))
  const reactionsOf = new Map<number, Reaction[]>()
  // In seq order: holders by their add, emoji by their oldest holder, as the fold orders them.
  for (const r of reactions) {
    const list = reactionsOf.get(Number(r.message_seq)) ?? []
    reactionsOf.set(Number(r.message_seq), list)
    const holder = { userId: r.user_id, seq: Number(r.seq) }
    const held = list.find((x) => x.emoji === r.emoji)
    if (held) (held.holders as Array<typeof holder>).push(holder)
    else list.push({ emoji: r.emoji, holders: [holder] })
  }
  return page.map((row): Message => {
    const event = toRoomEvent(row)
    const deleted = row.deleted_seq !== null
    const edit = row.edited_seq === null ? undefined : editBySeq.get(Number(row.edited_seq))
    const state: MessageState = {
      roomId: event.roomId,
      seq: event.seq,
      clientId: event.clientId,
      authorId: event.authorId,
      authorName: event.authorName,
      createdAt: event.createdAt,
      body: deleted ? null : (edit?.body ?? event.body),
      replyTo: event.replyTo ?? null,
      mentions: deleted ? [] : (edit?.mentions ?? row.mentions),
      edited: deleted || !edit ? null : { seq: Number(row.edited_seq), at: row.edited_at!.toISOString() },
      deleted: deleted
        ? { seq: Number(row.deleted_seq), at: row.deleted_at?.toISOString() ?? null, by: row.deleted_by }
        : null,
      reactions: deleted ? [] : (reactionsOf.get(event.seq) ?? []),
      through: Math.max(through, event.seq),
    }
    // `body` for clients from before issue 9: the current text ('' once deleted).
    return { ...toMessage(event), body: state.body ?? '', state: state as Message['state'] & MessageState }
  })
}
