import { notice } from '../state/store.ts'
import { openFerryDb } from './open.ts'
import type { FerryDatabase } from './schema.ts'

let shared: Promise<FerryDatabase> | undefined

/** The page's single connection. */
export function getDb(): Promise<FerryDatabase> {
  shared ??= openFerryDb({
    onBlocked: () => {
      notice.value = 'Ferry was updated: close its other tabs or windows to finish.'
    },
    onBlocking: () => location.reload(),
  })
  return shared
}
