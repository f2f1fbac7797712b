/**
 * Error codes: every HTTP error body is `{ error: { code, message } }` and
 * every WebSocket error frame carries one of these in `code`. Clients act on
 * the code; the message is for people.
 */
export const ERROR_CODES = [
  'bad_request',
  'validation_failed',
  'unsupported_media_type',
  'payload_too_large',
  'unauthorized',
  'invalid_credentials',
  'forbidden',
  'csrf_rejected',
  'not_found',
  'username_taken',
  'already_member',
  'not_member',
  'owner_cannot_leave',
  'rate_limited',
  /** An earlier message of this sender's room stream (`afterClientId`) is not stored yet: resend it first, then this. Transient. */
  'out_of_order',
  /** The server's write queue is full; retry after `retryAfterMs` / `Retry-After`. Transient. */
  'overloaded',
  /** The database refused this one write for its content (isolated from its batch). Permanent. */
  'not_storable',
  /** A path segment (e.g. a room id) longer than the server's router accepts. */
  'uri_too_long',
  /** `GET /api/ws` without a WebSocket upgrade. */
  'upgrade_required',
  /** Edit, delete, reaction or reply names a seq (or own clientId) that is not a message of this room. Permanent. */
  'target_not_found',
  /** Edit, delete or reaction of a message that is deleted (perhaps by someone else meanwhile). Permanent. */
  'target_deleted',
  /** A reaction that is not exactly one emoji of at most LIMITS.reactionMaxBytes bytes. Permanent. */
  'invalid_reaction',
  'message_too_long',
  'message_empty',
  'unknown_frame',
  'internal',
  'unavailable',
] as const

export type ErrorCode = (typeof ERROR_CODES)[number]

/** WebSocket close codes the server uses (RFC 6455 plus 4000–4999 for Ferry). */
export const CLOSE_CODES = {
  /** Server shutting down; reconnect with backoff. */
  goingAway: 1001,
  /** Binary frame received; Ferry speaks JSON text only. */
  unsupportedData: 1003,
  /** Too many invalid frames. */
  policyViolation: 1008,
  /** Frame larger than LIMITS.wsMaxFrameBytes. */
  messageTooBig: 1009,
  /** Session ended (logout, expiry, revoked): sign in again. */
  sessionEnded: 4001,
  /** The socket fell too far behind; reconnect and resume from your last seq. */
  slowConsumer: 4008,
  /** Too many frames (subscribe/typing/ping floods) after a `rate_limited` error: back off, then reconnect. */
  tooManyFrames: 4029,
} as const
