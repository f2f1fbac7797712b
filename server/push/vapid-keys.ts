import type { Kysely } from 'kysely'
import webpush from 'web-push'
import type { PushConfig } from '../config.ts'
import type { DB } from '../db/schema.ts'

export interface VapidKeys {
  publicKey: string
  privateKey: string
}

/** The keys when first needed (a push, `GET /api/push/key`), not at start. */
export type VapidKeySource = () => Promise<VapidKeys>

/**
 * Loads the pair on first use and keeps it; a failed load (the database is
 * down) is not kept, so the next use tries again. Lazy so the server starts,
 * and answers `/healthz` 503, while the database is unreachable.
 */
export function vapidKeySource(db: Kysely<DB>, config: PushConfig): VapidKeySource {
  let loading: Promise<VapidKeys> | undefined
  return () => {
    loading ??= loadVapidKeys(db, config).catch((error: unknown) => {
      loading = undefined
      throw error
    })
    return loading
  }
}

/**
 * The environment's pair, or the one kept in the database, generated at the
 * first start so `npm start` needs nothing new. Several processes may start
 * at once: each inserts its own candidate if none is stored, then all read
 * the one row that won.
 */
export async function loadVapidKeys(db: Kysely<DB>, config: PushConfig): Promise<VapidKeys> {
  if (config.vapidKeys) return config.vapidKeys
  const candidate = webpush.generateVAPIDKeys()
  await db
    .insertInto('push_vapid')
    .values({ id: 1, public_key: candidate.publicKey, private_key: candidate.privateKey })
    .onConflict((oc) => oc.column('id').doNothing())
    .execute()
  const row = await db
    .selectFrom('push_vapid')
    .select(['public_key', 'private_key'])
    .where('id', '=', 1)
    .executeTakeFirstOrThrow()
  return { publicKey: row.public_key, privateKey: row.private_key }
}
