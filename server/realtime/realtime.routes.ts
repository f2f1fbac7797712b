import type { FastifyPluginAsync } from 'fastify'

// The WebSocket endpoint (GET /api/ws) is added by the realtime work (issue 3).
const realtimeRoutes: FastifyPluginAsync = async () => {}

export default realtimeRoutes
