import { describe, expect, it } from 'vitest'
import { expectError } from '../support/api.ts'
import { signUp, TEST_ORIGIN, useTestApp } from '../support/app.ts'

/** Every answer the framework itself gives (bad URLs, unknown routes, limits) is `{error:{code,message}}`. */
describe('every error in one shape', () => {
  const ctx = useTestApp('pglite')
  const longId = 'a'.repeat(600)

  it('a path parameter longer than the router allows: 414 uri_too_long', async () => {
    const agent = await signUp(ctx.app)
    for (const url of [`/api/rooms/${longId}`, `/api/rooms/${longId}/join`, `/api/rooms/${longId}/messages`]) {
      expectError(await agent.request('POST', url, {}), 414, 'uri_too_long')
      expectError(await agent.request('GET', url), 414, 'uri_too_long')
    }
  })

  it('a path that is not valid percent-encoded UTF-8: 400 bad_request', async () => {
    const agent = await signUp(ctx.app)
    for (const url of ['/api/rooms/%ff%fe', '/api/rooms/%ff%fe/messages', '/api/rooms/%ff%fe/events', '/api/%c0']) {
      expectError(await agent.request('GET', url), 400, 'bad_request')
    }
    expectError(await agent.request('POST', '/api/rooms/%ff%fe/join', {}), 400, 'bad_request')
  })

  it('the WebSocket route without an upgrade: 426 upgrade_required, with or without a query', async () => {
    const agent = await signUp(ctx.app)
    for (const url of ['/api/ws', '/api/ws?a=1']) {
      const response = await ctx.app.inject({
        method: 'GET',
        url,
        headers: { cookie: agent.cookie, origin: TEST_ORIGIN },
      })
      expectError(response, 426, 'upgrade_required')
    }
  })

  it('a sweep of odd URLs and methods: always a typed error, never a stack or another shape', async () => {
    const agent = await signUp(ctx.app)
    const urls = [
      '/api',
      '/api/',
      '/api/nope',
      '/api/rooms//join',
      '/api/rooms/not-a-uuid',
      '/api/rooms/00000000-0000-4000-8000-000000000000/nope',
      `/api/rooms/${'%41'.repeat(300)}`,
      '/api/rooms/%',
      '/api/rooms/%zz',
      '/api/rooms/..%2f..%2fetc%2fpasswd',
      '/api/auth/login?x=%ff',
      '/api/rooms?%ff=1',
      '/api/ws/extra',
      '/api/%00',
      `/api/${'x'.repeat(5000)}`,
    ]
    const methods = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const
    let refusals = 0
    for (const url of urls) {
      for (const method of methods) {
        const response = await ctx.app.inject({
          method,
          url,
          headers: {
            cookie: agent.cookie,
            origin: TEST_ORIGIN,
            ...(method === 'GET' || method === 'OPTIONS' ? {} : { 'content-type': 'application/json' }),
          },
          ...(method === 'GET' || method === 'OPTIONS' ? {} : { payload: '{}' }),
        })
        expect(response.statusCode, `${method} ${url}: ${response.body}`).toBeLessThan(500)
        // Every refusal has the one shape.
        if (response.statusCode >= 400) expectError(response, response.statusCode, response.json().error?.code)
        else expect(response.json(), `${method} ${url}`).not.toHaveProperty('error')
        if (response.statusCode >= 400) refusals++
      }
    }
    // All are refusals: an API route that takes no query refuses one too.
    expect(refusals).toBe(urls.length * methods.length)
  })
})
