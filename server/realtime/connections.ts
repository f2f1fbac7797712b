import { CLOSE_CODES } from '../../shared/errors.ts'
import type { Connection } from './connection.ts'
import { Groups } from './groups.ts'
import { type ExpiryClock, SessionExpiry, systemClock } from './session-expiry.ts'

/**
 * Every open socket on this node: pings them on an interval, closes a
 * session's sockets when it ends (logout, revocation or expiry), and closes
 * them all on shutdown. One interval and one expiry timer serve every socket.
 */
export class ConnectionRegistry {
  readonly #all = new Set<Connection>()
  readonly #bySession = new Groups<Connection>()
  readonly #heartbeat: ReturnType<typeof setInterval>
  readonly #expiry: SessionExpiry<Connection>
  #drained: (() => void) | undefined

  constructor(pingIntervalMs: number, clock: ExpiryClock = systemClock) {
    this.#heartbeat = setInterval(() => {
      for (const connection of this.#all) connection.heartbeat()
    }, pingIntervalMs)
    this.#heartbeat.unref()
    this.#expiry = new SessionExpiry(
      () => this.#all,
      (connection) => connection.sessionExpired(),
      clock,
    )
  }

  add(connection: Connection): void {
    this.#all.add(connection)
    this.#bySession.add(connection.sessionId, connection)
    this.#expiry.watch(connection)
  }

  remove(connection: Connection): void {
    this.#all.delete(connection)
    this.#bySession.delete(connection.sessionId, connection)
    if (this.#all.size === 0) this.#drained?.()
  }

  /** The session of every open socket (a session once per socket: the audit dedupes). */
  *sessionIds(): Iterable<string> {
    for (const connection of this.#all) yield connection.sessionId
  }

  /** Logout (or revocation): that session's sockets close with 4001. */
  endSession(sessionId: string): void {
    for (const connection of this.#bySession.get(sessionId)) {
      connection.close(CLOSE_CODES.sessionEnded, 'Signed out')
    }
  }

  /** The user may no longer read a private room: their sockets stop following it and are told so. */
  revokeRoom(roomId: string, userId: string): void {
    for (const connection of this.#all) {
      if (connection.user.userId === userId) connection.revokeRoom(roomId)
    }
  }

  /** The room was deleted (its last member, the owner, left): every socket following it stops and hears `not_found`. */
  revokeRoomForAll(roomId: string): void {
    for (const connection of this.#all) connection.revokeRoom(roomId)
  }

  /**
   * The bus lost room-list changes or read markers meant for this node's
   * sockets: each closes with 1001, and its client reconnects, refetches its
   * room list and resumes its rooms (docs/SCALING.md, "Bus").
   */
  reconnectAll(): void {
    for (const connection of [...this.#all]) {
      connection.close(CLOSE_CODES.goingAway, 'Reconnect: this server missed room-list changes')
    }
  }

  /** Closes every socket with 1001; those that do not finish the close handshake within `graceMs` are dropped. */
  async closeAll(graceMs: number): Promise<void> {
    clearInterval(this.#heartbeat)
    this.#expiry.stop()
    if (this.#all.size === 0) return
    const drained = new Promise<void>((resolve) => {
      this.#drained = resolve
    })
    for (const connection of this.#all) connection.close(CLOSE_CODES.goingAway, 'Server shutting down')
    let timer: ReturnType<typeof setTimeout> | undefined
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), graceMs)
    })
    if ((await Promise.race([drained, late])) === 'late') {
      for (const connection of this.#all) connection.socket.terminate()
    }
    clearTimeout(timer)
  }
}
