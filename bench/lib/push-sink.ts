import { createECDH, randomBytes } from 'node:crypto'
import http from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * A local push service for `npm run bench -- ws` with BENCH_WS_PUSH (issue
 * 10): answers every push 201 at once and counts them. It does not decrypt:
 * the integration tests check content; this measures what pushing costs the
 * server. Ferry must run with PUSH_ALLOW_PRIVATE_ENDPOINTS=true to reach it.
 */
export class PushSink {
  received = 0
  bytes = 0
  readonly #server = http.createServer({ keepAliveTimeout: 60_000 }, (request, response) => {
    request.on('data', (chunk: Buffer) => {
      this.bytes += chunk.length
    })
    request.on('end', () => {
      this.received++
      response.writeHead(201).end()
    })
  })

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve))
    return this
  }

  /** A subscription body for a new device on this sink (real P-256 keys: the server encrypts for them). */
  subscription(name: string) {
    const ecdh = createECDH('prime256v1')
    ecdh.generateKeys()
    const { port } = this.#server.address() as AddressInfo
    return {
      endpoint: `http://127.0.0.1:${port}/push/${name}`,
      keys: { p256dh: ecdh.getPublicKey('base64url'), auth: randomBytes(16).toString('base64url') },
    }
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections()
    await new Promise<void>((resolve) => this.#server.close(() => resolve()))
  }
}
