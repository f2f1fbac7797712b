import { CLOSE_CODES } from '../../shared/errors.ts'
import type { Connection } from './connection.ts'

/**
 * Every open socket on this node: pings them on an interval, closes a
 * session's sockets when it ends, and closes them all on shutdown.
 */
export class ConnectionRegistry {
  readonly #all = new Set<Connection>()
  readonly #bySession = new Map<string, Set<Connection>>()
  readonly #heartbeat: ReturnType<typeof setInterval>
  #drained: (() => void) | undefined

  constructor(pingIntervalMs: number) {
    this.#heartbeat = setInterval(() => {
      for (const connection of this.#all) connection.heartbeat()
    }, pingIntervalMs)
    this.#heartbeat.unref()
  }

  add(connection: Connection): void {
    this.#all.add(connection)
    let sockets = this.#bySession.get(connection.session.id)
    if (!sockets) {
      sockets = new Set()
      this.#bySession.set(connection.session.id, sockets)
    }
    sockets.add(connection)
  }

  remove(connection: Connection): void {
    this.#all.delete(connection)
    const sockets = this.#bySession.get(connection.session.id)
    sockets?.delete(connection)
    if (sockets?.size === 0) this.#bySession.delete(connection.session.id)
    if (this.#all.size === 0) this.#drained?.()
  }

  /** Logout (or revocation): that session's sockets close with 4001. */
  endSession(sessionId: string): void {
    for (const connection of this.#bySession.get(sessionId) ?? []) {
      connection.close(CLOSE_CODES.sessionEnded, 'Signed out')
    }
  }

  /** The user may no longer read a private room: their sockets stop following it and are told so. */
  revokeRoom(roomId: string, userId: string): void {
    for (const connection of this.#all) {
      if (connection.user.userId === userId) connection.revokeRoom(roomId)
    }
  }

  /** Closes every socket with 1001; those that do not finish the close handshake within `graceMs` are dropped. */
  async closeAll(graceMs: number): Promise<void> {
    clearInterval(this.#heartbeat)
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
