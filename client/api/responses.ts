/**
 * Which schema answers which route (the same ones the server registers, see
 * docs/API.md). `api()` checks every answer against it, so nothing from the
 * network reaches the app unchecked. A route missing here is a bug in the
 * client: its call throws.
 */
import type { TSchema } from 'typebox'
import {
  DiscoverResponse,
  EventsResponse,
  HistoryResponse,
  MemberResponse,
  MembersResponse,
  MessageResponse,
  NoContent,
  ReadResponse,
  RoomResponse,
  RoomsResponse,
  UserResponse,
} from '../../shared/api.ts'
import {
  NotifySettingsResponse,
  PushKeyResponse,
  PushSubscriptionResponse,
  RoomNotifyResponse,
} from '../../shared/push/contract.ts'
import { SearchResponse } from '../../shared/search/contract.ts'

export type Method = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE'

const ROOM = '/api/rooms/[^/?]+'

const ROUTES: ReadonlyArray<readonly [Method, RegExp, TSchema]> = [
  ['GET', /^\/api\/auth\/me$/, UserResponse],
  ['POST', /^\/api\/auth\/(login|signup)$/, UserResponse],
  ['POST', /^\/api\/auth\/logout$/, NoContent],
  ['GET', /^\/api\/rooms$/, RoomsResponse],
  ['POST', /^\/api\/rooms$/, RoomResponse],
  // Before the room route below, whose pattern would take "discover" for a room id.
  ['GET', /^\/api\/rooms\/discover$/, DiscoverResponse],
  ['GET', new RegExp(`^${ROOM}$`), RoomResponse],
  ['PATCH', new RegExp(`^${ROOM}$`), RoomResponse],
  ['POST', new RegExp(`^${ROOM}/join$`), RoomResponse],
  ['POST', new RegExp(`^${ROOM}/leave$`), NoContent],
  ['GET', new RegExp(`^${ROOM}/members$`), MembersResponse],
  ['POST', new RegExp(`^${ROOM}/members$`), MemberResponse],
  ['DELETE', new RegExp(`^${ROOM}/members/[^/?]+$`), NoContent],
  ['PATCH', new RegExp(`^${ROOM}/members/[^/?]+$`), MemberResponse],
  ['POST', new RegExp(`^${ROOM}/read$`), ReadResponse],
  ['GET', new RegExp(`^${ROOM}/messages$`), HistoryResponse],
  ['POST', new RegExp(`^${ROOM}/messages$`), MessageResponse],
  ['GET', new RegExp(`^${ROOM}/events$`), EventsResponse],
  // Notifications (issue 10).
  ['GET', /^\/api\/push\/key$/, PushKeyResponse],
  ['POST', /^\/api\/push\/subscriptions$/, PushSubscriptionResponse],
  ['DELETE', /^\/api\/push\/subscriptions\/[^/?]+$/, NoContent],
  ['GET', /^\/api\/notifications$/, NotifySettingsResponse],
  ['PUT', new RegExp(`^${ROOM}/notifications$`), RoomNotifyResponse],
  // Search (issue 12).
  ['GET', /^\/api\/search$/, SearchResponse],
]

export function responseSchema(method: Method, path: string): TSchema {
  const pathname = path.split('?')[0] ?? path
  const route = ROUTES.find(([m, pattern]) => m === method && pattern.test(pathname))
  if (!route) throw new Error(`No response schema for ${method} ${pathname} (add it to client/api/responses.ts)`)
  return route[2]
}
