/**
 * Which users are looking at which room right now (the `focus` frame,
 * docs/PUSH.md), across the cluster: this node's sockets are counted here
 * (per room, the users with at least one socket focused on it and how many);
 * other nodes' are kept as sets per node, fed by their `focus` control
 * messages (server/realtime/cluster/), so the push sender, which runs on the
 * node that committed the message, skips a user focused on any node.
 */
export class FocusRegistry {
  readonly #local = new Map<string, Map<string, number>>()
  /** nodeId → room → users focused through that node. */
  readonly #remote = new Map<string, Map<string, Set<string>>>()
  readonly #listeners = new Set<(roomId: string, userId: string, focused: boolean) => void>()

  /** Called when a user's first local socket focuses the room (`true`) or the last one stops (`false`). */
  onLocalChange(listener: (roomId: string, userId: string, focused: boolean) => void): () => void {
    this.#listeners.add(listener)
    return () => {
      this.#listeners.delete(listener)
    }
  }

  add(roomId: string, userId: string): void {
    let users = this.#local.get(roomId)
    if (!users) {
      users = new Map()
      this.#local.set(roomId, users)
    }
    const count = users.get(userId) ?? 0
    users.set(userId, count + 1)
    if (count === 0) this.#tell(roomId, userId, true)
  }

  remove(roomId: string, userId: string): void {
    const users = this.#local.get(roomId)
    const count = users?.get(userId)
    if (!users || count === undefined) return
    if (count > 1) {
      users.set(userId, count - 1)
      return
    }
    users.delete(userId)
    if (users.size === 0) this.#local.delete(roomId)
    this.#tell(roomId, userId, false)
  }

  /** Another node's `focus` message. */
  setRemote(nodeId: string, roomId: string, userId: string, focused: boolean): void {
    let rooms = this.#remote.get(nodeId)
    if (focused) {
      if (!rooms) {
        rooms = new Map()
        this.#remote.set(nodeId, rooms)
      }
      let users = rooms.get(roomId)
      if (!users) {
        users = new Set()
        rooms.set(roomId, users)
      }
      users.add(userId)
      return
    }
    const users = rooms?.get(roomId)
    if (!rooms || !users?.delete(userId) || users.size > 0) return
    rooms.delete(roomId)
    if (rooms.size === 0) this.#remote.delete(nodeId)
  }

  /** A full state of the node arrived: what it no longer lists is forgotten. */
  retainRemote(nodeId: string, keep: (roomId: string, userId: string) => boolean): void {
    for (const [roomId, users] of [...(this.#remote.get(nodeId) ?? [])]) {
      for (const userId of [...users]) if (!keep(roomId, userId)) this.setRemote(nodeId, roomId, userId, false)
    }
  }

  /** The node is gone (expired or shut down): its focus no longer holds pushes back. */
  dropNode(nodeId: string): void {
    this.#remote.delete(nodeId)
  }

  /** [roomId, userId] of every user focused through this node: its part of `node-state`. */
  localEntries(): [string, string][] {
    const entries: [string, string][] = []
    for (const [roomId, users] of this.#local) for (const userId of users.keys()) entries.push([roomId, userId])
    return entries
  }

  /** The users with a socket focused on the room, on any node. */
  focusedUsers(roomId: string): string[] {
    const users = new Set(this.#local.get(roomId)?.keys() ?? [])
    for (const rooms of this.#remote.values()) for (const userId of rooms.get(roomId) ?? []) users.add(userId)
    return [...users]
  }

  isFocused(roomId: string, userId: string): boolean {
    if (this.#local.get(roomId)?.has(userId)) return true
    for (const rooms of this.#remote.values()) if (rooms.get(roomId)?.has(userId)) return true
    return false
  }

  #tell(roomId: string, userId: string, focused: boolean): void {
    for (const listener of this.#listeners) listener(roomId, userId, focused)
  }
}
