import { createDecipheriv, createECDH, createHmac, type ECDH, randomBytes } from 'node:crypto'
import http, { type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'

/** A browser's side of a push subscription: the P-256 key pair and the auth secret (RFC 8291). */
export interface Device {
  ecdh: ECDH
  p256dh: string
  auth: string
}

export function newDevice(): Device {
  const ecdh = createECDH('prime256v1')
  ecdh.generateKeys()
  return { ecdh, p256dh: ecdh.getPublicKey('base64url'), auth: randomBytes(16).toString('base64url') }
}

const hmac = (key: Buffer, data: Buffer) => createHmac('sha256', key).update(data).digest()
const info = (text: string) => Buffer.concat([Buffer.from(text, 'latin1'), Buffer.from([0])])

/**
 * Decrypts an `aes128gcm` push message body (RFC 8188 framing, RFC 8291 keys)
 * with the device's private key and auth secret, as a browser does; written
 * from the RFCs with node:crypto alone, so it checks the server's encryption
 * independently of the library that did it. Throws when it does not decrypt.
 */
export function decrypt(body: Buffer, device: Device): string {
  const salt = body.subarray(0, 16)
  const idLength = body[20]!
  const serverPublic = body.subarray(21, 21 + idLength)
  const record = body.subarray(21 + idLength)
  const devicePublic = device.ecdh.getPublicKey()
  const secret = device.ecdh.computeSecret(serverPublic)
  const prkKey = hmac(Buffer.from(device.auth, 'base64url'), secret)
  const keyInfo = Buffer.concat([info('WebPush: info'), devicePublic, serverPublic, Buffer.from([1])])
  const ikm = hmac(prkKey, keyInfo)
  const prk = hmac(salt, ikm)
  const cek = hmac(prk, Buffer.concat([info('Content-Encoding: aes128gcm'), Buffer.from([1])])).subarray(0, 16)
  const nonce = hmac(prk, Buffer.concat([info('Content-Encoding: nonce'), Buffer.from([1])])).subarray(0, 12)
  const decipher = createDecipheriv('aes-128-gcm', cek, nonce)
  decipher.setAuthTag(record.subarray(record.length - 16))
  const padded = Buffer.concat([decipher.update(record.subarray(0, record.length - 16)), decipher.final()])
  // The last record ends with the delimiter 0x02, then zero padding.
  let end = padded.length - 1
  while (end >= 0 && padded[end] === 0) end--
  if (padded[end] !== 2) throw new Error('not a final aes128gcm record')
  return padded.subarray(0, end).toString('utf8')
}

export interface ReceivedPush {
  path: string
  headers: IncomingHttpHeaders
  body: Buffer
}

/** What the receiver answers a request: a status (with headers), or nothing at all (hang). */
export type Answer = { status: number; headers?: Record<string, string> } | 'hang'

/**
 * A local push service: records every request, answers 201 unless told
 * otherwise per path (a list of answers, used up in order, the last one
 * repeating), or hangs. Runs on 127.0.0.1, so the app under test needs
 * PUSH_ALLOW_PRIVATE_ENDPOINTS (config.push.allowPrivateEndpoints).
 */
export class PushReceiver {
  readonly requests: ReceivedPush[] = []
  readonly #answers = new Map<string, Answer[]>()
  readonly #server = http.createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      const path = request.url ?? '/'
      this.requests.push({ path, headers: request.headers, body: Buffer.concat(chunks) })
      const queue = this.#answers.get(path)
      const answer = queue && queue.length > 1 ? queue.shift()! : (queue?.[0] ?? { status: 201 })
      if (answer === 'hang') return
      response.writeHead(answer.status, answer.headers).end()
    })
  })

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve))
    return this
  }

  /** A fresh endpoint on this receiver. */
  endpoint(name: string): string {
    const { port } = this.#server.address() as AddressInfo
    return `http://127.0.0.1:${port}/push/${name}`
  }

  answer(endpoint: string, ...answers: Answer[]): void {
    this.#answers.set(new URL(endpoint).pathname, answers)
  }

  to(endpoint: string): ReceivedPush[] {
    const path = new URL(endpoint).pathname
    return this.requests.filter((r) => r.path === path)
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections()
    await new Promise<void>((resolve) => this.#server.close(() => resolve()))
  }
}
