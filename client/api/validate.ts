/**
 * The checks of `api()` answers, loaded apart from the first screen: the
 * TypeBox schemas and checker are larger than the rest of the initial script,
 * and nothing needs them before the first request's answer arrives.
 */
import { Check } from 'typebox/schema'
import type { ErrorCode } from '../../shared/errors.ts'
import { ErrorResponse } from '../../shared/schemas.ts'
import { type Method, responseSchema } from './responses.ts'

export function isResponse(method: Method, path: string, payload: unknown): boolean {
  return Check(responseSchema(method, path), payload)
}

export function isErrorBody(payload: unknown): payload is { error: { code: ErrorCode; message: string } } {
  return Check(ErrorResponse, payload)
}
