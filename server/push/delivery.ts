import http from 'node:http'
import https from 'node:https'
import webpush from 'web-push'
import { guardedLookup, refusedLiteral } from './endpoint-guard.ts'
import type { VapidKeySource, VapidKeys } from './vapid-keys.ts'

export interface PushTarget {
  endpoint: string
  p256dh: string
  auth: string
}

export interface PushMessage {
  payload: string
  /** Collapses a burst per room at the push service (≤ 32 base64url characters). */
  topic: string
  urgency: 'normal' | 'high'
}

/**
 * What a push service answered: `sent` (2xx), `gone` (404/410: the
 * subscription no longer exists), `retry` (429, 5xx, timeout, network error;
 * `retryAfterMs` from Retry-After), `failed` (anything else: permanent).
 * `reason` never holds the payload or keys.
 */
export type DeliveryOutcome =
  | { kind: 'sent'; status: number }
  | { kind: 'gone'; status: number }
  | { kind: 'retry'; reason: string; status?: number; retryAfterMs?: number }
  | { kind: 'failed'; reason: string; status?: number }

export interface DeliveryOptions {
  keys: VapidKeySource
  subject: string
  ttlSeconds: number
  timeoutMs: number
  allowPrivate: boolean
}

/** VAPID JWTs live 12 h; one is signed per push service origin and reused for an hour. */
const VAPID_REUSE_MS = 3_600_000
const VAPID_LIFETIME_S = 12 * 3600

/** Sends encrypted (aes128gcm) Web Push messages with VAPID, over sockets that refuse private addresses. */
export class Delivery {
  readonly #options: DeliveryOptions
  readonly #vapid = new Map<string, { header: string; until: number }>()
  readonly #lookup
  readonly #agents

  constructor(options: DeliveryOptions, concurrency: number) {
    this.#options = options
    this.#lookup = guardedLookup(options.allowPrivate)
    // Keep-alive: pushes go to a handful of push services, so connections are worth reusing.
    this.#agents = {
      'https:': new https.Agent({ keepAlive: true, maxSockets: concurrency }),
      'http:': new http.Agent({ keepAlive: true, maxSockets: concurrency }),
    }
  }

  async send(target: PushTarget, message: PushMessage, signal: AbortSignal): Promise<DeliveryOutcome> {
    let url: URL
    try {
      url = new URL(target.endpoint)
    } catch {
      return { kind: 'failed', reason: 'endpoint is not a URL' }
    }
    const agent = url.protocol === 'https:' || url.protocol === 'http:' ? this.#agents[url.protocol] : undefined
    if (!agent || (url.protocol === 'http:' && !this.#options.allowPrivate)) {
      return { kind: 'failed', reason: 'endpoint is not https' }
    }
    if (refusedLiteral(url, this.#options.allowPrivate)) {
      return { kind: 'failed', reason: 'endpoint is a private address' }
    }
    let keys: VapidKeys
    try {
      keys = await this.#options.keys()
    } catch {
      return { kind: 'retry', reason: 'VAPID keys unavailable (database)' }
    }
    const details = webpush.generateRequestDetails(
      { endpoint: target.endpoint, keys: { p256dh: target.p256dh, auth: target.auth } },
      message.payload,
      {
        TTL: this.#options.ttlSeconds,
        topic: message.topic,
        urgency: message.urgency,
        contentEncoding: 'aes128gcm',
        headers: { Authorization: this.#authorization(url.origin, keys) },
      },
    )
    return this.#post(url, agent, details.headers as Record<string, string | number>, details.body as Buffer, signal)
  }

  close(): void {
    for (const agent of Object.values(this.#agents)) agent.destroy()
  }

  #authorization(audience: string, keys: VapidKeys): string {
    const now = Date.now()
    const cached = this.#vapid.get(audience)
    if (cached && cached.until > now) return cached.header
    const { subject } = this.#options
    const headers = webpush.getVapidHeaders(
      audience,
      subject,
      keys.publicKey,
      keys.privateKey,
      'aes128gcm',
      Math.floor(now / 1000) + VAPID_LIFETIME_S,
    )
    const header = headers.Authorization
    this.#vapid.set(audience, { header, until: now + VAPID_REUSE_MS })
    return header
  }

  #post(
    url: URL,
    agent: http.Agent,
    headers: Record<string, string | number>,
    body: Buffer,
    signal: AbortSignal,
  ): Promise<DeliveryOutcome> {
    const transport = url.protocol === 'https:' ? https : http
    return new Promise((resolve) => {
      let settled = false
      const settle = (outcome: DeliveryOutcome) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        signal.removeEventListener('abort', onAbort)
        resolve(outcome)
      }
      const request = transport.request(url, { method: 'POST', headers, agent, lookup: this.#lookup }, (response) => {
        const status = response.statusCode ?? 0
        // The body is not needed (push services explain in it, but it may hold anything): drain and drop.
        response.resume()
        response.on('error', () => {})
        settle(classify(status, response.headers['retry-after']))
      })
      const fail = (reason: string) => {
        request.destroy()
        settle({ kind: 'retry', reason })
      }
      const timer = setTimeout(() => fail('timeout'), this.#options.timeoutMs)
      const onAbort = () => fail('shutting down')
      signal.addEventListener('abort', onAbort)
      request.on('error', (error: NodeJS.ErrnoException) => {
        if (error.code === 'EPUSHPRIVATE') settle({ kind: 'failed', reason: 'endpoint resolves to a private address' })
        else settle({ kind: 'retry', reason: error.code ?? 'network error' })
      })
      request.end(body)
    })
  }
}

function classify(status: number, retryAfter: string | undefined): DeliveryOutcome {
  if (status >= 200 && status < 300) return { kind: 'sent', status }
  if (status === 404 || status === 410) return { kind: 'gone', status }
  if (status === 429 || status >= 500) {
    const retryAfterMs = parseRetryAfter(retryAfter)
    return {
      kind: 'retry',
      reason: `status ${status}`,
      status,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    }
  }
  return { kind: 'failed', reason: `status ${status}`, status }
}

/** Retry-After: seconds, or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined
  const trimmed = value.trim()
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000
  const at = Date.parse(trimmed)
  return Number.isNaN(at) ? undefined : Math.max(0, at - now)
}
