import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { RoomParams } from '../../shared/api.ts'
import { NotifySettingsResponse, RoomNotifyBody, RoomNotifyResponse } from '../../shared/push/contract.ts'
import { ErrorResponse } from '../../shared/schemas.ts'
import { requireSession } from '../auth/session-guard.ts'
import { AppError } from '../http/app-error.ts'
import { requireMember } from '../rooms/access.ts'
import { listNotifySettings, setNotifyLevel } from './notify-levels.repository.ts'

const errors = { '4xx': ErrorResponse }

/** GET /api/notifications and PUT /api/rooms/:roomId/notifications (docs/API.md). */
const notifyLevelsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { db } = app

  app.get('/notifications', { schema: { response: { 200: NotifySettingsResponse, ...errors } } }, async (request) => {
    const { user } = await requireSession(request)
    return { rooms: await listNotifySettings(db, user.id) }
  })

  app.put(
    '/rooms/:roomId/notifications',
    { schema: { params: RoomParams, body: RoomNotifyBody, response: { 200: RoomNotifyResponse, ...errors } } },
    async (request) => {
      const { user } = await requireSession(request)
      const room = await requireMember(db, user.id, request.params.roomId)
      const { level } = request.body
      // Left between the check and the write: the same answer as a non-member.
      if (!(await setNotifyLevel(db, room.id, user.id, level)))
        throw new AppError(403, 'not_member', 'Join the room first')
      return { roomId: room.id, level }
    },
  )
}

export default notifyLevelsRoutes
