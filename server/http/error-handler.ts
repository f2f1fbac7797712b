import type { FastifyError, FastifyInstance } from 'fastify'
import type { ErrorCode } from '../../shared/errors.ts'
import { AppError } from './app-error.ts'

function classify(error: FastifyError): { status: number; code: ErrorCode; message: string } {
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

/** One error handler: 4xx shows its message, 5xx a generic one (and is logged). */
export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const { status, code, message } = classify(error)
    if (status >= 500) request.log.error({ err: error }, 'request failed')
    reply.status(status).send({ error: { code, message } })
  })
  app.setNotFoundHandler((request, reply) => {
    reply
      .status(404)
      .send({ error: { code: 'not_found', message: `No route ${request.method} ${request.url.split('?')[0]}` } })
  })
}
