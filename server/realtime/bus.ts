import type { RoomEvent } from '../../shared/schemas.ts'

/**
 * Carries committed room events from the node that appended them to every
 * node's hub. Publish happens after commit, once per batch. The in-process
 * bus hands the events over directly; a cross-process bus (PostgreSQL
 * LISTEN/NOTIFY or Redis) would publish `{roomId, seq}` pointers and have each
 * node read the events from the database before calling its handlers: the
 * database stays the truth and the interface stays the same.
 */
export interface Bus {
  publish(events: readonly RoomEvent[]): void
  subscribe(handler: (events: readonly RoomEvent[]) => void): () => void
  close(): Promise<void>
}

export class LocalBus implements Bus {
  readonly #handlers = new Set<(events: readonly RoomEvent[]) => void>()

  publish(events: readonly RoomEvent[]): void {
    if (events.length === 0) return
    for (const handler of this.#handlers) handler(events)
  }

  subscribe(handler: (events: readonly RoomEvent[]) => void): () => void {
    this.#handlers.add(handler)
    return () => this.#handlers.delete(handler)
  }

  async close(): Promise<void> {
    this.#handlers.clear()
  }
}
