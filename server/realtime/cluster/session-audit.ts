import type { FastifyBaseLogger } from 'fastify'
import { type ExpiryClock, systemClock } from '../session-expiry.ts'

/** How often the open sockets' sessions are looked up. */
export const SESSION_AUDIT_MS = 60_000
/** Session ids per query. */
const BATCH = 1_000

export interface SessionAuditDeps {
  /** The session ids of this node's open sockets (duplicates allowed). */
  sessions(): Iterable<string>
  /** Which of `ids` are still stored. */
  existing(ids: readonly string[]): Promise<Set<string>>
  /** Closes the session's sockets (4001). */
  end(sessionId: string): void
  log: Pick<FastifyBaseLogger, 'warn' | 'error'>
  clock?: ExpiryClock
  intervalMs?: number
}

/**
 * The fallback for a `session-ended` message that never arrived (the
 * publishing node's bus connection failed, which no receiver can notice):
 * every minute, a node with a cross-process bus looks up its open sockets'
 * sessions and closes those of a session no longer stored. So a logout cuts
 * off every process within a second normally, and within a minute when the
 * bus dropped the message. One query per 1,000 sessions.
 */
export class SessionAudit {
  readonly #deps: SessionAuditDeps
  readonly #clock: ExpiryClock
  #timer: unknown
  #stopped = false
  #running: Promise<void> = Promise.resolve()

  constructor(deps: SessionAuditDeps) {
    this.#deps = deps
    this.#clock = deps.clock ?? systemClock
  }

  start(): void {
    this.#arm()
  }

  stop(): void {
    this.#stopped = true
    this.#clock.clearTimer(this.#timer)
  }

  /** The audit under way (tests). */
  idle(): Promise<void> {
    return this.#running
  }

  #arm(): void {
    if (this.#stopped) return
    this.#timer = this.#clock.setTimer(() => {
      this.#running = this.#audit().finally(() => this.#arm())
    }, this.#deps.intervalMs ?? SESSION_AUDIT_MS)
  }

  async #audit(): Promise<void> {
    const ids = [...new Set(this.#deps.sessions())]
    for (let i = 0; i < ids.length && !this.#stopped; i += BATCH) {
      const batch = ids.slice(i, i + BATCH)
      let existing: Set<string>
      try {
        existing = await this.#deps.existing(batch)
      } catch (error) {
        // The database is away: the next round tries again.
        this.#deps.log.error({ err: error }, 'session audit failed')
        return
      }
      for (const id of batch) {
        if (existing.has(id) || this.#stopped) continue
        this.#deps.log.warn({}, 'a socket outlived its session (a session-ended message was lost): closed')
        this.#deps.end(id)
      }
    }
  }
}
