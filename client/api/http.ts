/**
 * Same-origin JSON over fetch. Every POST carries a JSON body (the server's
 * CSRF guard refuses anything else). Failures become ApiError with the
 * server's code, or 'network' when the request never got an answer.
 */
import type { ErrorCode } from '../../shared/errors.ts'

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode | 'network',
    message: string,
  ) {
    super(message)
    this.name = 'ApiError'
  }
}

export async function api<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  let response: Response
  try {
    response = await fetch(path, {
      method,
      credentials: 'same-origin',
      headers: method === 'POST' ? { 'content-type': 'application/json' } : {},
      body: method === 'POST' ? JSON.stringify(body ?? {}) : null,
    })
  } catch {
    throw new ApiError(0, 'network', 'No connection to the server')
  }
  if (response.status === 204) return undefined as T
  const payload = (await response.json().catch(() => null)) as
    | (T & { error?: undefined })
    | { error: { code: ErrorCode; message: string } }
    | null
  if (!response.ok) {
    const error = payload?.error
    throw new ApiError(response.status, error?.code ?? 'internal', error?.message ?? `HTTP ${response.status}`)
  }
  return payload as T
}
