import type { FastifyInstance } from 'fastify'
import { deleteExpiredSessions } from './sessions.repository.ts'

const SWEEP_INTERVAL_MS = 60 * 60 * 1000

/** Expired sessions are already refused at lookup; this only keeps the table small. */
export function startSessionSweeper(app: FastifyInstance): void {
  const sweep = () =>
    deleteExpiredSessions(app.db).catch((error) => app.log.warn({ err: error }, 'session sweep failed'))
  const timer = setInterval(sweep, SWEEP_INTERVAL_MS)
  timer.unref()
  app.addHook('onClose', async () => clearInterval(timer))
}
