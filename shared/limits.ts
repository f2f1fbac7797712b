/**
 * Limits shared by client and server. The server enforces every one of them;
 * the client uses them to refuse early and to explain why.
 */
export const LIMITS = {
  /** Message body length in characters, after trimming. */
  messageBodyMin: 1,
  messageBodyMax: 4000,
  /** Largest WebSocket frame the server accepts (bytes); bigger closes with 1009. */
  wsMaxFrameBytes: 64 * 1024,
  /** Largest HTTP body (bytes); bigger is refused with 413. */
  httpMaxBodyBytes: 64 * 1024,
  /** Per-user send rate across all sockets: token bucket. */
  sendRatePerSecond: 10,
  sendBurst: 30,
  /** Writes waiting for or in an append transaction, all lanes together; past it a send is refused `overloaded`. */
  appendQueueMax: 4000,
  /** The retry hint with `overloaded` (WebSocket `retryAfterMs`, HTTP `Retry-After`). */
  overloadedRetryAfterMs: 1000,
  /** Login and sign-up attempts per IP per window. */
  authAttemptsPerWindow: 10,
  authWindowMs: 60_000,
  /** History page size (newest first). */
  historyPageMax: 100,
  historyPageDefault: 50,
  /** Catch-up page size over HTTP, and the burst a socket sends before a reset marker. */
  catchUpPageMax: 500,
  catchUpPageDefault: 500,
  /** More missed events than this on subscribe → reset marker instead of a replay. */
  resumeMaxEvents: 500,
  /** Usernames: 3–32 of [a-z0-9_-], compared case-insensitively. */
  usernameMin: 3,
  usernameMax: 32,
  // `-` escaped: browsers check `pattern` attributes with the `v` flag, where a bare `-` is an error.
  usernamePattern: '^[A-Za-z0-9_\\-]{3,32}$',
  /**
   * Text PostgreSQL can store exactly as sent (every free-text field): no
   * U+0000, no lone UTF-16 surrogate. Means the same with and without the `u` flag.
   */
  storableTextPattern: '^(?:[^\\u0000\\uD800-\\uDFFF]|[\\uD800-\\uDBFF][\\uDC00-\\uDFFF])*$',
  /** A reaction: one emoji (shared/conversation/emoji.ts), at most this many bytes of UTF-8. */
  reactionMaxBytes: 32,
  /** Distinct members the server records as mentioned in one message or edit; more `@names` stay plain text. */
  mentionsMax: 50,
  /** A room's topic (`room.renamed`), in characters; empty means no topic. */
  roomTopicMax: 300,
  passwordMin: 8,
  passwordMax: 256,
  roomNameMin: 1,
  roomNameMax: 80,
  /** Rooms `GET /api/rooms` lists that the caller belongs to (most recently active first). */
  roomListMineMax: 500,
  /** Public rooms the caller is not in, newest first, per discover page (GET /api/rooms/discover). */
  roomDiscoverPageDefault: 50,
  roomDiscoverPageMax: 100,
  /** A discover search (`q`): at most a room name's length; longer could never match. */
  roomSearchMax: 80,
  /** Rooms a single subscribe frame may name. */
  subscribeMaxRooms: 200,
  /** Typing signals expire without renewal after this long. */
  typingTtlMs: 5_000,
  /** Protocol ping interval; two missed pongs terminate the socket. */
  pingIntervalMs: 25_000,
  /** Unsent bytes a socket may hold before it is closed as a slow consumer. */
  wsMaxBufferedBytes: 1024 * 1024,
  /** Invalid frames in a row before the socket is closed with 1008. */
  wsMaxInvalidFrames: 20,
  /**
   * Control frames (subscribe, unsubscribe, typing, ping) per socket: token
   * bucket. `send` has its own limit (sendRatePerSecond). Over it → `rate_limited`.
   */
  wsFrameRatePerSecond: 10,
  wsFrameBurst: 40,
  /** The same control frames per user, across all of their sockets. */
  wsUserFrameRatePerSecond: 20,
  wsUserFrameBurst: 80,
  /** Rooms named in subscribe frames per user, across sockets (each resume reads the database). */
  wsSubscribeRoomsPerSecond: 50,
  wsSubscribeRoomsBurst: 2000,
  /** Control frames refused with `rate_limited` in a row before the socket is closed with 4029. */
  wsMaxRateLimitedFrames: 10,
  /** Rooms one socket may follow at once; subscribing to more is refused per room. */
  wsMaxRoomsPerSocket: 1000,
  /**
   * Read markers (docs/PROTOCOL.md, "Read receipts"): a client sends the
   * highest seq it has seen at most this often per room while the room is open.
   * With readMarkerFlushMs it sets how soon a person's other devices hear of a
   * read: the two add up to the one second issue 9 allows.
   */
  readReceiptIntervalMs: 500,
  /** The server writes the markers raised meanwhile in one statement this often, then broadcasts them. */
  readMarkerFlushMs: 500,
  /** Raised markers held between flushes; past it the server flushes at once (bounded memory). */
  readMarkersPendingMax: 10_000,
  /** Readers in the `receipts` snapshot a socket gets when it subscribes (the most advanced first). */
  receiptSnapshotMax: 100,
  // ---- Notifications (issue 10, docs/PUSH.md) ----
  /** Characters of a message's body shown in its notification. */
  pushPreviewMax: 140,
  /** A push message's plaintext, bytes (the standard allows ~4 KB; issue 10 asks ≤ 3 KB). */
  pushPayloadMax: 3072,
  /** A push subscription's endpoint URL, characters. */
  pushEndpointMax: 2048,
  /** A subscription's `p256dh` key and the VAPID public key, base64url characters (a P-256 point is 87). */
  pushKeyMax: 128,
  /** A subscription's `auth` secret, base64url characters (16 bytes are 22). */
  pushAuthMax: 64,
  /** Push subscriptions one user may hold (devices); registering past it drops that user's oldest. */
  pushSubscriptionsPerUserMax: 20,
  /** Session lifetime. */
  sessionTtlMs: 30 * 24 * 60 * 60 * 1000,
} as const
