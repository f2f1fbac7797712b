import { beforeAll, expect, it } from 'vitest'
import { LIMITS } from '../../shared/limits.ts'
import type { ErrorFrame } from '../../shared/protocol.ts'
import { type Agent, signUp, useTestApp } from '../support/app.ts'
import { describeEachEngine } from '../support/databases.ts'
import { connect, createRoom, postMessage, until } from '../support/ws.ts'

describeEachEngine('ws application ping', (engine) => {
  const ctx = useTestApp(engine)
  let agent: Agent
  beforeAll(async () => {
    await ctx.app.listen({ port: 0, host: '127.0.0.1' })
    agent = await signUp(ctx.app)
  })

  it('ping is answered by pong with the same id, in order', async () => {
    const socket = await connect(ctx.app, agent)
    const ids = [0, 1, 42, Number.MAX_SAFE_INTEGER]
    for (const id of ids) socket.send({ type: 'ping', id })
    await until(() => socket.frames.filter((f) => f.type === 'pong').length === ids.length, 'every pong')
    expect(socket.frames.filter((f) => f.type === 'pong')).toEqual(ids.map((id) => ({ type: 'pong', id })))
    expect(socket.frames.some((f) => f.type === 'error')).toBe(false)
    await socket.close()
  })

  it.each([
    ['no id', { type: 'ping' }],
    ['a negative id', { type: 'ping', id: -1 }],
    ['a fractional id', { type: 'ping', id: 1.5 }],
    ['a string id', { type: 'ping', id: '7' }],
    ['an id past the safe integers', { type: 'ping', id: 2 ** 53 }],
    ['an extra field', { type: 'ping', id: 3, echo: 'x'.repeat(100) }],
  ])('a ping with %s → validation_failed; the socket stays usable', async (_name, frame) => {
    const socket = await connect(ctx.app, agent)
    socket.send(frame)
    const error = await socket.waitFor('error')
    expect(error).toMatchObject({ type: 'error', code: 'validation_failed' } satisfies Partial<ErrorFrame>)
    expect(socket.frames.some((f) => f.type === 'pong')).toBe(false)

    socket.send({ type: 'ping', id: 9 })
    expect(await socket.waitFor('pong')).toEqual({ type: 'pong', id: 9 })
    const roomId = await createRoom(agent)
    await socket.subscribe(roomId)
    const seq = await postMessage(agent, roomId)
    await until(() => socket.lastSeq(roomId) === seq, 'a live event after the bad ping')
    await socket.close()
  })

  it(`pings count toward the per-socket frame limit (${LIMITS.wsFrameBurst} at once)`, async () => {
    const socket = await connect(ctx.app, agent)
    const sent = LIMITS.wsFrameBurst + 5
    for (let id = 0; id < sent; id++) socket.send({ type: 'ping', id })
    await until(() => socket.frames.length === 1 + sent, 'an answer to every ping')
    const pongs = socket.frames.filter((f) => f.type === 'pong')
    const refused = socket.frames.filter((f): f is ErrorFrame => f.type === 'error')
    expect(pongs.map((p) => p.id)).toEqual(Array.from({ length: pongs.length }, (_, id) => id))
    expect(pongs.length).toBeGreaterThanOrEqual(LIMITS.wsFrameBurst)
    expect(refused.length).toBeGreaterThan(0)
    for (const error of refused) {
      expect(error.code).toBe('rate_limited')
      expect(error.retryAfterMs).toBeGreaterThan(0)
    }
    expect(socket.isOpen).toBe(true)
    await socket.close()
  })
})
