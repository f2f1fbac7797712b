import fs from 'node:fs'
import https from 'node:https'
import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { buildApp } from '../../server/app.ts'
import type { Database } from '../../server/db/database.ts'
import { LIMITS } from '../../shared/limits.ts'
import { testConfig, uniqueName } from '../support/app.ts'
import { createTestDatabase } from '../support/databases.ts'
import { NGINX, NGINX_CONF, type Nginx, OPENSSL, startNginx } from '../support/nginx.ts'
import { TestSocket } from '../support/ws.ts'

const ORIGIN = 'https://chat.example.org'

interface Answer {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}

/** An HTTPS request that accepts the test's self-signed certificate. */
function request(url: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}) {
  return new Promise<Answer>((resolve, reject) => {
    const req = https.request(
      url,
      { method: options.method ?? 'GET', headers: options.headers, rejectUnauthorized: false },
      (res) => {
        let body = ''
        res.on('data', (chunk) => (body += chunk))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
      },
    )
    req.on('error', reject)
    req.end(options.body)
  })
}

/** Directive values of deploy/nginx.conf, as written. */
function directive(name: string): string[] {
  const text = fs.readFileSync(NGINX_CONF, 'utf8')
  return [...text.matchAll(new RegExp(`^\\s*${name}\\s+([^;]+);`, 'gm'))].map((m) => m[1]!.trim())
}

describe('deploy/nginx.conf, as written', () => {
  it('accepts bodies up to LIMITS.httpMaxBodyBytes and waits well past the 25 s ping for a quiet socket', () => {
    expect(directive('client_max_body_size')).toEqual([`${LIMITS.httpMaxBodyBytes / 1024}k`])
    const seconds = directive('proxy_read_timeout').map((v) => Number(/^(\d+)s$/.exec(v)?.[1]))
    expect(seconds).toHaveLength(1)
    expect(seconds[0]).toBeGreaterThanOrEqual((3 * LIMITS.pingIntervalMs) / 1000)
    // No sticky sessions: no ip_hash, hash or sticky directive in the upstream.
    expect(fs.readFileSync(NGINX_CONF, 'utf8')).not.toMatch(/^\s*(ip_hash|hash|sticky)\b/m)
  })
})

const missing = !NGINX
  ? 'nginx is not installed (apt-get install nginx-light; .ci/run does)'
  : !OPENSSL
    ? 'openssl is not installed'
    : ''
describe.skipIf(missing !== '')(
  missing ? `nginx in front of two Ferry processes — NOT RUN: ${missing}` : 'nginx in front of two Ferry processes',
  () => {
    let database: Database
    const nodes: FastifyInstance[] = []
    const seen: Array<Array<{ ip: string; protocol: string; url: string }>> = [[], []]
    let nginx: Nginx
    beforeAll(async () => {
      database = await createTestDatabase('pglite')
      for (const n of [0, 1]) {
        const app = await buildApp({
          config: testConfig({ trustProxy: ['127.0.0.1'], allowedOrigins: [ORIGIN], cookieSecure: true }),
          database,
          serveClient: false,
        })
        app.addHook('onRequest', async (req) => {
          seen[n]!.push({ ip: req.ip, protocol: req.protocol, url: req.url })
        })
        await app.listen({ port: 0, host: '127.0.0.1' })
        nodes.push(app)
      }
      nginx = await startNginx({
        upstreams: nodes.map((app) => `127.0.0.1:${(app.server.address() as AddressInfo).port}`),
      })
    })
    afterAll(async () => {
      await nginx?.stop()
      for (const app of nodes) await app.close()
      await database?.close()
    })

    it('passes nginx -t', () => {
      expect(nginx.checked).toMatch(/syntax is ok/)
      expect(nginx.checked).toMatch(/test is successful/)
    })

    it('renders without TLS too (for multi-process tests that speak ws://), and nginx -t accepts that', async () => {
      const plain = await startNginx({ upstreams: ['127.0.0.1:9'], tls: false })
      try {
        expect(plain.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
        expect(plain.checked).toMatch(/test is successful/)
      } finally {
        await plain.stop()
      }
    })

    it('redirects plain HTTP to https', async () => {
      const response = await fetch(`${nginx.httpUrl}/healthz`, { redirect: 'manual' })
      expect(response.status).toBe(301)
      expect(response.headers.get('location')).toMatch(/^https:\/\/127\.0\.0\.1(:\d+)?\/healthz$/)
    })

    it('spreads requests over both processes (no stickiness), with the client address and https as Ferry must see them', async () => {
      for (const list of seen) list.length = 0
      for (let i = 0; i < 8; i++) {
        const response = await request(`${nginx.url}/healthz`, { headers: { 'x-forwarded-for': '203.0.113.9' } })
        expect(response.status).toBe(200)
      }
      expect(seen[0]!.length).toBeGreaterThan(0)
      expect(seen[1]!.length).toBeGreaterThan(0)
      for (const { ip, protocol } of seen.flat()) {
        // nginx replaced the planted address with the peer it saw; TRUST_PROXY believed nginx.
        expect(ip).toBe('127.0.0.1')
        expect(protocol).toBe('https')
      }
    })

    it('refuses a body over LIMITS.httpMaxBodyBytes itself and passes one under it on', async () => {
      for (const list of seen) list.length = 0
      const over = await request(`${nginx.url}/api/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: ORIGIN },
        body: JSON.stringify({ username: 'x', password: 'y'.repeat(LIMITS.httpMaxBodyBytes) }),
      })
      expect(over.status).toBe(413)
      expect(seen.flat()).toHaveLength(0)
      const under = await request(`${nginx.url}/api/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: ORIGIN },
        body: JSON.stringify({ username: 'x', password: 'y'.repeat(LIMITS.httpMaxBodyBytes - 100) }),
      })
      // Ferry's own answer (a typed JSON error), not nginx's.
      expect(under.headers['content-type']).toMatch(/^application\/json/)
      expect(seen.flat()).toHaveLength(1)
    })

    it('upgrades a WebSocket through it: hello, subscribe, send and ack over wss', async () => {
      const signup = await request(`${nginx.url}/api/auth/signup`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: ORIGIN },
        body: JSON.stringify({ username: uniqueName('nginx'), password: 'correct horse battery' }),
      })
      expect(signup.status).toBe(201)
      const cookie = (signup.headers['set-cookie'] as string[])[0]!.split(';')[0]!
      const room = await request(`${nginx.url}/api/rooms`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: ORIGIN, cookie },
        body: JSON.stringify({ name: 'Through nginx', visibility: 'public' }),
      })
      expect(room.status).toBe(201)
      const roomId = JSON.parse(room.body).room.id as string
      const ws = new WebSocket(`${nginx.url.replace('https:', 'wss:')}/api/ws`, {
        headers: { origin: ORIGIN, cookie },
        rejectUnauthorized: false,
      })
      const socket = new TestSocket(ws)
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve())
        ws.once('error', reject)
        ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)))
      })
      await socket.waitFor('hello')
      await socket.subscribe(roomId)
      const clientId = crypto.randomUUID()
      socket.send({ type: 'send', roomId, clientId, body: 'over wss through nginx' })
      expect((await socket.waitFor('ack', (f) => f.clientId === clientId)).seq).toBeGreaterThan(0)
      await socket.close()
    })
  },
)
