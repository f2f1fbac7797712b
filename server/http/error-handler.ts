import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { ErrorCode } from '../../shared/errors.ts'
import { AppError } from './app-error.ts'

interface Classified {
  status: number
  code: ErrorCode
  message: string
}

function classify(error: FastifyError): Classified {
  if (error instanceof AppError) return { status: error.statusCode, code: error.code, message: error.message }
  if (error.validation) {
    return { status: 400, code: 'validation_failed', message: error.message }
  }
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, code: 'payload_too_large', message: 'Request body is too large' }
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 415, code: 'unsupported_media_type', message: 'Send Content-Type: application/json' }
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return { status: 400, code: 'bad_request', message: 'Malformed JSON body' }
    case 'FST_ERR_BAD_URL':
      return { status: 400, code: 'bad_request', message: 'The URL is not valid percent-encoded UTF-8' }
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return { status: 414, code: 'uri_too_long', message: 'A part of the URL is too long' }
  }
  if (error.statusCode === 429) {
    return { status: 429, code: 'rate_limited', message: error.message || 'Too many requests, slow down' }
  }
  const status = error.statusCode ?? 500
  if (status >= 400 && status < 500) {
    // Fastify's own 4xx (e.g. malformed JSON from secure-json-parse) carry safe messages.
    return { status, code: 'bad_request', message: error.message }
  }
  return { status: 500, code: 'internal', message: 'Something went wrong on our side' }
}

function sendError(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  const { status, code, message } = classify(error)
  if (status >= 500) request.log.error({ err: error }, 'request failed')
  return reply.status(status).send({ error: { code, message } })
}

/**
 * Fastify's `frameworkErrors` option: errors raised before routing (a URL
 * that does not decode, a parameter longer than `maxParamLength`) would
 * otherwise get Fastify's own body shape.
 */
export const frameworkErrors = sendError

/** The one JSON 404 body, for the not-found handler and the client's catch-all route. */
export function sendNotFound(request: FastifyRequest, reply: FastifyReply) {
  return reply
    .status(404)
    .send({ error: { code: 'not_found', message: `No route ${request.method} ${request.url.split('?')[0]}` } })
}

/**
 * @fastify/websocket answers a plain GET on a WebSocket route with an empty
 * 404. Every such route instead gets an HTTP handler that refuses with a typed
 * 426, so the class is closed for routes added later too. Runs before the
 * plugin's own onRoute hook (root hooks come first), which then sees a
 * `wsHandler` and keeps this handler.
 */
function refusePlainRequestsToWebSockets(app: FastifyInstance): void {
  app.addHook('onRoute', (route) => {
    if (!route.websocket) return
    route.wsHandler = route.handler as unknown as typeof route.wsHandler
    route.websocket = false
    route.handler = async () => {
      throw new AppError(426, 'upgrade_required', 'This URL speaks WebSocket only: open it with an upgrade')
    }
  })
}

/** One error handler: 4xx shows its message, 5xx a generic one (and is logged). */
export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler(sendError)
  app.setNotFoundHandler(sendNotFound)
  refusePlainRequestsToWebSockets(app)
}
