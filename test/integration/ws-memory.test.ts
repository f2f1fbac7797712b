import type { IncomingMessage } from 'node:http'
import v8 from 'node:v8'
import vm from 'node:vm'
import { beforeAll, expect, it } from 'vitest'
import { type Agent, signUp, useTestApp } from '../support/app.ts'
import { describeEachEngine } from '../support/databases.ts'
import { connect, createRoom } from '../support/ws.ts'

// A full collection on demand, without starting the test process with --expose-gc.
v8.setFlagsFromString('--expose-gc')
const collectGarbage = vm.runInNewContext('gc') as () => void

/** A fresh macrotask: WeakRefs made in the previous one may be cleared now. */
const nextTask = () => new Promise((resolve) => setImmediate(resolve))

describeEachEngine('ws memory per socket', (engine) => {
  const ctx = useTestApp(engine)
  let agent: Agent
  beforeAll(async () => {
    await ctx.app.listen({ port: 0, host: '127.0.0.1' })
    agent = await signUp(ctx.app)
  })

  it('an open socket keeps neither its upgrade request nor the Fastify request, reply and response around it', async () => {
    // Every one of them reaches the raw request: if it is collected, so were they.
    const upgrades: Array<WeakRef<IncomingMessage>> = []
    const track = (request: IncomingMessage) => upgrades.push(new WeakRef(request))
    ctx.app.server.on('upgrade', track)
    const socket = await connect(ctx.app, agent)
    ctx.app.server.off('upgrade', track)
    const roomId = await createRoom(agent)
    await socket.subscribe(roomId)

    await nextTask()
    collectGarbage()
    expect(upgrades).toHaveLength(1)
    expect(upgrades[0]!.deref()).toBeUndefined()

    // Still a working socket.
    socket.send({ type: 'ping', id: 1 })
    expect(await socket.waitFor('pong')).toEqual({ type: 'pong', id: 1 })
    await socket.close()
  })
})
