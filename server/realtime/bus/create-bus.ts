import type { Kysely } from 'kysely'
import type { RoomEvent } from '../../../shared/schemas.ts'
import type { Config } from '../../config.ts'
import type { Database } from '../../db/database.ts'
import type { DB } from '../../db/schema.ts'
import { toRoomEvent } from '../../messages/events.ts'
import { eventsAfter } from '../../messages/messages.repository.ts'
import type { Metrics } from '../../metrics/metrics.ts'
import { type Bus, LocalBus } from '../bus.ts'
import { PostgresBus } from './postgres-bus.ts'
import { RedisBus } from './redis-bus.ts'
import type { BusLog } from './transport.ts'

/** A room's events after `after`, as the replay reads them: what the bus fills holes with. */
export const eventReader =
  (db: Kysely<DB>) =>
  async (roomId: string, after: number, limit: number): Promise<RoomEvent[]> =>
    (await eventsAfter(db, roomId, after, limit)).map(toRoomEvent)

/**
 * The bus `config.bus` names (docs/SCALING.md, "Bus"), listening before it
 * is returned: LocalBus for one process, PostgreSQL LISTEN/NOTIFY or Redis
 * pub/sub across processes. Room events missing from the bus are read from
 * `database`.
 */
export async function createBus(config: Config, database: Database, metrics: Metrics, log: BusLog): Promise<Bus> {
  if (config.bus === 'local') return new LocalBus()
  const common = { read: eventReader(database.db), metrics, log }
  const bus =
    config.bus === 'postgres'
      ? new PostgresBus({ ...common, connectionString: config.databaseUrl!, channel: `${config.busChannel}_bus` })
      : new RedisBus({ ...common, url: config.redisUrl!, prefix: config.busChannel })
  await bus.start()
  return bus
}
