import { Redis } from 'ioredis'

/** Redis for the tests of the Redis bus and shared limits; when it does not answer, those tests say so and do not run. */
export const REDIS_URL = process.env.TEST_REDIS_URL || 'redis://127.0.0.1:6379'

/** Whether a Redis server answers PING at REDIS_URL within a second. */
export async function redisAnswers(url = REDIS_URL): Promise<boolean> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 1_000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  })
  client.on('error', () => {})
  try {
    await client.connect()
    return (await client.ping()) === 'PONG'
  } catch {
    return false
  } finally {
    client.disconnect()
  }
}
