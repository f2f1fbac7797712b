/**
 * Same-origin JSON over fetch. Every POST carries a JSON body (the server's
 * CSRF guard refuses anything else). Every request gives up after
 * REQUEST_TIMEOUT_MS (body included), and every answer is checked against the
 * route's shared schema (`responses.ts`, loaded beside the request by
 * `validate.ts` to keep the first screen's script small) before anyone sees it. Failures become
 * ApiError: the server's code; 'network' when no answer came (or not in time);
 * 'bad_response' when the answer does not match its schema.
 */
import type { ErrorCode } from '../../shared/errors.ts'
import type { Method } from './responses.ts'

let checks: Promise<typeof import('./validate.ts')> | null = null
const loadChecks = () => {
  checks ??= import('./validate.ts')
  return checks
}

/** Long enough for a slow mobile link, short enough that a hung request does not hold a screen or a room. */
export const REQUEST_TIMEOUT_MS = 10_000

export type ApiErrorCode = ErrorCode | 'network' | 'bad_response'

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ApiErrorCode,
    message: string,
    /** What the browser threw, when there was no answer (kept for the console, never shown). */
    cause?: unknown,
  ) {
    super(message, cause === undefined ? undefined : { cause })
    this.name = 'ApiError'
  }
}

/** Worth asking again later: no answer, a server or proxy failure, or "too busy". */
export function isTransient(error: unknown): boolean {
  if (!(error instanceof ApiError)) return false
  if (error.code === 'network' || error.code === 'bad_response') return true
  return error.status >= 500 || error.status === 429 || error.code === 'rate_limited' || error.code === 'overloaded'
}

export interface RequestOptions {
  timeoutMs?: number
  /**
   * The caller no longer wants the answer (a search superseded by the next one): the request is
   * aborted and `api()` rejects with a DOMException named 'AbortError', not an ApiError.
   */
  signal?: AbortSignal
}

/** A request given up by its caller (RequestOptions.signal), not a failure to report. */
export function isAbort(error: unknown): boolean {
  return error instanceof DOMException && error.name === 'AbortError'
}

/** Rejects when the signal aborts, so a fetch (or body read) that ignores its signal still ends. */
function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    signal.addEventListener('abort', () => reject(new DOMException('timed out', 'AbortError')), { once: true })
  })
}

export async function api<T>(method: Method, path: string, body?: unknown, options: RequestOptions = {}): Promise<T> {
  const validation = loadChecks()
  const timeoutMs = options.timeoutMs ?? REQUEST_TIMEOUT_MS
  const controller = new AbortController()
  const aborted = untilAborted(controller.signal)
  // Only raced below; when the request ends first nobody awaits it, and its rejection is no error.
  aborted.catch(() => undefined)
  const timer = setTimeout(() => controller.abort(), timeoutMs)
  const caller = options.signal
  const giveUp = () => controller.abort()
  if (caller?.aborted) controller.abort()
  else caller?.addEventListener('abort', giveUp, { once: true })
  const noAnswer = (cause: unknown) =>
    caller?.aborted
      ? new DOMException('The caller gave up the request', 'AbortError')
      : controller.signal.aborted
        ? new ApiError(0, 'network', `No answer from the server within ${timeoutMs / 1000} s`, cause)
        : new ApiError(0, 'network', 'No connection to the server', cause)
  try {
    let response: Response
    try {
      response = await Promise.race([
        fetch(path, {
          method,
          credentials: 'same-origin',
          // Every write is JSON (the server's CSRF guard refuses anything else), an empty body included.
          headers: method === 'GET' ? {} : { 'content-type': 'application/json' },
          body: method === 'GET' ? null : JSON.stringify(body ?? {}),
          signal: controller.signal,
        }),
        aborted,
      ])
    } catch (error) {
      // Offline, refused, or our timeout: all 'network' (transient); the cause stays on the error.
      throw noAnswer(error)
    }
    let payload: unknown = null
    if (response.status !== 204) {
      try {
        payload = await Promise.race([response.json(), aborted])
      } catch (error) {
        if (controller.signal.aborted) throw noAnswer(error)
        // Not JSON (e.g. a proxy's HTML error page): judged below as a bad or unknown answer.
        payload = undefined
      }
    }
    const { isErrorBody, isResponse } = await validation
    if (!response.ok) {
      if (isErrorBody(payload)) throw new ApiError(response.status, payload.error.code, payload.error.message)
      throw new ApiError(response.status, 'internal', `HTTP ${response.status}`)
    }
    if (!isResponse(method, path, payload)) {
      throw new ApiError(
        response.status,
        'bad_response',
        `${method} ${path.split('?')[0]} answered something unexpected`,
      )
    }
    return (response.status === 204 ? undefined : payload) as T
  } finally {
    clearTimeout(timer)
    caller?.removeEventListener('abort', giveUp)
  }
}
