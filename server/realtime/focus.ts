/**
 * Which users are looking at which room right now (the `focus` frame,
 * docs/PUSH.md): per room, the users with at least one socket focused on it
 * and how many. The push sender skips them. Per process, like presence: a
 * scale-out carries it over the bus (issue 11).
 */
export class FocusRegistry {
  readonly #rooms = new Map<string, Map<string, number>>()

  add(roomId: string, userId: string): void {
    let users = this.#rooms.get(roomId)
    if (!users) {
      users = new Map()
      this.#rooms.set(roomId, users)
    }
    users.set(userId, (users.get(userId) ?? 0) + 1)
  }

  remove(roomId: string, userId: string): void {
    const users = this.#rooms.get(roomId)
    const count = users?.get(userId)
    if (!users || count === undefined) return
    if (count > 1) users.set(userId, count - 1)
    else users.delete(userId)
    if (users.size === 0) this.#rooms.delete(roomId)
  }

  /** The users with a socket focused on the room. */
  focusedUsers(roomId: string): string[] {
    return [...(this.#rooms.get(roomId)?.keys() ?? [])]
  }

  isFocused(roomId: string, userId: string): boolean {
    return this.#rooms.get(roomId)?.has(userId) === true
  }
}
