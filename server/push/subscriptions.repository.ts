import { type Kysely, sql } from 'kysely'
import type { DB } from '../db/schema.ts'

export interface NewSubscription {
  userId: string
  sessionId: string
  endpoint: string
  p256dh: string
  auth: string
}

/**
 * Stores the endpoint for this session, or moves it here (only the browser
 * that holds an endpoint can present it, so the latest registration is the
 * device's current owner), then drops the user's oldest-refreshed
 * subscriptions past `maxPerUser`. One transaction; `created` says whether
 * the endpoint was new.
 */
export async function registerSubscription(
  db: Kysely<DB>,
  subscription: NewSubscription,
  maxPerUser: number,
): Promise<{ id: string; created: boolean }> {
  return db.transaction().execute(async (trx) => {
    const row = await trx
      .insertInto('push_subscriptions')
      .values({
        user_id: subscription.userId,
        session_id: subscription.sessionId,
        endpoint: subscription.endpoint,
        p256dh: subscription.p256dh,
        auth: subscription.auth,
      })
      .onConflict((oc) =>
        oc.column('endpoint').doUpdateSet({
          user_id: subscription.userId,
          session_id: subscription.sessionId,
          p256dh: subscription.p256dh,
          auth: subscription.auth,
          refreshed_at: sql`now()`,
          failures: 0,
        }),
      )
      // xmax is 0 for a row this statement inserted, the locking transaction's id for one it updated.
      .returning(['id', sql<boolean>`(xmax = 0)`.as('created')])
      .executeTakeFirstOrThrow()
    await trx
      .deleteFrom('push_subscriptions')
      .where('user_id', '=', subscription.userId)
      .where(
        'id',
        'not in',
        trx
          .selectFrom('push_subscriptions')
          .select('id')
          .where('user_id', '=', subscription.userId)
          .orderBy('refreshed_at', 'desc')
          .orderBy('id', 'desc')
          .limit(maxPerUser),
      )
      .execute()
    return { id: row.id, created: row.created }
  })
}

/** Deletes the user's own subscription; false when there is none of that id for them. */
export async function deleteOwnSubscription(db: Kysely<DB>, userId: string, id: string): Promise<boolean> {
  const result = await db
    .deleteFrom('push_subscriptions')
    .where('id', '=', id)
    .where('user_id', '=', userId)
    .executeTakeFirst()
  return result.numDeletedRows > 0n
}

/** The push service says the endpoint is gone (404/410). */
export async function deleteSubscription(db: Kysely<DB>, id: string): Promise<void> {
  await db.deleteFrom('push_subscriptions').where('id', '=', id).execute()
}

export async function recordDelivery(db: Kysely<DB>, id: string, ok: boolean): Promise<void> {
  await db
    .updateTable('push_subscriptions')
    .set(ok ? { failures: 0 } : { failures: sql`failures + 1` })
    .where('id', '=', id)
    .execute()
}
