/**
 * Layering: the db and pwa layers do not reach up into the UI state. They
 * report through hooks the state layer registers at boot (main.tsx):
 * `onDbBlocked(fn)` and `registerServiceWorker({ onUpdateReady })`.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { OpenHooks } from '../../client/db/open.ts'

const opened: OpenHooks[] = []
vi.mock('../../client/db/open.ts', () => ({
  openFerryDb: (hooks: OpenHooks) => {
    opened.push(hooks)
    return new Promise(() => undefined)
  },
}))

class FakeWorkbox {
  static last: FakeWorkbox | null = null
  static registerFails = false
  listeners = new Map<string, Array<() => void>>()
  skipped = false
  constructor() {
    FakeWorkbox.last = this
  }
  addEventListener(name: string, fn: () => void) {
    this.listeners.set(name, [...(this.listeners.get(name) ?? []), fn])
  }
  emit(name: string) {
    for (const fn of this.listeners.get(name) ?? []) fn()
  }
  register() {
    return FakeWorkbox.registerFails ? Promise.reject(new TypeError('bad script')) : Promise.resolve(undefined)
  }
  update() {
    return Promise.resolve()
  }
  messageSkipWaiting() {
    this.skipped = true
  }
}
vi.mock('workbox-window', () => ({ Workbox: FakeWorkbox }))

afterEach(() => {
  vi.restoreAllMocks()
  vi.unstubAllEnvs()
})

describe('getDb', () => {
  it('tells the registered handlers when an upgrade waits for other tabs, and only logs without one', async () => {
    const { getDb, onDbBlocked } = await import('../../client/db/page.ts')
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined)
    void getDb()
    expect(opened).toHaveLength(1)
    opened[0]!.onBlocked?.()
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('[ferry]'))

    const told: string[] = []
    const off = onDbBlocked(() => told.push('blocked'))
    opened[0]!.onBlocked?.()
    expect(told).toEqual(['blocked'])
    off()
    opened[0]!.onBlocked?.()
    expect(told).toEqual(['blocked'])
  })

  it('does not import the UI state', async () => {
    const source = await import('node:fs').then((fs) => fs.readFileSync('client/db/page.ts', 'utf8'))
    expect(source).not.toMatch(/from '\.\.\/state\//)
  })
})

describe('registerServiceWorker', () => {
  it('hands the update to onUpdateReady, and logs a failed registration instead of dropping it', async () => {
    vi.stubEnv('DEV', false)
    vi.stubGlobal('navigator', { ...navigator, serviceWorker: {} })
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined)
    const { registerServiceWorker } = await import('../../client/pwa/register.ts')
    FakeWorkbox.registerFails = true
    let apply: (() => void) | null = null
    await registerServiceWorker({
      onUpdateReady: (fn) => {
        apply = fn
      },
    })
    await new Promise((resolve) => setImmediate(resolve))
    expect(warn).toHaveBeenCalledWith(
      expect.stringContaining('[ferry] registering the service worker'),
      expect.any(TypeError),
    )

    const wb = FakeWorkbox.last!
    wb.emit('waiting')
    expect(apply).toBeTypeOf('function')
    apply!()
    expect(wb.skipped).toBe(true)
    vi.unstubAllGlobals()
  })

  it('does not import the UI state', async () => {
    const source = await import('node:fs').then((fs) => fs.readFileSync('client/pwa/register.ts', 'utf8'))
    expect(source).not.toMatch(/from '\.\.\/state\//)
  })
})
