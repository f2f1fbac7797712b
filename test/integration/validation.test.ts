import { randomUUID } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { buildApp } from '../../server/app.ts'
import { createDatabase } from '../../server/db/database.ts'
import { createRoom, expectError, sendMessage } from '../support/api.ts'
import { type Agent, signUp, TEST_ORIGIN, testConfig, useTestApp } from '../support/app.ts'
import { describeEachEngine } from '../support/databases.ts'

/** A request with the agent's cookie and full control over headers and the raw payload. */
function raw(
  ctx: { app: import('fastify').FastifyInstance },
  agent: Agent,
  method: 'GET' | 'POST',
  url: string,
  options: { headers?: Record<string, string>; payload?: string } = {},
) {
  return ctx.app.inject({
    method,
    url,
    headers: { cookie: agent.cookie, ...options.headers },
    ...(options.payload === undefined ? {} : { payload: options.payload }),
  })
}

describeEachEngine('HTTP validation, errors and CSRF', (engine) => {
  const ctx = useTestApp(engine)

  describe('validation', () => {
    it('refuses malformed JSON with 400 bad_request', async () => {
      const alice = await signUp(ctx.app)
      const room = await createRoom(alice)
      for (const payload of ['{', '{"clientId": ', 'not json', '{"a":1}}', "{'single':'quotes'}"]) {
        const response = await raw(ctx, alice, 'POST', `/api/rooms/${room.id}/messages`, {
          headers: { 'content-type': 'application/json' },
          payload,
        })
        expectError(response, 400, 'bad_request')
      }
      // Prototype pollution attempts are refused outright.
      const proto = await raw(ctx, alice, 'POST', '/api/rooms', {
        headers: { 'content-type': 'application/json' },
        payload: '{"name":"x","visibility":"public","__proto__":{"admin":true}}',
      })
      expect(proto.statusCode).toBe(400)
      expect(['bad_request', 'validation_failed']).toContain(proto.json().error.code)
    })

    it('refuses unknown fields, wrong types and missing fields with 400 validation_failed', async () => {
      const alice = await signUp(ctx.app)
      const cases: Array<[string, unknown]> = [
        ['/api/auth/signup', { username: 'valid_name', password: 'long enough', extra: 1 }],
        ['/api/auth/signup', { username: 'valid_name' }],
        ['/api/auth/signup', { username: ['valid_name'], password: 'long enough' }],
        ['/api/auth/login', {}],
        ['/api/rooms', { name: 'x', visibility: 'public', extra: true }],
        ['/api/rooms', { name: 'x', visibility: 1 }],
        ['/api/rooms', {}],
      ]
      for (const [url, body] of cases) {
        const response = await alice.request('POST', url, body)
        expectError(response, 400, 'validation_failed')
      }
      const unknown = await alice.request('POST', '/api/rooms', { name: 'x', visibility: 'public', colour: 'red' })
      expect(unknown.json().error.message).toMatch(/colour/)
      // An empty body where one is required is a missing body, not a crash.
      const empty = await raw(ctx, alice, 'POST', '/api/rooms', { headers: { 'content-type': 'application/json' } })
      expectError(empty, 400, 'validation_failed')
    })

    it('refuses a bad uuid in the path with 400', async () => {
      const alice = await signUp(ctx.app)
      for (const id of ['not-a-uuid', '123', `${randomUUID()}x`, 'g0000000-0000-0000-0000-000000000000']) {
        expectError(await alice.request('GET', `/api/rooms/${id}`), 400, 'validation_failed')
        expectError(await alice.request('GET', `/api/rooms/${id}/messages`), 400, 'validation_failed')
        expectError(
          await alice.request('POST', `/api/rooms/${id}/messages`, { clientId: randomUUID(), body: 'x' }),
          400,
          'validation_failed',
        )
      }
    })

    it('refuses bad query parameters with 400', async () => {
      const alice = await signUp(ctx.app)
      const room = await createRoom(alice)
      await sendMessage(alice, room.id, 'one')
      const bad = [
        '/messages?limit=0',
        '/messages?limit=101',
        '/messages?limit=abc',
        '/messages?limit=1.5',
        '/messages?before=',
        '/messages?limit=',
        '/messages?before=-1',
        '/messages?before=x',
        '/messages?cursor=3',
        '/events?after=-1',
        '/events?after=abc',
        '/events?limit=0',
        '/events?limit=501',
        '/events?since=0',
        `/events?after=${'9'.repeat(30)}`,
        // A number is written in plain decimal digits: no other spelling of 5.
        '/messages?limit=0x5',
        '/messages?limit=%2B5',
        '/messages?limit=5e0',
        '/messages?limit=05',
        '/messages?limit=%205',
        '/messages?limit=5.0',
        '/events?after=-0',
      ]
      for (const query of bad) {
        const response = await alice.request('GET', `/api/rooms/${room.id}${query}`)
        expectError(response, 400, 'validation_failed')
      }
      for (const query of ['/messages?limit=100', '/messages?limit=1&before=5', '/events?after=0&limit=500']) {
        expect((await alice.request('GET', `/api/rooms/${room.id}${query}`)).statusCode).toBe(200)
      }
    })

    it('refuses a query parameter on an API route that takes none (as docs/API.md says), and changes nothing', async () => {
      const alice = await signUp(ctx.app)
      const room = await createRoom(alice)
      const gets = ['/api/rooms', '/api/auth/me', `/api/rooms/${room.id}`, `/api/rooms/${room.id}/members`]
      for (const url of gets) {
        expectError(await alice.request('GET', `${url}?limit=abc`), 400, 'validation_failed')
        expect((await alice.request('GET', url)).statusCode).toBe(200)
      }
      expectError(await alice.request('POST', `/api/rooms/${room.id}/leave?x=1`, {}), 400, 'validation_failed')
      const after = await alice.request('GET', `/api/rooms/${room.id}`)
      expect(after.json().room.role).toBe('owner')
      // Pages and the health check are not the API: a tracking parameter on a link still opens the app.
      expect((await ctx.app.inject({ method: 'GET', url: '/healthz?probe=1' })).statusCode).toBe(200)
    })

    it('refuses bodies over 64 KiB with 413 payload_too_large', async () => {
      const alice = await signUp(ctx.app)
      const room = await createRoom(alice)
      const response = await raw(ctx, alice, 'POST', `/api/rooms/${room.id}/messages`, {
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify({ clientId: randomUUID(), body: 'x'.repeat(65 * 1024) }),
      })
      expectError(response, 413, 'payload_too_large')
      // Just under the limit is parsed (and then refused for its length, not its size).
      const under = await raw(ctx, alice, 'POST', `/api/rooms/${room.id}/messages`, {
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify({ clientId: randomUUID(), body: 'x'.repeat(6000) }),
      })
      expectError(under, 400, 'message_too_long')
      const rows = await ctx.database.db
        .selectFrom('room_events')
        .select('seq')
        .where('room_id', '=', room.id)
        .execute()
      expect(rows).toHaveLength(0)
    })

    it('answers an unknown route with a 404 JSON error', async () => {
      const alice = await signUp(ctx.app)
      expectError(await alice.request('GET', '/api/nope'), 404, 'not_found')
      expectError(await alice.request('POST', '/api/rooms/x/y/z', {}), 404, 'not_found')
      expectError(await ctx.app.inject({ method: 'GET', url: '/definitely/not/here?x=1' }), 404, 'not_found')
      const wrongMethod = await ctx.app.inject({ method: 'DELETE', url: '/api/rooms' })
      expect(wrongMethod.statusCode).toBeGreaterThanOrEqual(400)
      expect(wrongMethod.json().error.code).toMatch(/^(not_found|csrf_rejected)$/)
    })
  })

  describe('CSRF', () => {
    it('refuses a state-changing request that is not application/json with 403 csrf_rejected', async () => {
      const alice = await signUp(ctx.app)
      const room = await createRoom(alice)
      const body = JSON.stringify({ clientId: randomUUID(), body: 'forged' })
      for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
        const response = await raw(ctx, alice, 'POST', `/api/rooms/${room.id}/messages`, {
          headers: { 'content-type': type },
          payload: body,
        })
        expectError(response, 403, 'csrf_rejected')
      }
      // No content type at all (a bodiless POST): refused too, so logout cannot be forged.
      expectError(await raw(ctx, alice, 'POST', '/api/auth/logout'), 403, 'csrf_rejected')
      expect((await alice.request('GET', '/api/auth/me')).statusCode).toBe(200)
      const rows = await ctx.database.db
        .selectFrom('room_events')
        .select('seq')
        .where('room_id', '=', room.id)
        .execute()
      expect(rows).toHaveLength(0)
      // Sign-up and login are guarded as well (login CSRF).
      const login = await ctx.app.inject({
        method: 'POST',
        url: '/api/auth/login',
        headers: { 'content-type': 'text/plain' },
        payload: JSON.stringify({ username: alice.user.username, password: 'correct horse battery' }),
      })
      expectError(login, 403, 'csrf_rejected')
      expect(login.cookies).toHaveLength(0)
    })

    it('refuses a foreign Origin with 403 and accepts the allowed origins', async () => {
      const alice = await signUp(ctx.app)
      const room = await createRoom(alice)
      const send = (origin: string) =>
        raw(ctx, alice, 'POST', `/api/rooms/${room.id}/messages`, {
          headers: { 'content-type': 'application/json', origin },
          payload: JSON.stringify({ clientId: randomUUID(), body: `from ${origin}` }),
        })
      for (const origin of ['https://evil.example', 'null', 'http://127.0.0.1:3001', 'https://127.0.0.1:3000']) {
        expectError(await send(origin), 403, 'csrf_rejected')
      }
      expect((await send(TEST_ORIGIN)).statusCode).toBe(201)
      expect((await send('http://localhost:3000')).statusCode).toBe(201)
      const withCharset = await raw(ctx, alice, 'POST', `/api/rooms/${room.id}/messages`, {
        headers: { 'content-type': 'application/json; charset=utf-8', origin: TEST_ORIGIN },
        payload: JSON.stringify({ clientId: randomUUID(), body: 'charset is fine' }),
      })
      expect(withCharset.statusCode).toBe(201)
      const rows = await ctx.database.db
        .selectFrom('room_events')
        .select('body')
        .where('room_id', '=', room.id)
        .orderBy('seq')
        .execute()
      expect(rows.map((r) => r.body)).toEqual([`from ${TEST_ORIGIN}`, 'from http://localhost:3000', 'charset is fine'])
    })

    it('lets safe methods through whatever the Origin', async () => {
      const alice = await signUp(ctx.app)
      const response = await raw(ctx, alice, 'GET', '/api/auth/me', { headers: { origin: 'https://evil.example' } })
      expect(response.statusCode).toBe(200)
    })
  })
})

describeEachEngine('HTTP: allowed origins from the config', (engine) => {
  const ctx = useTestApp(engine, { allowedOrigins: ['https://chat.example.com'] })

  it('accepts the configured origin and refuses the default one', async () => {
    const alice = await signUp(ctx.app)
    const create = (origin: string) =>
      raw(ctx, alice, 'POST', '/api/rooms', {
        headers: { 'content-type': 'application/json', origin },
        payload: JSON.stringify({ name: 'o', visibility: 'public' }),
      })
    expect((await create('https://chat.example.com')).statusCode).toBe(201)
    expectError(await create(TEST_ORIGIN), 403, 'csrf_rejected')
  })
})

describe('HTTP: failures on our side never leak internals', () => {
  it('answers 500 internal with a generic message and /healthz 503 when the database is gone', async () => {
    // A PostgreSQL URL where nothing listens: every query fails inside the driver.
    const database = await createDatabase({ databaseUrl: 'postgres://postgres@127.0.0.1:1/nothing', poolSize: 1 })
    const app = await buildApp({ config: testConfig(), database, serveClient: false })
    try {
      const health = await app.inject({ method: 'GET', url: '/healthz' })
      expectError(health, 503, 'unavailable')
      const me = await app.inject({ method: 'GET', url: '/api/auth/me', cookies: { ferry_session: 'some-token' } })
      expectError(me, 500, 'internal')
      expect(me.json().error.message).toBe('Something went wrong on our side')
      expect(me.body).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|connect/)
      const login = await app.inject({
        method: 'POST',
        url: '/api/auth/login',
        headers: { 'content-type': 'application/json' },
        payload: { username: 'someone', password: 'some password' },
      })
      expectError(login, 500, 'internal')
      expect(login.body).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|connect/)
    } finally {
      await app.close()
      await database.close()
    }
  })
})

describe('HTTP: serving the built client', () => {
  it('serves the shell and assets, falls back to the shell for client routes, and keeps JSON 404s', async () => {
    const clientDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-client-'))
    fs.mkdirSync(path.join(clientDir, 'assets'))
    fs.writeFileSync(path.join(clientDir, 'index.html'), '<!doctype html><title>Ferry shell</title>')
    fs.writeFileSync(path.join(clientDir, 'assets', 'app-1234.js'), 'console.log(1)')
    // No query reaches the database here.
    const database = await createDatabase({ databaseUrl: 'postgres://postgres@127.0.0.1:1/nothing', poolSize: 1 })
    const app = await buildApp({ config: testConfig({ clientDir }), database })
    try {
      const shell = await app.inject({ method: 'GET', url: '/' })
      expect(shell.statusCode).toBe(200)
      expect(shell.body).toContain('Ferry shell')
      expect(shell.headers['cache-control']).toBe('no-cache')
      expect(shell.headers['content-security-policy']).toContain("default-src 'self'")
      const asset = await app.inject({ method: 'GET', url: '/assets/app-1234.js' })
      expect(asset.statusCode).toBe(200)
      expect(asset.headers['cache-control']).toContain('immutable')
      const route = await app.inject({ method: 'GET', url: '/rooms/some-room?x=1' })
      expect(route.statusCode).toBe(200)
      expect(route.body).toContain('Ferry shell')

      expectError(await app.inject({ method: 'GET', url: '/api/nope' }), 404, 'not_found')
      expectError(await app.inject({ method: 'GET', url: '/missing.js' }), 404, 'not_found')
      expectError(
        await app.inject({ method: 'POST', url: '/nope', headers: { 'content-type': 'application/json' } }),
        404,
        'not_found',
      )
    } finally {
      await app.close()
      await database.close()
      fs.rmSync(clientDir, { recursive: true, force: true })
    }
  })
})
