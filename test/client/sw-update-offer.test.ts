/**
 * The update prompt must not depend on workbox-window alone: after the first `updatefound` it
 * takes for "external" it removes its listener, so an update whose install failed once (a flaky
 * link, a server mid-restart: the likely cause of update.e2e's rare "no offer within 60 s" in
 * loaded CI runs) was never offered again until a reload. The registration is watched directly too; each waiting worker is offered once.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'

class FakeWorker extends EventTarget {
  state = 'installing'
  posted: unknown[] = []
  postMessage(message: unknown) {
    this.posted.push(message)
  }
  become(state: string) {
    this.state = state
    this.dispatchEvent(new Event('statechange'))
  }
}

class FakeRegistration extends EventTarget {
  installing: FakeWorker | null = null
  waiting: FakeWorker | null = null
  /** A new worker is found and starts installing. */
  found(): FakeWorker {
    const worker = new FakeWorker()
    this.installing = worker
    this.dispatchEvent(new Event('updatefound'))
    return worker
  }
  installed(worker: FakeWorker) {
    this.installing = null
    this.waiting = worker
    worker.become('installed')
  }
  failed(worker: FakeWorker) {
    this.installing = null
    worker.become('redundant')
  }
}

const registration = new FakeRegistration()

/** workbox-window that never reports `waiting` (its listener is gone after its first external update). */
class SilentWorkbox {
  addEventListener() {}
  register() {
    return Promise.resolve(registration)
  }
  update() {
    return Promise.resolve()
  }
  messageSkipWaiting() {}
}
vi.mock('workbox-window', () => ({ Workbox: SilentWorkbox }))

afterEach(() => {
  vi.unstubAllEnvs()
  vi.unstubAllGlobals()
})

describe('the update offer', () => {
  it('offers a worker that installs after an earlier install failed, once; applying it asks that worker to take over', async () => {
    vi.stubEnv('DEV', false)
    const container = Object.assign(new EventTarget(), { controller: {} })
    vi.stubGlobal('navigator', { ...navigator, serviceWorker: container })
    const { registerServiceWorker } = await import('../../client/pwa/register.ts')
    const offers: Array<() => void> = []
    await registerServiceWorker({ onUpdateReady: (apply) => offers.push(apply) })
    await new Promise((resolve) => setImmediate(resolve))

    registration.failed(registration.found())
    expect(offers).toHaveLength(0)
    const second = registration.found()
    registration.installed(second)
    expect(offers).toHaveLength(1)
    // Found again by a later check (the same waiting worker): not offered twice.
    document.dispatchEvent(new Event('visibilitychange'))
    await new Promise((resolve) => setImmediate(resolve))
    expect(offers).toHaveLength(1)

    offers[0]!()
    expect(second.posted).toEqual([{ type: 'SKIP_WAITING' }])
  })
})
