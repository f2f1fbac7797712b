import type { Kysely } from 'kysely'
import type { DB } from '../../server/db/schema.ts'
import { type AppendRequest, appendBatch } from '../../server/messages/append-batch.ts'
import type { Agent } from './app.ts'

/** One write of `agent` for `appendBatch`, its body derived from its clientId. */
export const appendRequest = (
  agent: Agent,
  roomId: string,
  clientId: string,
  afterClientId?: string,
): AppendRequest => ({
  roomId,
  authorId: agent.user.id,
  authorName: agent.user.username,
  clientId,
  body: `message ${clientId.slice(0, 8)}`,
  ...(afterClientId ? { afterClientId } : {}),
})

/** Appends the writes as one batch, bypassing the appender's queue (its own transaction). */
export const appendInOneBatch = (db: Kysely<DB>, requests: AppendRequest[]) =>
  db.transaction().execute((trx) => appendBatch(trx, requests))
