import type { FastifyInstance } from 'fastify'
import { AppError } from './app-error.ts'

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

export function isAllowedOrigin(origin: string | undefined, allowed: readonly string[]): boolean {
  return origin === undefined || allowed.includes(origin)
}

/**
 * Cross-site request forgery defence, before any body is read:
 * 1. a state-changing request must be JSON (a form post cannot set that type
 *    without a CORS preflight, which Ferry never grants);
 * 2. an Origin header, when the browser sends one, must be in the allowlist.
 */
export function registerCsrfGuard(app: FastifyInstance, allowedOrigins: readonly string[]): void {
  app.addHook('onRequest', async (request) => {
    if (SAFE_METHODS.has(request.method)) return
    const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase()
    if (type !== 'application/json') {
      throw new AppError(403, 'csrf_rejected', 'State-changing requests must be sent as application/json')
    }
    if (!isAllowedOrigin(request.headers.origin, allowedOrigins)) {
      throw new AppError(403, 'csrf_rejected', 'Requests from this origin are not allowed')
    }
  })
}
