import { expect, it } from 'vitest'
import { signUp, useTestApp } from '../support/app.ts'
import { describeEachEngine } from '../support/databases.ts'

describeEachEngine('health', (engine) => {
  const ctx = useTestApp(engine)
  it('answers /healthz when the database answers', async () => {
    const response = await ctx.app.inject({ method: 'GET', url: '/healthz' })
    expect(response.statusCode).toBe(200)
    expect(response.json()).toEqual({ status: 'ok' })
  })
  it('signs up', async () => {
    const alice = await signUp(ctx.app)
    const me = await alice.request('GET', '/api/auth/me')
    expect(me.json().user.id).toBe(alice.user.id)
  })
})
