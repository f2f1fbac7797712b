import { openDB } from 'idb'
import { DB_NAME, DB_VERSION, type FerryDatabase, type FerryDB, upgradeSchema } from './schema.ts'

export interface OpenHooks {
  /** Another tab still runs an older version and has not closed its connection yet. */
  onBlocked?: () => void
  /** A newer version of the app wants to upgrade; this connection has been closed. */
  onBlocking?: () => void
}

/** Opens (and upgrades) the database. */
export function openFerryDb(hooks: OpenHooks = {}, name = DB_NAME): Promise<FerryDatabase> {
  let db: FerryDatabase | undefined
  const opening = openDB<FerryDB>(name, DB_VERSION, {
    upgrade: (database, oldVersion, _newVersion, tx) => upgradeSchema(database, oldVersion, tx),
    blocked: () => hooks.onBlocked?.(),
    blocking: () => {
      // Close at once so the newer tab can upgrade; this tab's code is outdated and must reload.
      db?.close()
      hooks.onBlocking?.()
    },
  })
  return opening.then((opened) => {
    db = opened
    return opened
  })
}
