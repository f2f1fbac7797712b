import { describe, expect, it } from 'vitest'
import type { Config } from '../../server/config.ts'
import { useTestApp } from '../support/app.ts'

/** Login attempts as they arrive from `peer` (the TCP address) carrying `forwardedFor`. */
function loginFrom(ctx: ReturnType<typeof useTestApp>, peer: string, forwardedFor: string) {
  return ctx.app.inject({
    method: 'POST',
    url: '/api/auth/login',
    remoteAddress: peer,
    headers: { 'content-type': 'application/json', 'x-forwarded-for': forwardedFor },
    payload: { username: 'nobody_here', password: 'wrong password' },
  })
}

const PROXY = '10.0.0.5'
const limit: Partial<Config> = { authRateLimit: { max: 2, windowMs: 60_000 } }

async function attempts(ctx: ReturnType<typeof useTestApp>, peer: string, forwardedFor: string, n: number) {
  const statuses: number[] = []
  for (let i = 0; i < n; i++) statuses.push((await loginFrom(ctx, peer, forwardedFor)).statusCode)
  return statuses
}

describe('TRUST_PROXY and the login rate limit', () => {
  describe('off (the default)', () => {
    const ctx = useTestApp('pglite', limit)
    it('keys on the peer address: two X-Forwarded-For values behind one proxy share one limit', async () => {
      expect(await attempts(ctx, PROXY, '203.0.113.1', 2)).toEqual([401, 401])
      expect(await attempts(ctx, PROXY, '203.0.113.2', 1)).toEqual([429])
    })
  })

  describe('true (every peer is a proxy)', () => {
    const ctx = useTestApp('pglite', { ...limit, trustProxy: true })
    it('keys on the client address the proxy forwards', async () => {
      expect(await attempts(ctx, PROXY, '203.0.113.1', 3)).toEqual([401, 401, 429])
      expect(await attempts(ctx, PROXY, '203.0.113.2', 2)).toEqual([401, 401])
    })
  })

  describe('a list of proxy addresses', () => {
    const ctx = useTestApp('pglite', { ...limit, trustProxy: ['10.0.0.0/24'] })
    it('believes the trusted proxy, and ignores the header from any other peer', async () => {
      expect(await attempts(ctx, PROXY, '203.0.113.1', 3)).toEqual([401, 401, 429])
      expect(await attempts(ctx, PROXY, '203.0.113.2', 2)).toEqual([401, 401])
      // A client reaching the server directly forges a fresh address each time: still one limit.
      expect(await attempts(ctx, '198.51.100.7', '203.0.113.10', 2)).toEqual([401, 401])
      expect(await attempts(ctx, '198.51.100.7', '203.0.113.11', 1)).toEqual([429])
    })
  })
})
