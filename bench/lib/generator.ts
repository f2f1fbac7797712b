/**
 * The parent's handle on one load generator process (bench/ws-load.ts): one
 * per server under test, connected once, then asked for one offered load at a
 * time. While a load runs it samples the server's RSS/CPU (and, for servers on
 * a bench database, that database's backends' CPU and activity).
 */
import { type ChildProcess, fork } from 'node:child_process'
import path from 'node:path'
import type { ChildMessage, LoadConfig, PhaseResult } from '../ws-protocol.ts'
import type { BusWindow } from './bus-metrics.ts'
import { ActivitySampler, type ActivitySummary } from './pg.ts'
import { pinToCpu, ROOT, roundStats, Sampler, type WindowStats } from './proc.ts'

export interface PhaseWithServer extends PhaseResult {
  /** Server process RSS/CPU and the machine's CPU split during the sending window. */
  server: WindowStats
  /** Where the server's PostgreSQL connections spent the window (servers on a bench database only). */
  postgres?: ActivitySummary
  /** The second run of a rate whose first run failed the knee's criteria. */
  retry?: boolean
  /** Ferry's bus and fan-out figures over the load (window and drain), from /metrics (the ws-scale part). */
  bus?: BusWindow
  /** The bus's server (a local redis-server) over the load, window and drain: % of one core over the sending window's length. */
  busServerCpuPct?: number
}

type Waiter = { kind: 'connected' | 'phase'; resolve: (m: ChildMessage) => void; reject: (e: Error) => void }

export class Generator {
  readonly child: ChildProcess
  #waiter: Waiter | undefined
  #phaseSampler: Sampler | undefined
  #activity: ActivitySampler | undefined
  #activityStarted: Promise<void> | undefined
  #serverStats: WindowStats | undefined
  #exited = false
  readonly exited: Promise<void>

  constructor(
    readonly serverPid: number,
    readonly database: string | undefined,
    /** The server is a process group (a cluster primary and its workers): sample all of it. */
    readonly serverGroup = false,
  ) {
    this.child = fork(path.join(ROOT, 'bench/ws-load.ts'), [], {
      cwd: ROOT,
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
    pinToCpu(this.child.pid!, 1)
    this.child.on('message', (m: ChildMessage) => this.#onMessage(m))
    this.exited = new Promise((resolve) =>
      this.child.once('exit', (code) => {
        this.#exited = true
        this.#fail(new Error(`load generator exited with ${code}`))
        resolve()
      }),
    )
  }

  #fail(error: Error) {
    const w = this.#waiter
    this.#waiter = undefined
    w?.reject(error)
  }

  #onMessage(m: ChildMessage) {
    switch (m.type) {
      case 'phase-start':
        this.#phaseSampler = new Sampler(this.serverPid, this.child.pid, this.database, this.serverGroup)
        this.#phaseSampler.start(200)
        if (this.database) {
          this.#activity = new ActivitySampler(this.database)
          this.#activityStarted = this.#activity.start(50).catch(() => {})
        }
        return
      case 'phase-end':
        this.#serverStats = roundStats(this.#phaseSampler!.stop())
        this.#phaseSampler = undefined
        return
      case 'fatal':
        this.#fail(new Error(m.message))
        return
      case 'connected':
      case 'phase':
        if (this.#waiter?.kind === m.type) {
          const w = this.#waiter
          this.#waiter = undefined
          w.resolve(m)
        }
        return
    }
  }

  #request(kind: Waiter['kind'], message: unknown, timeoutMs: number): Promise<ChildMessage> {
    if (this.#exited) return Promise.reject(new Error('load generator is not running'))
    return new Promise<ChildMessage>((resolve, reject) => {
      const timer = setTimeout(
        () => this.#fail(new Error(`load generator: no ${kind} within ${timeoutMs} ms`)),
        timeoutMs,
      )
      this.#waiter = {
        kind,
        resolve: (m) => {
          clearTimeout(timer)
          resolve(m)
        },
        reject: (e) => {
          clearTimeout(timer)
          reject(e)
        },
      }
      this.child.send(message as object)
    })
  }

  /** Opens and subscribes every socket; resolves with the connect time. */
  async connect(config: LoadConfig): Promise<Extract<ChildMessage, { type: 'connected' }>> {
    const m = await this.#request('connected', { type: 'connect', config }, 180_000)
    return m as Extract<ChildMessage, { type: 'connected' }>
  }

  /** Runs one offered load (sending window + drain) and returns it with the server's figures. */
  async phase(offered: number, id: number, budgetMs: number, seconds?: number): Promise<PhaseWithServer> {
    const m = (await this.#request('phase', { type: 'phase', offered, id, seconds }, budgetMs)) as Extract<
      ChildMessage,
      { type: 'phase' }
    >
    const phase: PhaseWithServer = { ...m.result, server: this.#serverStats! }
    if (this.#activity) {
      const a = this.#activity
      this.#activity = undefined
      await this.#activityStarted
      phase.postgres = await a.stop()
    }
    return phase
  }

  /** Closes every socket and ends the process (SIGKILL if it does not exit within 5 s). */
  async stop(): Promise<void> {
    await this.#activity?.stop().catch(() => {})
    this.#phaseSampler?.stop()
    if (this.#exited) return
    try {
      this.child.send({ type: 'stop' })
    } catch {}
    const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 5000).unref())
    if ((await Promise.race([this.exited, timeout])) === 'timeout') {
      this.child.kill('SIGKILL')
      await this.exited
    }
  }
}
