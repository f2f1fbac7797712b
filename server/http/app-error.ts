import type { ErrorCode } from '../../shared/errors.ts'

/** An error the client may see: a status, a typed code and a human message. */
export class AppError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message)
    this.name = 'AppError'
  }
}

export const notFound = (what = 'Not found') => new AppError(404, 'not_found', what)
export const forbidden = (why: string) => new AppError(403, 'forbidden', why)
export const unauthorized = () => new AppError(401, 'unauthorized', 'Sign in first')
