import type { FastifyPluginAsync } from 'fastify'
import notifyLevelsRoutes from './notify-levels.routes.ts'
import { subscriptionsRoutes } from './subscriptions.routes.ts'
import type { VapidKeySource } from './vapid-keys.ts'

/**
 * Notifications (issue 10, docs/PUSH.md): the VAPID key, device
 * subscriptions and per-room notify levels. Registered under /api.
 */
export function pushRoutes(keys: VapidKeySource): FastifyPluginAsync {
  return async (app) => {
    await app.register(subscriptionsRoutes(keys), { prefix: '/push' })
    await app.register(notifyLevelsRoutes)
  }
}
