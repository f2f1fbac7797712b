import { execFileSync } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runServerToExit, type ServerProcess, startServer } from '../support/server-process.ts'

const ROOT = path.resolve(import.meta.dirname, '../..')

/**
 * The real entry point, as `npm start` runs it: the server built to JavaScript
 * (into a directory of its own, so the repository's build/ is not touched),
 * embedded database, signals, restart.
 */
describe('server process on the embedded database', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-process-'))
  // Inside the repository, so the build's bare imports resolve to its node_modules.
  fs.mkdirSync(path.join(ROOT, 'node_modules/.cache'), { recursive: true })
  const buildDir = fs.mkdtempSync(path.join(ROOT, 'node_modules/.cache/ferry-process-build-'))
  const built = [path.join(buildDir, 'server/main.js')]
  let server: ServerProcess | undefined
  beforeAll(() => {
    execFileSync(
      path.join(ROOT, 'node_modules/.bin/vite'),
      ['build', '--config', 'vite.server.config.ts', '--outDir', buildDir, '--emptyOutDir'],
      { cwd: ROOT, stdio: 'pipe' },
    )
  })
  afterAll(async () => {
    await server?.stop('SIGKILL')
    fs.rmSync(dataDir, { recursive: true, force: true })
    fs.rmSync(buildDir, { recursive: true, force: true })
  })

  async function json(url: string, body: unknown, cookie = '') {
    return fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie },
      body: JSON.stringify(body),
    })
  }

  it('keeps every message across a graceful restart, and refuses a second process on the same data', async () => {
    server = await startServer({ DATA_DIR: dataDir, AUTH_RATE_LIMIT_MAX: '1000' }, 60_000, built)
    const signup = await json(`${server.url}/api/auth/signup`, { username: 'restart_user', password: 'long enough pw' })
    expect(signup.status).toBe(201)
    const cookie = signup.headers.getSetCookie()[0]!.split(';')[0]!
    const room = (await (await json(`${server.url}/api/rooms`, { name: 'Depot', visibility: 'public' }, cookie)).json())
      .room
    const sent = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        json(`${server!.url}/api/rooms/${room.id}/messages`, { clientId: randomUUID(), body: `message ${i}` }, cookie),
      ),
    )
    expect(sent.map((r) => r.status)).toEqual(Array(20).fill(201))

    // A second process on the same data directory is refused with a clear message.
    const second = await runServerToExit({ DATA_DIR: dataDir, PORT: '0' }, built)
    expect(second.code).toBe(1)
    expect(second.output).toMatch(/data directory .* is in use by another Ferry process/)

    // SIGTERM: finish, close the database, release the lock, exit 0.
    expect(await server.stop('SIGTERM')).toBe(0)
    expect(fs.existsSync(path.join(dataDir, 'ferry.lock'))).toBe(false)

    server = await startServer({ DATA_DIR: dataDir, AUTH_RATE_LIMIT_MAX: '1000' }, 60_000, built)
    const events = await (
      await fetch(`${server.url}/api/rooms/${room.id}/events?after=0`, { headers: { cookie } })
    ).json()
    expect(events.lastSeq).toBe(20)
    expect(events.events.map((e: { seq: number }) => e.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1))
    expect(await server.stop('SIGTERM')).toBe(0)
  })

  it('refuses to start with a bad variable, naming it', async () => {
    const result = await runServerToExit({ DATA_DIR: dataDir, PORT: 'eighty' }, built)
    expect(result.code).toBe(1)
    expect(result.output).toContain('PORT')
    expect(result.output).not.toMatch(/at .*\.(ts|js):\d+/)
  })
})
