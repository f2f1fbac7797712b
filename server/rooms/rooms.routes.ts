import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import {
  AddMemberBody,
  CreateRoomBody,
  DiscoverQuery,
  DiscoverResponse,
  MemberResponse,
  MembersResponse,
  NoContent,
  ReadBody,
  ReadResponse,
  RoomParams,
  RoomResponse,
  RoomsResponse,
  SetRoleBody,
} from '../../shared/api.ts'
import { RenameRoomBody, renameProblem } from '../../shared/conversation/requests.ts'
import { LIMITS } from '../../shared/limits.ts'
import { ErrorResponse, type Member, type Role, Uuid } from '../../shared/schemas.ts'
import { requireSession } from '../auth/session-guard.ts'
import { findUserByUsername } from '../auth/users.repository.ts'
import { AppError, forbidden, notFound } from '../http/app-error.ts'
import { publishAccess } from '../realtime/cluster/access.ts'
import { requireMember, requireReadable } from './access.ts'
import { admitMember, leaveRoom, type RoomWriter, removeMember, renameRoom, setRole } from './membership.ts'
import { toRoom } from './rooms.mapper.ts'
import {
  findMember,
  findVisibleRoom,
  insertRoom,
  listDiscoverableRooms,
  listMembers,
  listMyRooms,
  markRead,
} from './rooms.repository.ts'

const errors = { '4xx': ErrorResponse }

/** PATCH and DELETE /api/rooms/:roomId/members/:userId (only these routes name a member in their path). */
const MemberParams = Type.Object({ roomId: Uuid, userId: Uuid }, { additionalProperties: false })

function toMember(row: { user_id: string; username: string; role: Role; joined_at: Date }): Member {
  return { userId: row.user_id, username: row.username, role: row.role, joinedAt: row.joined_at.toISOString() }
}

const roomsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { db, bus } = app
  const writer: RoomWriter = app

  async function visibleRoom(userId: string, roomId: string) {
    const row = await findVisibleRoom(db, userId, roomId)
    if (!row) throw notFound('No such room')
    return toRoom(row)
  }

  // My rooms only, bounded by my memberships however many public rooms exist. Rooms to join are
  // found with /discover; a room opened from a link is asked for by id (GET /:roomId).
  app.get('/', { schema: { response: { 200: RoomsResponse, ...errors } } }, async (request) => {
    const { user } = await requireSession(request)
    return { rooms: (await listMyRooms(db, user.id, LIMITS.roomListMineMax)).map(toRoom) }
  })

  app.get(
    '/discover',
    { schema: { querystring: DiscoverQuery, response: { 200: DiscoverResponse, ...errors } } },
    async (request) => {
      const { user } = await requireSession(request)
      const limit = request.query.limit ?? LIMITS.roomDiscoverPageDefault
      const { before, q } = request.query
      const rows = await listDiscoverableRooms(db, user.id, limit + 1, before, q)
      return { rooms: rows.slice(0, limit).map(toRoom), hasMore: rows.length > limit }
    },
  )

  app.post(
    '/',
    { schema: { body: CreateRoomBody, response: { 201: RoomResponse, ...errors } } },
    async (request, reply) => {
      const { user } = await requireSession(request)
      const name = request.body.name.trim()
      if (name.length === 0) throw new AppError(400, 'validation_failed', 'A room needs a name')
      const roomId = await insertRoom(db, user.id, name, request.body.visibility)
      // After the commit, through the bus: the owner's other devices list it, everyone else may discover a public one.
      bus.publishRoomList({ kind: 'added', userId: user.id, roomId })
      if (request.body.visibility === 'public') bus.publishRoomList({ kind: 'created', roomId, ownerId: user.id })
      reply.status(201)
      return { room: await visibleRoom(user.id, roomId) }
    },
  )

  app.get(
    '/:roomId',
    { schema: { params: RoomParams, response: { 200: RoomResponse, ...errors } } },
    async (request) => {
      const { user } = await requireSession(request)
      return { room: await visibleRoom(user.id, request.params.roomId) }
    },
  )

  app.post(
    '/:roomId/join',
    { schema: { params: RoomParams, response: { 200: RoomResponse, ...errors } } },
    async (request) => {
      const { user } = await requireSession(request)
      const room = await requireReadable(db, user.id, request.params.roomId)
      if (room.visibility === 'private') throw forbidden('Private rooms are joined by invitation of the owner')
      if (await admitMember(writer, room.id, user.id, user.id))
        bus.publishRoomList({ kind: 'added', userId: user.id, roomId: room.id })
      return { room: await visibleRoom(user.id, room.id) }
    },
  )

  app.post(
    '/:roomId/leave',
    { schema: { params: RoomParams, response: { 204: NoContent, ...errors } } },
    async (request, reply) => {
      const { user } = await requireSession(request)
      const room = await requireMember(db, user.id, request.params.roomId)
      if ((await leaveRoom(writer, room.id, user.id)) === 'deleted') {
        // The last member was the owner: the room is gone for everyone who followed it.
        publishAccess(bus, request.log, { kind: 'room-deleted', roomId: room.id })
        bus.publishRoomList({ kind: 'removed', userId: user.id, roomId: room.id, visibility: 'private' })
        return reply.status(204).send(null)
      }
      if (room.visibility === 'private')
        publishAccess(bus, request.log, { kind: 'left-room', roomId: room.id, userId: user.id })
      bus.publishRoomList({ kind: 'removed', userId: user.id, roomId: room.id, visibility: room.visibility })
      return reply.status(204).send(null)
    },
  )

  app.get(
    '/:roomId/members',
    { schema: { params: RoomParams, response: { 200: MembersResponse, ...errors } } },
    async (request) => {
      const { user } = await requireSession(request)
      const room = await requireReadable(db, user.id, request.params.roomId)
      return { members: (await listMembers(db, room.id)).map(toMember) }
    },
  )

  app.post(
    '/:roomId/members',
    {
      schema: {
        params: RoomParams,
        body: AddMemberBody,
        response: { 200: MemberResponse, 201: MemberResponse, ...errors },
      },
    },
    async (request, reply) => {
      const { user } = await requireSession(request)
      const room = await requireMember(db, user.id, request.params.roomId)
      if (room.role !== 'owner' && room.role !== 'admin') throw forbidden('Only the owner or an admin adds members')
      const invitee = await findUserByUsername(db, request.body.username)
      if (!invitee) throw notFound(`No user named "${request.body.username}"`)
      const added = await admitMember(writer, room.id, user.id, invitee.id)
      if (added) bus.publishRoomList({ kind: 'added', userId: invitee.id, roomId: room.id })
      reply.status(added ? 201 : 200)
      return { member: toMember(await findMember(db, room.id, invitee.id)) }
    },
  )

  // The owner or an admin removes a member: the same end for them as leaving (their sockets hear room_removed).
  app.delete(
    '/:roomId/members/:userId',
    { schema: { params: MemberParams, response: { 204: NoContent, ...errors } } },
    async (request, reply) => {
      const { user } = await requireSession(request)
      const room = await requireMember(db, user.id, request.params.roomId)
      const { userId } = request.params
      await removeMember(writer, room.id, user.id, userId)
      if (room.visibility === 'private') publishAccess(bus, request.log, { kind: 'left-room', roomId: room.id, userId })
      bus.publishRoomList({ kind: 'removed', userId, roomId: room.id, visibility: room.visibility })
      return reply.status(204).send(null)
    },
  )

  // The owner sets a member's role; `owner` hands the room over. Every member's devices get the room again.
  app.patch(
    '/:roomId/members/:userId',
    { schema: { params: MemberParams, body: SetRoleBody, response: { 200: MemberResponse, ...errors } } },
    async (request) => {
      const { user } = await requireSession(request)
      const room = await requireMember(db, user.id, request.params.roomId)
      const { userId } = request.params
      const told = await setRole(writer, room.id, user.id, userId, request.body.role)
      for (const memberId of told) bus.publishRoomList({ kind: 'changed', userId: memberId, roomId: room.id })
      return { member: toMember(await findMember(db, room.id, userId)) }
    },
  )

  // Rename by the owner or an admin: `room.renamed` in the log, and every member's room list hears of it.
  app.patch(
    '/:roomId',
    { schema: { params: RoomParams, body: RenameRoomBody, response: { 200: RoomResponse, ...errors } } },
    async (request) => {
      const { user } = await requireSession(request)
      const problem = renameProblem(request.body)
      if (problem) throw new AppError(400, problem.code, problem.message)
      const room = await requireMember(db, user.id, request.params.roomId)
      const topic = request.body.topic.trim()
      const told = await renameRoom(writer, room.id, user.id, request.body.name.trim(), topic === '' ? null : topic)
      for (const memberId of told) bus.publishRoomList({ kind: 'changed', userId: memberId, roomId: room.id })
      return { room: await visibleRoom(user.id, room.id) }
    },
  )

  app.post(
    '/:roomId/read',
    { schema: { params: RoomParams, body: ReadBody, response: { 200: ReadResponse, ...errors } } },
    async (request) => {
      const { user } = await requireSession(request)
      const room = await requireMember(db, user.id, request.params.roomId)
      await markRead(db, room.id, user.id, request.body.seq)
      const after = await visibleRoom(user.id, room.id)
      const { lastReadSeq, unreadCount } = after
      // The reader's other devices and the room's members hear of it as of a coalesced `read` (PROTOCOL.md, "Read receipts").
      bus.publishReadMarkers([{ roomId: room.id, userId: user.id, lastReadSeq, unreadCount }])
      return { lastReadSeq, unreadCount }
    },
  )
}

export default roomsRoutes
