import { createECDH } from 'node:crypto'

/**
 * Why a subscription's keys cannot be encrypted to (RFC 8291), or undefined:
 * `p256dh` must be an uncompressed P-256 public key (65 bytes, a point on the
 * curve) and `auth` a 16-byte secret. Checked at registration, so a bad key
 * is refused with a typed error instead of failing every later push.
 */
export function subscriptionKeysProblem(keys: { p256dh: string; auth: string }): string | undefined {
  const publicKey = Buffer.from(keys.p256dh, 'base64url')
  if (publicKey.length !== 65 || publicKey[0] !== 0x04) {
    return 'keys.p256dh must be an uncompressed P-256 public key (65 bytes)'
  }
  try {
    // ECDH with a throwaway key pair, as encryption will do: it refuses a point that is not on the curve.
    const ecdh = createECDH('prime256v1')
    ecdh.generateKeys()
    ecdh.computeSecret(publicKey)
  } catch {
    return 'keys.p256dh is not a point on the P-256 curve'
  }
  if (Buffer.from(keys.auth, 'base64url').length !== 16) return 'keys.auth must be 16 bytes'
  return undefined
}
