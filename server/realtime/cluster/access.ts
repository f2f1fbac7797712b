import type { FastifyBaseLogger } from 'fastify'
import type { Bus, ControlMessage } from '../bus.ts'

type AccessChange = Extract<ControlMessage, { kind: 'session-ended' | 'left-room' | 'room-deleted' }>

/**
 * An access change, after its commit, to every node (this one synchronously):
 * each closes or revokes its own affected sockets (docs/SCALING.md, "Access
 * changes"). The change is already stored, so the HTTP answer does not depend
 * on the bus: a publish that throws is logged, and the other nodes' sockets
 * are then cut at their next database check (a send, a resume, the session's end).
 */
export function publishAccess(bus: Bus, log: FastifyBaseLogger, change: AccessChange): void {
  try {
    bus.publishControl(change)
  } catch (error) {
    log.error({ err: error, kind: change.kind }, 'access change not published')
  }
}
