/**
 * Items grouped by key (sockets by session, by user). A key with a single
 * item holds it bare, without a Set: most users have one socket on a node,
 * and an empty-ish Set costs ~100 bytes per socket.
 */
export class Groups<T extends object> {
  readonly #byKey = new Map<string, T | Set<T>>()

  add(key: string, item: T): void {
    const held = this.#byKey.get(key)
    if (held === undefined) this.#byKey.set(key, item)
    else if (held instanceof Set) held.add(item)
    else if (held !== item) this.#byKey.set(key, new Set([held, item]))
  }

  delete(key: string, item: T): void {
    const held = this.#byKey.get(key)
    if (held === item) this.#byKey.delete(key)
    else if (held instanceof Set) {
      held.delete(item)
      if (held.size === 1) this.#byKey.set(key, held.values().next().value!)
    }
  }

  has(key: string): boolean {
    return this.#byKey.has(key)
  }

  /** A snapshot of the key's items: callers may add or delete while they go through it. */
  get(key: string): T[] {
    const held = this.#byKey.get(key)
    if (held === undefined) return []
    return held instanceof Set ? [...held] : [held]
  }

  clear(): void {
    this.#byKey.clear()
  }
}
