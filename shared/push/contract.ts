/**
 * Notifications (issue 10): the HTTP bodies, the `focus` frame and the push
 * payload, shared by the server (server/push/), the page and the service
 * worker (client/push/, client/sw/). docs/PUSH.md describes the design;
 * docs/API.md and docs/PROTOCOL.md list the routes and the frame.
 */
import Type from 'typebox'
import { LIMITS } from '../limits.ts'
import { IsoDate, RoomEvent, Seq, Uuid } from '../schemas.ts'

const strict = { additionalProperties: false } as const

/** base64url without padding (RFC 7515 §2), as browsers give push keys. */
const Base64Url = (maxLength: number) => Type.String({ minLength: 1, maxLength, pattern: '^[A-Za-z0-9_-]+$' })

/** `GET /api/push/key`: the server's VAPID public key (base64url), for `pushManager.subscribe`. */
export const PushKeyResponse = Type.Object({ publicKey: Base64Url(LIMITS.pushKeyMax) }, strict)
export type PushKeyResponse = Type.Static<typeof PushKeyResponse>

/**
 * `POST /api/push/subscriptions`: `PushSubscription.toJSON()` of this device.
 * Tied to the caller's session: logging out (or the session ending) removes
 * it. Registering an endpoint already stored is idempotent (same id; it moves
 * to this session when another session had it, since only the browser that
 * holds an endpoint can present it). The endpoint must be `https:` and must
 * not resolve to a loopback, private or link-local address (SSRF), except
 * where the server's config allows it for tests.
 */
export const PushSubscriptionBody = Type.Object(
  {
    endpoint: Type.String({ minLength: 1, maxLength: LIMITS.pushEndpointMax }),
    expirationTime: Type.Optional(Type.Union([Type.Integer({ minimum: 0 }), Type.Null()])),
    keys: Type.Object({ p256dh: Base64Url(LIMITS.pushKeyMax), auth: Base64Url(LIMITS.pushAuthMax) }, strict),
  },
  strict,
)
export type PushSubscriptionBody = Type.Static<typeof PushSubscriptionBody>
export const PushSubscriptionResponse = Type.Object({ subscription: Type.Object({ id: Uuid }, strict) }, strict)
export type PushSubscriptionResponse = Type.Static<typeof PushSubscriptionResponse>
/** `DELETE /api/push/subscriptions/:subscriptionId`: 204; another user's or unknown id answers 404 `not_found`. */
export const PushSubscriptionParams = Type.Object({ subscriptionId: Uuid }, strict)

/**
 * What a member hears of a room: `all` messages, only `mentions` of them
 * (a muted room), or `none` ("mute all"). Default `all`.
 */
export const NotifyLevel = Type.Union([Type.Literal('all'), Type.Literal('mentions'), Type.Literal('none')])
export type NotifyLevel = Type.Static<typeof NotifyLevel>
/** `PUT /api/rooms/:roomId/notifications`: idempotent, last write wins; a non-member gets 403 `not_member`. */
export const RoomNotifyBody = Type.Object({ level: NotifyLevel }, strict)
export type RoomNotifyBody = Type.Static<typeof RoomNotifyBody>
export const RoomNotifySetting = Type.Object({ roomId: Uuid, level: NotifyLevel }, strict)
export type RoomNotifySetting = Type.Static<typeof RoomNotifySetting>
export const RoomNotifyResponse = RoomNotifySetting
/** `GET /api/notifications`: the caller's rooms whose level is not `all`. */
export const NotifySettingsResponse = Type.Object({ rooms: Type.Array(RoomNotifySetting) }, strict)
export type NotifySettingsResponse = Type.Static<typeof NotifySettingsResponse>

/**
 * WebSocket, client → server: "the person is looking at this room now" (the
 * page is visible and shows it), or `null` (hidden, or no room open). No
 * answer. The server sends no push for a room to a user while any of that
 * user's sockets is focused on it.
 */
export const FocusFrame = Type.Object({ type: Type.Literal('focus'), roomId: Type.Union([Uuid, Type.Null()]) }, strict)
export type FocusFrame = Type.Static<typeof FocusFrame>

/**
 * The push message's plaintext (JSON, encrypted aes128gcm by the push
 * library, at most LIMITS.pushPayloadMax bytes). `preview`: the body's first
 * LIMITS.pushPreviewMax characters, for the notification. `event`: the whole
 * `message.created` entry when it fits the size limit, so the service worker
 * stores it before showing the notification; absent when it does not fit
 * (the worker then fetches it). `unread`: the recipient's unread count in
 * this room after this message. The worker validates the payload like any
 * input from outside and ignores what does not match.
 */
export const PushPayload = Type.Object(
  {
    v: Type.Literal(1),
    roomId: Uuid,
    roomName: Type.String({ maxLength: LIMITS.roomNameMax * 2 }),
    seq: Seq,
    authorName: Type.String({ maxLength: 64 }),
    preview: Type.String({ maxLength: LIMITS.pushPreviewMax * 2 }),
    mention: Type.Boolean(),
    unread: Type.Integer({ minimum: 0 }),
    sentAt: IsoDate,
    event: Type.Optional(RoomEvent),
  },
  strict,
)
export type PushPayload = Type.Static<typeof PushPayload>
