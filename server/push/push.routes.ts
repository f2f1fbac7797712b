import type { FastifyPluginAsync } from 'fastify'
import notifyLevelsRoutes from './notify-levels.routes.ts'
import { subscriptionsRoutes } from './subscriptions.routes.ts'
import { loadVapidKeys } from './vapid-keys.ts'

/**
 * Notifications (issue 10, docs/PUSH.md): the VAPID key, device
 * subscriptions, per-room notify levels. Registered under /api.
 */
const pushRoutes: FastifyPluginAsync = async (app) => {
  const keys = await loadVapidKeys(app.db, app.config.push)
  await app.register(subscriptionsRoutes(keys), { prefix: '/push' })
  await app.register(notifyLevelsRoutes)
}

export default pushRoutes
