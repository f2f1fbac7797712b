import type { FastifyInstance } from 'fastify'
import { describe, expect, it } from 'vitest'
import { SESSION_COOKIE, sessionIdOf } from '../../server/auth/sessions.ts'
import { expectError } from '../support/api.ts'
import { signUp, TEST_ORIGIN, uniqueName, useTestApp } from '../support/app.ts'
import { describeEachEngine } from '../support/databases.ts'

const PASSWORD = 'correct horse battery'

function post(app: FastifyInstance, url: string, payload: unknown, headers: Record<string, string> = {}) {
  return app.inject({
    method: 'POST',
    url,
    headers: { 'content-type': 'application/json', ...headers },
    payload: JSON.stringify(payload),
  })
}

interface SetCookie {
  name: string
  value: string
  path?: string
  expires?: Date
  httpOnly?: boolean
  secure?: boolean
  sameSite?: string
}

const sessionCookieOf = (response: { cookies: Array<object> }) =>
  (response.cookies as SetCookie[]).find((c) => c.name === SESSION_COOKIE)

const me = (app: FastifyInstance, token: string) =>
  app.inject({ method: 'GET', url: '/api/auth/me', cookies: { [SESSION_COOKIE]: token } })

describeEachEngine('auth', (engine) => {
  const ctx = useTestApp(engine)

  describe('sign-up', () => {
    it('creates the user, answers 201 {user} and signs in with an HttpOnly SameSite=Lax cookie', async () => {
      const username = uniqueName('signup')
      const response = await post(ctx.app, '/api/auth/signup', { username, password: PASSWORD })
      expect(response.statusCode).toBe(201)
      const { user } = response.json()
      expect(user).toEqual({ id: expect.any(String), username, createdAt: expect.any(String) })
      expect(Number.isNaN(Date.parse(user.createdAt))).toBe(false)
      expect(response.body).not.toContain('password')

      const cookie = sessionCookieOf(response)!
      expect(cookie).toBeDefined()
      expect(cookie.httpOnly).toBe(true)
      expect(cookie.sameSite).toBe('Lax')
      expect(cookie.path).toBe('/')
      expect(cookie.secure).toBeUndefined()
      expect(cookie.expires!.getTime()).toBeGreaterThan(Date.now() + 24 * 3_600_000)

      const who = await me(ctx.app, cookie.value)
      expect(who.statusCode).toBe(200)
      expect(who.json()).toEqual({ user })
    })

    it('stores the password as an argon2id hash and the session only as a hash of the token', async () => {
      const username = uniqueName('hash')
      const response = await post(ctx.app, '/api/auth/signup', { username, password: PASSWORD })
      const token = sessionCookieOf(response)!.value
      const row = await ctx.database.db
        .selectFrom('users')
        .select(['password_hash'])
        .where('username', '=', username)
        .executeTakeFirstOrThrow()
      expect(row.password_hash).toMatch(/^\$argon2id\$/)
      expect(row.password_hash).not.toContain(PASSWORD)
      const sessions = await ctx.database.db
        .selectFrom('sessions')
        .select('id')
        .where('user_id', '=', response.json().user.id)
        .execute()
      expect(sessions.map((s) => s.id)).toEqual([sessionIdOf(token)])
      expect(sessions[0]!.id).not.toBe(token)
    })

    it('refuses a taken username, case-insensitively, with 409 username_taken', async () => {
      const username = uniqueName('dup').toLowerCase()
      expect((await post(ctx.app, '/api/auth/signup', { username, password: PASSWORD })).statusCode).toBe(201)
      const again = await post(ctx.app, '/api/auth/signup', { username, password: 'another password' })
      expectError(again, 409, 'username_taken')
      expect(sessionCookieOf(again)).toBeUndefined()
      expectError(
        await post(ctx.app, '/api/auth/signup', { username: username.toUpperCase(), password: PASSWORD }),
        409,
        'username_taken',
      )
      const rows = await ctx.database.db.selectFrom('users').select('id').where('username', 'ilike', username).execute()
      expect(rows).toHaveLength(1)
    })

    it('enforces the username rules: 3–32 of [A-Za-z0-9_-]', async () => {
      for (const username of ['ab', 'a'.repeat(33), 'has space', 'dot.ted', 'émile', 'semi;colon', '', 'a/b']) {
        expectError(await post(ctx.app, '/api/auth/signup', { username, password: PASSWORD }), 400, 'validation_failed')
      }
      // This describe block has its own fresh database, so these fixed names are free.
      for (const username of ['abc', `Z-_${'9'.repeat(29)}`]) {
        const response = await post(ctx.app, '/api/auth/signup', { username, password: PASSWORD })
        expect(response.statusCode, `${username}: ${response.body}`).toBe(201)
        expect(response.json().user.username).toBe(username)
      }
    })

    it('enforces the password rules: at least 8 characters', async () => {
      expectError(
        await post(ctx.app, '/api/auth/signup', { username: uniqueName('pw'), password: '1234567' }),
        400,
        'validation_failed',
      )
      expectError(
        await post(ctx.app, '/api/auth/signup', { username: uniqueName('pw'), password: 'x'.repeat(257) }),
        400,
        'validation_failed',
      )
      const ok = await post(ctx.app, '/api/auth/signup', { username: uniqueName('pw'), password: '12345678' })
      expect(ok.statusCode).toBe(201)
    })
  })

  describe('login', () => {
    it('answers 200 {user} with a fresh session id at every login', async () => {
      const alice = await signUp(ctx.app)
      const signupToken = alice.cookie.split('=')[1]!
      const first = await post(ctx.app, '/api/auth/login', { username: alice.user.username, password: PASSWORD })
      expect(first.statusCode).toBe(200)
      expect(first.json().user).toMatchObject({ id: alice.user.id, username: alice.user.username })
      const firstToken = sessionCookieOf(first)!.value
      // A planted (or old) cookie on the login request is never reused.
      const second = await post(
        ctx.app,
        '/api/auth/login',
        { username: alice.user.username, password: PASSWORD },
        { cookie: `${SESSION_COOKIE}=${firstToken}` },
      )
      expect(second.statusCode).toBe(200)
      const secondToken = sessionCookieOf(second)!.value
      expect(new Set([signupToken, firstToken, secondToken]).size).toBe(3)
      expect(sessionCookieOf(second)!.httpOnly).toBe(true)
      expect((await me(ctx.app, secondToken)).json().user.id).toBe(alice.user.id)
      const rows = await ctx.database.db
        .selectFrom('sessions')
        .select('id')
        .where('user_id', '=', alice.user.id)
        .execute()
      expect(rows.map((r) => r.id)).toContain(sessionIdOf(secondToken))
      expect(rows.map((r) => r.id)).not.toContain(secondToken)
    })

    it('matches the username case-insensitively', async () => {
      const username = `Mixed_${uniqueName('c')}`.slice(0, 32)
      await post(ctx.app, '/api/auth/signup', { username, password: PASSWORD })
      const response = await post(ctx.app, '/api/auth/login', { username: username.toLowerCase(), password: PASSWORD })
      expect(response.statusCode).toBe(200)
      expect(response.json().user.username).toBe(username)
    })

    it('refuses a wrong password and an unknown user alike: 401 invalid_credentials, no cookie', async () => {
      const alice = await signUp(ctx.app)
      const wrong = await post(ctx.app, '/api/auth/login', {
        username: alice.user.username,
        password: 'wrong password',
      })
      expectError(wrong, 401, 'invalid_credentials')
      expect(sessionCookieOf(wrong)).toBeUndefined()
      const unknown = await post(ctx.app, '/api/auth/login', { username: uniqueName('nobody'), password: PASSWORD })
      expectError(unknown, 401, 'invalid_credentials')
      expect(unknown.json().error.message).toBe(wrong.json().error.message)
      // Login does not reveal the sign-up rules: a too-short guess is a plain 401.
      expectError(await post(ctx.app, '/api/auth/login', { username: 'x', password: 'y' }), 401, 'invalid_credentials')
    })

    it('refuses a malformed login body with 400', async () => {
      expectError(await post(ctx.app, '/api/auth/login', { username: 'abc' }), 400, 'validation_failed')
      expectError(
        await post(ctx.app, '/api/auth/login', { username: 'abc', password: PASSWORD, remember: true }),
        400,
        'validation_failed',
      )
      expectError(
        await post(ctx.app, '/api/auth/login', { username: 42, password: PASSWORD }),
        400,
        'validation_failed',
      )
    })
  })

  describe('logout and sessions', () => {
    it('logout answers 204, deletes the session and clears the cookie; the old cookie then gets 401', async () => {
      const alice = await signUp(ctx.app)
      const token = alice.cookie.split('=')[1]!
      const out = await alice.request('POST', '/api/auth/logout')
      expect(out.statusCode).toBe(204)
      expect(out.body).toBe('')
      const cleared = sessionCookieOf(out)!
      expect(cleared.value).toBe('')
      expect(cleared.expires!.getTime()).toBeLessThanOrEqual(Date.now())
      const row = await ctx.database.db
        .selectFrom('sessions')
        .select('id')
        .where('id', '=', sessionIdOf(token))
        .executeTakeFirst()
      expect(row).toBeUndefined()
      expectError(await alice.request('GET', '/api/auth/me'), 401, 'unauthorized')
      expectError(await alice.request('GET', '/api/rooms'), 401, 'unauthorized')
      expectError(await alice.request('POST', '/api/auth/logout'), 401, 'unauthorized')
    })

    it('logout ends only that session; another login of the same user stays signed in', async () => {
      const alice = await signUp(ctx.app)
      const other = await post(ctx.app, '/api/auth/login', { username: alice.user.username, password: PASSWORD })
      await alice.request('POST', '/api/auth/logout')
      expect((await me(ctx.app, sessionCookieOf(other)!.value)).statusCode).toBe(200)
    })

    it('an expired session is refused with 401', async () => {
      const alice = await signUp(ctx.app)
      expect((await alice.request('GET', '/api/auth/me')).statusCode).toBe(200)
      await ctx.database.db
        .updateTable('sessions')
        .set({ expires_at: new Date(Date.now() - 1000) })
        .where('user_id', '=', alice.user.id)
        .execute()
      expectError(await alice.request('GET', '/api/auth/me'), 401, 'unauthorized')
      expectError(await alice.request('POST', '/api/rooms', { name: 'x', visibility: 'public' }), 401, 'unauthorized')
    })

    it('without a cookie, or with a made-up one, every API route answers 401', async () => {
      expectError(await ctx.app.inject({ method: 'GET', url: '/api/auth/me' }), 401, 'unauthorized')
      expectError(await me(ctx.app, 'made-up-token'), 401, 'unauthorized')
      expectError(await me(ctx.app, 'x'.repeat(5000)), 401, 'unauthorized')
      expectError(await ctx.app.inject({ method: 'GET', url: '/api/rooms' }), 401, 'unauthorized')
      expectError(
        await post(ctx.app, '/api/rooms', { name: 'x', visibility: 'public' }, { origin: TEST_ORIGIN }),
        401,
        'unauthorized',
      )
    })
  })
})

describeEachEngine('auth: rate limit and Secure cookies', (engine) => {
  const ctx = useTestApp(engine, { authRateLimit: { max: 3, windowMs: 60_000 }, cookieSecure: true })

  it('sets the Secure flag on the session cookie when cookieSecure is on', async () => {
    const response = await post(ctx.app, '/api/auth/signup', { username: uniqueName('sec'), password: PASSWORD })
    expect(response.statusCode).toBe(201)
    const cookie = sessionCookieOf(response)!
    expect(cookie.secure).toBe(true)
    expect(cookie.httpOnly).toBe(true)
    expect(cookie.sameSite).toBe('Lax')
  })

  it('limits login attempts per IP: the 4th within the window is 429 rate_limited', async () => {
    const attempt = (remoteAddress: string) =>
      ctx.app.inject({
        method: 'POST',
        url: '/api/auth/login',
        remoteAddress,
        headers: { 'content-type': 'application/json' },
        payload: { username: 'nobody_here', password: 'wrong password' },
      })
    for (let i = 0; i < 3; i++) expectError(await attempt('10.0.0.1'), 401, 'invalid_credentials')
    const limited = await attempt('10.0.0.1')
    expectError(limited, 429, 'rate_limited')
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0)
    expect(limited.json().error.message).toMatch(/try again in \d+ s/)
    // Still limited; a forged X-Forwarded-For does not help (the proxy is not trusted).
    const forged = await ctx.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      remoteAddress: '10.0.0.1',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': '10.9.9.9' },
      payload: { username: 'nobody_here', password: 'wrong password' },
    })
    expectError(forged, 429, 'rate_limited')
    expect(limited.headers['x-ratelimit-limit']).toBe('3')
    expect(limited.headers['x-ratelimit-remaining']).toBe('0')
    // Each route keeps its own count: this IP may still sign up.
    const signup = await ctx.app.inject({
      method: 'POST',
      url: '/api/auth/signup',
      remoteAddress: '10.0.0.1',
      headers: { 'content-type': 'application/json' },
      payload: { username: uniqueName('rl'), password: PASSWORD },
    })
    expect(signup.statusCode).toBe(201)
    // Another IP is not affected.
    expectError(await attempt('10.0.0.2'), 401, 'invalid_credentials')
  })

  it('limits sign-ups per IP too', async () => {
    const attempt = () =>
      ctx.app.inject({
        method: 'POST',
        url: '/api/auth/signup',
        remoteAddress: '10.0.0.3',
        headers: { 'content-type': 'application/json' },
        payload: { username: uniqueName('rl'), password: PASSWORD },
      })
    for (let i = 0; i < 3; i++) expect((await attempt()).statusCode).toBe(201)
    const limited = await attempt()
    expectError(limited, 429, 'rate_limited')
    expect(sessionCookieOf(limited)).toBeUndefined()
  })
})
