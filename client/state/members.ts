/**
 * Members and moderation from the room's Members screen (issue 9 items 4 and 5): who may do what
 * to whom, inviting, roles and ownership, removing, renaming, and what leaving will mean. Nothing
 * here rejects: a refusal comes back as text for the screen to show.
 *
 * Online only (docs/CLIENT.md, "Members and moderation"): these change who may read a room, not
 * what is said in it, so they are not queued in the outbox. Offline they are refused at once with
 * "you are offline", and nothing changes here.
 */
import type { MembersResponse, RoomResponse } from '../../shared/api.ts'
import { LIMITS } from '../../shared/limits.ts'
import type { Member, Role, Room } from '../../shared/schemas.ts'
import { ApiError, api, isTransient } from '../api/http.ts'
import { readMembers, saveMembers } from '../db/members.ts'
import { getDb } from '../db/page.ts'
import { mergeRoom } from '../db/rooms.ts'
import { onTabMessage, publish } from '../tabs/bus.ts'
import { OWNER_MUST_TRANSFER, roomNameProblem } from './membership.ts'
import { members, route } from './store.ts'

/** What the viewer may do to one member, in the order the screen offers it. */
export type MemberAction = 'make-admin' | 'make-member' | 'make-owner' | 'remove'

/**
 * The server's rights (docs/API.md, "Roles") as buttons: the owner sets roles, hands the room over
 * and removes anyone but themself; an admin removes plain members; nobody acts on themself here
 * (leaving is the room menu's).
 */
export function memberActions(viewer: Role | null, target: Member, meId: string): MemberAction[] {
  if (target.userId === meId || target.role === 'owner') return []
  if (viewer === 'owner') return [target.role === 'admin' ? 'make-member' : 'make-admin', 'make-owner', 'remove']
  if (viewer === 'admin' && target.role === 'member') return ['remove']
  return []
}

/** Owner and admins invite, remove and rename. */
export function moderates(role: Role | null | undefined): boolean {
  return role === 'owner' || role === 'admin'
}

/** A refusal worded for the person, by its code; `doing` names the action ("inviting someone"). */
function refusal(error: unknown, doing: string): string {
  if (!(error instanceof ApiError)) {
    console.warn(`[ferry] ${doing} failed`, error)
    return `Could not finish ${doing}. Try again.`
  }
  switch (error.code) {
    case 'network':
      return `You are offline: ${doing} needs a connection. Try again when you are back online.`
    case 'forbidden':
      return `You are not allowed to do that in this room (${error.message}).`
    case 'not_member':
      return 'You are no longer a member of this room.'
    case 'owner_cannot_leave':
      return OWNER_MUST_TRANSFER
    default:
      return error.message
  }
}

const sameName = (a: string, b: string) => a.toLowerCase() === b.toLowerCase()

/** Adds `username` to the room (an invite takes effect at once). Null when done, else why not. */
export async function inviteMember(roomId: string, username: string): Promise<string | null> {
  const name = username.trim().replace(/^@/, '')
  if (name === '') return 'Type the username of the person to invite.'
  const known = members.peek()[roomId] ?? []
  const already = (who: string) => `${who} is already a member of this room.`
  const listed = known.find((m) => sameName(m.username, name))
  if (listed) return already(listed.username)
  try {
    const { member } = await api<{ member: Member }>('POST', `/api/rooms/${roomId}/members`, { username: name })
    // 200 (not 201): a member already, whom the list here did not show yet.
    const wasMember = known.some((m) => m.userId === member.userId)
    // The header's member count is the room row's: refreshed with the list.
    await Promise.all([loadMembers(roomId), refreshRoomRow(roomId)])
    return wasMember ? already(member.username) : null
  } catch (error) {
    if (error instanceof ApiError && error.code === 'not_found' && /^No user/.test(error.message))
      return `No one on Ferry is called “${name}”. Check the spelling.`
    return refusal(error, 'inviting someone')
  }
}

/** The owner sets `member`'s role; `owner` hands the room over (the owner becomes an admin). */
export async function setMemberRole(roomId: string, member: Member, role: Role): Promise<string | null> {
  try {
    await api<{ member: Member }>('PATCH', `/api/rooms/${roomId}/members/${member.userId}`, { role })
  } catch (error) {
    return refusal(error, role === 'owner' ? 'handing the room over' : 'changing a role')
  }
  // The viewer's own role may have changed (a hand-over): the room row now, not when the socket says so.
  await Promise.all([loadMembers(roomId), refreshRoomRow(roomId)])
  return null
}

/** The owner or an admin removes `member` (their devices drop the room through the room-list stream). */
export async function removeFromRoom(roomId: string, member: Member): Promise<string | null> {
  try {
    await api('DELETE', `/api/rooms/${roomId}/members/${member.userId}`, {})
  } catch (error) {
    // Gone already (removed by another moderator, or left): the list is what needs fixing.
    if (!(error instanceof ApiError && error.code === 'not_found' && /member/i.test(error.message)))
      return refusal(error, 'removing someone')
  }
  await Promise.all([loadMembers(roomId), refreshRoomRow(roomId)])
  return null
}

/** Why a topic cannot be used, or null (the server's rule: at most roomTopicMax characters after trimming). */
export function topicProblem(topic: string): string | null {
  return [...topic.trim()].length > LIMITS.roomTopicMax ? `A topic is at most ${LIMITS.roomTopicMax} characters.` : null
}

/** The owner or an admin renames the room and sets its topic (empty: none). */
export async function renameRoom(room: Room, name: string, topic: string): Promise<string | null> {
  const problem = roomNameProblem(name) ?? topicProblem(topic)
  if (problem) return problem
  try {
    const answer = await api<RoomResponse>('PATCH', `/api/rooms/${room.id}`, { name: name.trim(), topic: topic.trim() })
    await storeRoomRow(answer.room)
    return null
  } catch (error) {
    return refusal(error, 'renaming the room')
  }
}

/**
 * What leaving means for this person now: a member is asked to confirm; an owner with others in
 * the room must hand it over first; an owner who is its last member is asked to confirm that the
 * room will be deleted. The owner's case asks the server who is in the room (the count on the
 * device may be old), so "deleted" is never said when it is not so, nor missed when it is.
 */
export type LeavePlan = { kind: 'confirm' } | { kind: 'confirm-delete' } | { kind: 'refused'; reason: string }

export async function planLeaving(room: Room, meId: string): Promise<LeavePlan> {
  if (room.role !== 'owner') return { kind: 'confirm' }
  try {
    const { members: list } = await api<MembersResponse>('GET', `/api/rooms/${room.id}/members`)
    members.value = { ...members.peek(), [room.id]: list }
    // Handed over a moment ago, before the room row heard of it: the server's word counts.
    if (list.find((m) => m.userId === meId)?.role !== 'owner') return { kind: 'confirm' }
    return list.some((m) => m.userId !== meId)
      ? { kind: 'refused', reason: OWNER_MUST_TRANSFER }
      : { kind: 'confirm-delete' }
  } catch (error) {
    return { kind: 'refused', reason: refusal(error, 'leaving a room') }
  }
}

async function storeRoomRow(room: Room): Promise<void> {
  try {
    await mergeRoom(await getDb(), room)
    publish({ type: 'rooms-changed' })
  } catch (error) {
    // The change is made on the server; the socket's room_added (or the next list) brings the row.
    console.warn('[ferry] storing a changed room failed', error)
  }
}

/** The room as the server has it now, into the list. Quiet when it cannot be asked (the socket will tell). */
async function refreshRoomRow(roomId: string): Promise<void> {
  try {
    const { room } = await api<RoomResponse>('GET', `/api/rooms/${roomId}`)
    await storeRoomRow(room)
  } catch (error) {
    console.warn(`[ferry] refreshing room ${roomId} after a membership change failed`, error)
  }
}

const MEMBER_KINDS = new Set(['member.joined', 'member.left', 'member.removed'])

/**
 * Keeps the member lists this tab holds in step with the room: a `member.*` entry in its log, or
 * the room heard again from the room-list stream (a role change or a hand-over, which are not in
 * the log), reloads the open room's list; another room's list is dropped, to be loaded when that
 * room opens again.
 */
export function startMemberRefresh(): () => void {
  return onTabMessage((message) => {
    let roomId: string | null = null
    if (message.type === 'room-changed') roomId = message.roomId
    else if (message.type === 'events' && message.events.some((e) => MEMBER_KINDS.has(e.kind))) roomId = message.roomId
    if (roomId === null || !(roomId in members.peek())) return
    const open = route.peek()
    if (open.name === 'room' && open.roomId === roomId)
      void loadMembers(roomId) // never rejects
    else {
      const { [roomId]: _dropped, ...rest } = members.peek()
      members.value = rest
    }
  })
}

/**
 * Who is in the room, from the server, saved on the device (db/members.ts). Offline, a list this
 * session already shows stays; otherwise the one saved last time is shown (the Members sheet and
 * `@` work offline). Never rejects.
 */
export async function loadMembers(roomId: string): Promise<void> {
  try {
    const res = await api<MembersResponse>('GET', `/api/rooms/${roomId}/members`)
    members.value = { ...members.value, [roomId]: res.members }
    await saveMembers(await getDb(), roomId, res.members)
  } catch (error) {
    if (!isTransient(error)) console.warn(`[ferry] loading the members of room ${roomId} failed`, error)
    if (members.peek()[roomId] !== undefined) return
    try {
      const saved = await readMembers(await getDb(), roomId)
      if (saved && members.peek()[roomId] === undefined) members.value = { ...members.peek(), [roomId]: saved }
    } catch (readError) {
      console.warn(`[ferry] reading the saved members of room ${roomId} failed`, readError)
    }
  }
}
