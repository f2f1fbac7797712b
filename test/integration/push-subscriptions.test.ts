import { randomUUID } from 'node:crypto'
import { beforeAll, expect, it } from 'vitest'
import { loadVapidKeys } from '../../server/push/vapid-keys.ts'
import { LIMITS } from '../../shared/limits.ts'
import { createRoom, expectError, join } from '../support/api.ts'
import { type Agent, signUp, useTestApp } from '../support/app.ts'
import { describeEachEngine } from '../support/databases.ts'
import { newDevice } from '../support/push-receiver.ts'

/**
 * Issue 10, the server's HTTP half (docs/PUSH.md, docs/API.md): the VAPID key, device
 * subscriptions tied to the session, per-room notify levels, and every bad input answered with a
 * typed error that changes nothing. Private endpoints are refused here (the default config).
 */
describeEachEngine('push subscriptions and notify levels', (engine) => {
  const ctx = useTestApp(engine)
  let ana: Agent
  let ben: Agent
  beforeAll(async () => {
    ana = await signUp(ctx.app)
    ben = await signUp(ctx.app)
  })

  /** A public address literal: accepted without a DNS lookup, never contacted by these tests. */
  const endpoint = () => `https://93.184.216.34/push/${randomUUID()}`
  const device = newDevice()
  const keys = { p256dh: device.p256dh, auth: device.auth }
  const register = (agent: Agent, body: unknown) => agent.request('POST', '/api/push/subscriptions', body)

  async function stored() {
    return ctx.app.db.selectFrom('push_subscriptions').selectAll().orderBy('created_at').execute()
  }

  it('GET /api/push/key answers one stable VAPID public key, generated once, to signed-in users only', async () => {
    const response = await ana.request('GET', '/api/push/key')
    expect(response.statusCode, response.body).toBe(200)
    const { publicKey } = response.json()
    expect(Buffer.from(publicKey, 'base64url')).toHaveLength(65)
    // Processes starting at once each offer a pair; all end up with the stored one.
    const again = await Promise.all([1, 2, 3].map(() => loadVapidKeys(ctx.app.db, ctx.app.config.push)))
    expect(again.map((k) => k.publicKey)).toEqual([publicKey, publicKey, publicKey])
    expectError(await ctx.app.inject({ method: 'GET', url: '/api/push/key' }), 401, 'unauthorized')
  })

  it('registers an endpoint: 201 new, 200 again with the same id (idempotent), moved to the presenting session', async () => {
    const url = endpoint()
    const first = await register(ana, { endpoint: url, expirationTime: null, keys })
    expect(first.statusCode, first.body).toBe(201)
    const { id } = first.json().subscription
    const again = await register(ana, { endpoint: url, keys })
    expect(again.statusCode, again.body).toBe(200)
    expect(again.json()).toEqual({ subscription: { id } })

    // The same user signed in again on that browser (a new session): the endpoint follows it.
    const login = await ctx.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      headers: { 'content-type': 'application/json' },
      payload: { username: ana.user.username, password: 'correct horse battery' },
    })
    const cookie = login.cookies.map((c) => `${c.name}=${c.value}`).join('; ')
    const before = (await stored()).find((row) => row.id === id)!.session_id
    const moved = await ctx.app.inject({
      method: 'POST',
      url: '/api/push/subscriptions',
      headers: { cookie, 'content-type': 'application/json' },
      payload: { endpoint: url, keys },
    })
    expect(moved.statusCode, moved.body).toBe(200)
    expect(moved.json().subscription.id).toBe(id)
    const after = (await stored()).filter((row) => row.endpoint === url)
    expect(after).toHaveLength(1)
    expect(after[0]!.session_id).not.toBe(before)
  })

  it.each([
    ['http:', 'http://93.184.216.34/push'],
    ['not a URL', 'push-service'],
    ['credentials', 'https://user:pw@93.184.216.34/push'],
    ['loopback v4', 'https://127.0.0.1/push'],
    ['loopback v4, other /8', 'https://127.9.9.9:8443/push'],
    ['localhost (resolves to loopback)', 'https://localhost/push'],
    ['loopback v6', 'https://[::1]/push'],
    ['IPv4-mapped loopback', 'https://[::ffff:127.0.0.1]/push'],
    ['IPv4-mapped private', 'https://[::ffff:a00:1]/push'],
    ['private 10/8', 'https://10.1.2.3/push'],
    ['private 172.16/12', 'https://172.20.0.1/push'],
    ['private 192.168/16', 'https://192.168.1.1/push'],
    ['link-local (metadata)', 'https://169.254.169.254/latest'],
    ['link-local v6', 'https://[fe80::1]/push'],
    ['unique-local v6', 'https://[fd12:3456::1]/push'],
    ['unspecified v4', 'https://0.0.0.0/push'],
    ['unspecified v6', 'https://[::]/push'],
    ['decimal-encoded loopback', 'https://2130706433/push'],
  ])('refuses an endpoint (%s) with validation_failed, storing nothing', async (_what, url) => {
    const count = (await stored()).length
    expectError(await register(ben, { endpoint: url, keys }), 400, 'validation_failed')
    expect(await stored()).toHaveLength(count)
  })

  it.each([
    ['endpoint a number', { endpoint: 42, keys }],
    ['endpoint too long', { endpoint: `https://93.184.216.34/${'a'.repeat(LIMITS.pushEndpointMax)}`, keys }],
    ['no keys', { endpoint: 'https://93.184.216.34/p' }],
    [
      'p256dh too long',
      { endpoint: 'https://93.184.216.34/p', keys: { ...keys, p256dh: 'A'.repeat(LIMITS.pushKeyMax + 1) } },
    ],
    [
      'auth too long',
      { endpoint: 'https://93.184.216.34/p', keys: { ...keys, auth: 'A'.repeat(LIMITS.pushAuthMax + 1) } },
    ],
    ['p256dh not base64url', { endpoint: 'https://93.184.216.34/p', keys: { ...keys, p256dh: 'abc+/=' } }],
    [
      'p256dh 64 bytes',
      { endpoint: 'https://93.184.216.34/p', keys: { ...keys, p256dh: Buffer.alloc(64, 4).toString('base64url') } },
    ],
    [
      'p256dh off the curve',
      { endpoint: 'https://93.184.216.34/p', keys: { ...keys, p256dh: Buffer.alloc(65, 4).toString('base64url') } },
    ],
    [
      'auth 15 bytes',
      { endpoint: 'https://93.184.216.34/p', keys: { ...keys, auth: Buffer.alloc(15, 7).toString('base64url') } },
    ],
    ['auth empty', { endpoint: 'https://93.184.216.34/p', keys: { ...keys, auth: '' } }],
    ['auth a number', { endpoint: 'https://93.184.216.34/p', keys: { ...keys, auth: 5 } }],
    ['extra field', { endpoint: 'https://93.184.216.34/p', keys, userId: randomUUID() }],
    ['extra key field', { endpoint: 'https://93.184.216.34/p', keys: { ...keys, extra: 'x' } }],
    ['negative expirationTime', { endpoint: 'https://93.184.216.34/p', keys, expirationTime: -1 }],
    ['an array', [{ endpoint: 'https://93.184.216.34/p', keys }]],
  ])('refuses a bad body (%s) with validation_failed, storing nothing', async (_what, body) => {
    const count = (await stored()).length
    expectError(await register(ben, body), 400, 'validation_failed')
    expect(await stored()).toHaveLength(count)
  })

  it(`keeps at most ${LIMITS.pushSubscriptionsPerUserMax} per user, dropping the oldest registered`, async () => {
    const cy = await signUp(ctx.app)
    const ids: string[] = []
    for (let i = 0; i <= LIMITS.pushSubscriptionsPerUserMax; i++) {
      const response = await register(cy, { endpoint: endpoint(), keys })
      expect(response.statusCode, response.body).toBe(201)
      ids.push(response.json().subscription.id)
    }
    const mine = (await stored()).filter((row) => row.user_id === cy.user.id).map((row) => row.id)
    expect(mine).toHaveLength(LIMITS.pushSubscriptionsPerUserMax)
    expect(mine).not.toContain(ids[0])
    expect(new Set(mine)).toEqual(new Set(ids.slice(1)))
  })

  it("unregisters: 204 for one's own; another user's or an unknown id is 404 and changes nothing", async () => {
    const { id } = (await register(ana, { endpoint: endpoint(), keys })).json().subscription
    expectError(await ben.request('DELETE', `/api/push/subscriptions/${id}`), 404, 'not_found')
    expect((await stored()).some((row) => row.id === id)).toBe(true)
    expectError(await ana.request('DELETE', `/api/push/subscriptions/${randomUUID()}`), 404, 'not_found')
    expectError(await ana.request('DELETE', '/api/push/subscriptions/not-a-uuid'), 400, 'validation_failed')
    const response = await ana.request('DELETE', `/api/push/subscriptions/${id}`)
    expect(response.statusCode, response.body).toBe(204)
    expect((await stored()).some((row) => row.id === id)).toBe(false)
    expectError(await ana.request('DELETE', `/api/push/subscriptions/${id}`), 404, 'not_found')
  })

  it("logging out removes the device's subscriptions, not the user's other devices'", async () => {
    const dee = await signUp(ctx.app)
    const login = await ctx.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      headers: { 'content-type': 'application/json' },
      payload: { username: dee.user.username, password: 'correct horse battery' },
    })
    const otherCookie = login.cookies.map((c) => `${c.name}=${c.value}`).join('; ')
    const mine = (await register(dee, { endpoint: endpoint(), keys })).json().subscription.id
    const other = await ctx.app.inject({
      method: 'POST',
      url: '/api/push/subscriptions',
      headers: { cookie: otherCookie, 'content-type': 'application/json' },
      payload: { endpoint: endpoint(), keys },
    })
    expect(other.statusCode, other.body).toBe(201)
    const logout = await dee.request('POST', '/api/auth/logout')
    expect(logout.statusCode, logout.body).toBe(204)
    const left = (await stored()).filter((row) => row.user_id === dee.user.id).map((row) => row.id)
    expect(left).toEqual([other.json().subscription.id])
    expect(left).not.toContain(mine)
  })

  it('notify levels: members set theirs per room, GET lists those not `all`, others are refused', async () => {
    const room = await createRoom(ana, 'public')
    const secret = await createRoom(ana, 'private')
    expect((await ana.request('GET', '/api/notifications')).json()).toEqual({ rooms: [] })
    const muted = await ana.request('PUT', `/api/rooms/${room.id}/notifications`, { level: 'mentions' })
    expect(muted.statusCode, muted.body).toBe(200)
    expect(muted.json()).toEqual({ roomId: room.id, level: 'mentions' })
    const none = await ana.request('PUT', `/api/rooms/${secret.id}/notifications`, { level: 'none' })
    expect(none.json()).toEqual({ roomId: secret.id, level: 'none' })
    const listed = (await ana.request('GET', '/api/notifications')).json().rooms
    expect(listed).toHaveLength(2)
    expect(listed).toEqual(
      expect.arrayContaining([
        { roomId: room.id, level: 'mentions' },
        { roomId: secret.id, level: 'none' },
      ]),
    )
    // Idempotent, last write wins; back to `all` leaves the list.
    await ana.request('PUT', `/api/rooms/${room.id}/notifications`, { level: 'all' })
    expect((await ana.request('GET', '/api/notifications')).json()).toEqual({
      rooms: [{ roomId: secret.id, level: 'none' }],
    })

    // Non-members: a public room says not_member; a private one does not exist for them.
    expectError(await ben.request('PUT', `/api/rooms/${room.id}/notifications`, { level: 'none' }), 403, 'not_member')
    expectError(await ben.request('PUT', `/api/rooms/${secret.id}/notifications`, { level: 'none' }), 404, 'not_found')
    expectError(
      await ben.request('PUT', `/api/rooms/${randomUUID()}/notifications`, { level: 'none' }),
      404,
      'not_found',
    )
    await join(ben, room.id)
    for (const body of [{ level: 'quiet' }, { level: 1 }, {}, { level: 'none', roomId: room.id }, null]) {
      expectError(await ben.request('PUT', `/api/rooms/${room.id}/notifications`, body), 400, 'validation_failed')
    }
    expect((await ben.request('GET', '/api/notifications')).json()).toEqual({ rooms: [] })
    expectError(await ctx.app.inject({ method: 'GET', url: '/api/notifications' }), 401, 'unauthorized')
  })
})
