import type { PresenceUser } from '../../../shared/protocol.ts'

interface Present {
  user: PresenceUser
  /** The nodes with at least one live socket of the user in the room. */
  nodes: Set<string>
}

/** A change the room's sockets must hear about. */
export type PresenceChange =
  | { kind: 'join'; roomId: string; user: PresenceUser }
  | { kind: 'leave'; roomId: string; userId: string }

/**
 * Who is present in each room across the cluster (docs/SCALING.md): per
 * room, per user, the nodes that hold a live socket of theirs. How many
 * sockets each node holds is that node's business (its Hub counts them); a
 * user is present while any node has them, so a second tab on another node
 * joins nobody's list twice, and leaving one node of two changes nothing.
 * Pure bookkeeping: the callers publish and broadcast.
 */
export class PresenceDirectory {
  readonly #rooms = new Map<string, Map<string, Present>>()
  /** room → users, per node: what dropping a node touches, without a scan of every room. */
  readonly #byNode = new Map<string, Map<string, Set<string>>>()

  /** `nodeId` has the user in the room; a join when no node had them before. */
  add(nodeId: string, roomId: string, user: PresenceUser): PresenceChange | undefined {
    let users = this.#rooms.get(roomId)
    if (!users) {
      users = new Map()
      this.#rooms.set(roomId, users)
    }
    let rooms = this.#byNode.get(nodeId)
    if (!rooms) {
      rooms = new Map()
      this.#byNode.set(nodeId, rooms)
    }
    let inRoom = rooms.get(roomId)
    if (!inRoom) {
      inRoom = new Set()
      rooms.set(roomId, inRoom)
    }
    inRoom.add(user.userId)
    const entry = users.get(user.userId)
    if (entry) {
      entry.nodes.add(nodeId)
      return undefined
    }
    users.set(user.userId, { user, nodes: new Set([nodeId]) })
    return { kind: 'join', roomId, user }
  }

  /** `nodeId` no longer has the user in the room; a leave when it was the last node that did. */
  remove(nodeId: string, roomId: string, userId: string): PresenceChange | undefined {
    const rooms = this.#byNode.get(nodeId)
    const inRoom = rooms?.get(roomId)
    if (inRoom?.delete(userId) && inRoom.size === 0) {
      rooms!.delete(roomId)
      if (rooms!.size === 0) this.#byNode.delete(nodeId)
    }
    const users = this.#rooms.get(roomId)
    const entry = users?.get(userId)
    if (!users || !entry?.nodes.delete(nodeId) || entry.nodes.size > 0) return undefined
    users.delete(userId)
    if (users.size === 0) this.#rooms.delete(roomId)
    return { kind: 'leave', roomId, userId }
  }

  /** The node is gone: its users leave every room no other node has them in. */
  dropNode(nodeId: string): PresenceChange[] {
    return this.#removeAll(nodeId, () => true)
  }

  /** Removes the node's entries `keep` refuses (a full state arrived without them). */
  retainOnly(nodeId: string, keep: (roomId: string, userId: string) => boolean): PresenceChange[] {
    return this.#removeAll(nodeId, (roomId, userId) => !keep(roomId, userId))
  }

  has(nodeId: string, roomId: string, userId: string): boolean {
    return this.#byNode.get(nodeId)?.get(roomId)?.has(userId) === true
  }

  users(roomId: string): PresenceUser[] {
    return [...(this.#rooms.get(roomId)?.values() ?? [])].map((entry) => entry.user)
  }

  /** [roomId, userId, username] of every user the node has: its `node-state`. */
  entriesOf(nodeId: string): [string, string, string][] {
    const entries: [string, string, string][] = []
    for (const [roomId, userIds] of this.#byNode.get(nodeId) ?? []) {
      const users = this.#rooms.get(roomId)
      for (const userId of userIds) {
        const user = users?.get(userId)?.user
        if (user) entries.push([roomId, userId, user.username])
      }
    }
    return entries
  }

  nodes(): string[] {
    return [...this.#byNode.keys()]
  }

  #removeAll(nodeId: string, drop: (roomId: string, userId: string) => boolean): PresenceChange[] {
    const changes: PresenceChange[] = []
    for (const [roomId, userIds] of [...(this.#byNode.get(nodeId) ?? [])]) {
      for (const userId of [...userIds]) {
        if (!drop(roomId, userId)) continue
        const change = this.remove(nodeId, roomId, userId)
        if (change) changes.push(change)
      }
    }
    return changes
  }
}
