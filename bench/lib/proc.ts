/** Spawning the server under test, waiting for health, sampling its RSS and CPU from /proc. */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { sleep } from './stats.ts'

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')

export { freePort } from '../../test/support/server-process.ts'

export interface Spawned {
  child: ChildProcess
  /** stderr + stdout tail, for error messages. */
  output(): string
  exited: Promise<number | null>
}

/** Spawns in its own process group (so npx/npm/tsx wrappers can be stopped together). */
export function spawnGroup(command: string, args: string[], env: Record<string, string>): Spawned {
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  })
  let tail = ''
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString()).slice(-4000)
  }
  child.stdout?.on('data', keep)
  child.stderr?.on('data', keep)
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  return { child, output: () => tail, exited }
}

/** Polls GET url until 200; resolves ms since `since`, rejects on exit or timeout. */
export async function waitHealthy(url: string, spawned: Spawned, since: number, timeoutMs = 90_000): Promise<number> {
  let exited = false
  void spawned.exited.then(() => {
    exited = true
  })
  const deadline = since + timeoutMs
  while (performance.now() < deadline) {
    if (exited) throw new Error(`server exited before it was healthy:\n${spawned.output()}`)
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) })
      await res.arrayBuffer()
      if (res.status === 200) return performance.now() - since
    } catch {
      // not listening yet
    }
    await sleep(10)
  }
  throw new Error(`server not healthy within ${timeoutMs} ms:\n${spawned.output()}`)
}

/** SIGTERM to the whole group, SIGKILL after a grace period. */
export async function stopGroup(spawned: Spawned, graceMs = 15_000): Promise<void> {
  const pid = spawned.child.pid
  if (pid === undefined || spawned.child.exitCode !== null || spawned.child.signalCode !== null) return
  try {
    process.kill(-pid, 'SIGTERM')
  } catch {
    return
  }
  const timer = sleep(graceMs).then(() => 'timeout' as const)
  if ((await Promise.race([spawned.exited, timer])) === 'timeout') {
    try {
      process.kill(-pid, 'SIGKILL')
    } catch {}
    await spawned.exited
  }
  // Wrappers may exit before their child: wait for the group to be gone.
  for (let i = 0; i < 100 && groupAlive(pid); i++) await sleep(50)
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0)
    return true
  } catch {
    return false
  }
}

const CLK_TCK = 100

/** CPU seconds (user + system) of one process, from /proc/<pid>/stat. */
export function processCpuSeconds(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK
  } catch {
    return Number.NaN
  }
}

/** The pids of a process group (a server spawned with spawnGroup and the workers it forked), from /proc. */
export function groupPids(pgid: number): number[] {
  const pids: number[] = []
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8')
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]) === pgid) pids.push(Number(entry))
    } catch {
      // gone
    }
  }
  return pids
}

/**
 * CPU seconds of a whole process group (a cluster primary and its workers).
 * A worker that exits takes its seconds with it: the bench restarts none, so
 * within a load window the sum only grows.
 */
export function groupCpuSeconds(pgid: number): number {
  return groupPids(pgid).reduce((sum, pid) => sum + (processCpuSeconds(pid) || 0), 0)
}

/** VmRSS of a process in MiB. */
export function rssMiB(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))
    return match ? Number(match[1]) / 1024 : Number.NaN
  } catch {
    return Number.NaN
  }
}

/** The pid of a process by its name (/proc/<pid>/comm), e.g. a local redis-server; the first found. */
export function findProcess(comm: string): number | undefined {
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      if (fs.readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === comm) return Number(entry)
    } catch {
      // gone
    }
  }
  return undefined
}

/** A process's name (/proc/<pid>/comm), or '' when it is gone. */
function processName(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim()
  } catch {
    return ''
  }
}

/** VmRSS summed over a process group, in MiB. */
export function groupRssMiB(pgid: number): number {
  return groupPids(pgid).reduce((sum, pid) => sum + (rssMiB(pid) || 0), 0)
}

/** Machine-wide busy and total jiffies from /proc/stat (all cores). */
export function machineCpu(): { busy: number; total: number } {
  const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!
  const v = line.trim().split(/\s+/).slice(1).map(Number)
  const total = v.reduce((a, b) => a + b, 0)
  const idle = (v[3] ?? 0) + (v[4] ?? 0)
  return { busy: total - idle, total }
}

/**
 * CPU seconds of the PostgreSQL backends serving `database` (their process
 * title names it), from /proc. Backends of other databases and PostgreSQL's
 * shared background processes (WAL writer, checkpointer) are not counted.
 */
export function postgresCpuSeconds(database: string | undefined): number {
  if (!database) return 0
  let total = 0
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8')
      if (cmdline.startsWith('postgres: ') && cmdline.includes(` ${database} `)) {
        total += processCpuSeconds(Number(entry))
      }
    } catch {
      // gone
    }
  }
  return total
}

export interface WindowStats {
  peakRssMiB: number
  /** The server process's CPU (summed over a cluster's primary and workers), % of one core. */
  cpuPct: number
  /** The whole machine's busy share, % of all cores. */
  machineBusyPct: number
  /**
   * % of one core each: the PostgreSQL backends of the bench database, the
   * load generator, and everything else on the machine (other processes,
   * PostgreSQL's background writers).
   */
  postgresCpuPct: number
  generatorCpuPct: number
  otherCpuPct: number
  loadAvg1: number
  /**
   * A cluster only: each process's share of `cpuPct` (% of one core), the
   * primary (the group's leader) first, then the workers by pid: whether the
   * load spread over the workers, and what the primary costs.
   */
  processesCpuPct?: number[]
}

/** Samples a process's RSS every `everyMs` while running; start/stop bracket a window. */
export class Sampler {
  /** The server's CPU and RSS: of `pid` alone, or summed over its process group (`group`: a cluster). */
  readonly #cpu: (pid: number) => number
  readonly #rss: (pid: number) => number
  #timer: NodeJS.Timeout | undefined
  peakRss = 0
  #cpu0 = 0
  #pg0 = 0
  #gen0 = 0
  readonly #group: boolean
  /** A cluster's CPU seconds per process at the window's start. */
  #perProcess0 = new Map<number, number>()
  #m0 = machineCpu()
  #t0 = 0
  constructor(
    readonly pid: number,
    readonly generatorPid?: number,
    readonly database?: string,
    group = false,
  ) {
    this.#cpu = group ? groupCpuSeconds : processCpuSeconds
    this.#rss = group ? groupRssMiB : rssMiB
    this.#group = group
  }

  /**
   * CPU seconds per node process of the group, leader first, then by pid.
   * Only `node` processes: tsx may start an esbuild service in the group when
   * its transform cache misses (its seconds still count in the group's total).
   */
  #perProcess(): Map<number, number> {
    const pids = groupPids(this.pid)
      .filter((pid) => processName(pid) === 'node')
      .sort((a, b) => (a === this.pid ? -1 : b === this.pid ? 1 : a - b))
    return new Map(pids.map((pid) => [pid, processCpuSeconds(pid) || 0]))
  }
  start(everyMs = 200): void {
    this.peakRss = this.#rss(this.pid)
    this.#cpu0 = this.#cpu(this.pid)
    this.#pg0 = postgresCpuSeconds(this.database)
    this.#gen0 = this.generatorPid ? processCpuSeconds(this.generatorPid) : 0
    if (this.#group) this.#perProcess0 = this.#perProcess()
    this.#m0 = machineCpu()
    this.#t0 = performance.now()
    this.#timer = setInterval(() => {
      const rss = this.#rss(this.pid)
      if (rss > this.peakRss) this.peakRss = rss
    }, everyMs)
  }
  stop(): WindowStats {
    clearInterval(this.#timer)
    const rss = this.#rss(this.pid)
    if (rss > this.peakRss) this.peakRss = rss
    const seconds = (performance.now() - this.#t0) / 1000
    const m1 = machineCpu()
    const pct = (cpuSeconds: number) => (cpuSeconds / seconds) * 100
    const cpuPct = pct(this.#cpu(this.pid) - this.#cpu0)
    // A backend that exits during the window takes its CPU seconds with it: never below 0.
    const postgresCpuPct = Math.max(0, pct(postgresCpuSeconds(this.database) - this.#pg0))
    const generatorCpuPct = this.generatorPid ? pct(processCpuSeconds(this.generatorPid) - this.#gen0) : 0
    // A process started during the window (a restarted worker) counts from 0.
    const processesCpuPct = this.#group
      ? [...this.#perProcess()].map(([pid, cpu]) => pct(cpu - (this.#perProcess0.get(pid) ?? 0)))
      : undefined
    // Machine jiffies are summed over all cores: busy/total × cores × 100 = % of one core.
    const machineBusyPct = ((m1.busy - this.#m0.busy) / Math.max(1, m1.total - this.#m0.total)) * 100
    const machineCorePct = machineBusyPct * os.cpus().length
    return {
      peakRssMiB: this.peakRss,
      cpuPct,
      machineBusyPct,
      postgresCpuPct,
      generatorCpuPct,
      otherCpuPct: Math.max(0, machineCorePct - cpuPct - postgresCpuPct - generatorCpuPct),
      loadAvg1: os.loadavg()[0]!,
      ...(processesCpuPct ? { processesCpuPct } : {}),
    }
  }
}

/** Rounds every figure of a window for the report. */
export function roundStats(s: WindowStats): WindowStats {
  const r = (n: number) => Math.round(n)
  return {
    peakRssMiB: r(s.peakRssMiB),
    cpuPct: r(s.cpuPct),
    machineBusyPct: r(s.machineBusyPct),
    postgresCpuPct: r(s.postgresCpuPct),
    generatorCpuPct: r(s.generatorCpuPct),
    otherCpuPct: r(s.otherCpuPct),
    loadAvg1: Math.round(s.loadAvg1 * 10) / 10,
    ...(s.processesCpuPct ? { processesCpuPct: s.processesCpuPct.map(r) } : {}),
  }
}

/**
 * Other work on the machine skews every figure. Measures the machine's busy
 * share over 2 s and, when BENCH_WAIT_QUIET=<seconds> is set, waits (bounded)
 * until it drops below BENCH_QUIET_PCT (default 25 % of all cores). Returns
 * the last measured background busy share (% of all cores).
 */
export async function quietGate(label: string, log: (s: string) => void): Promise<number> {
  const maxWaitMs = Number(process.env.BENCH_WAIT_QUIET ?? 0) * 1000
  const threshold = Number(process.env.BENCH_QUIET_PCT ?? 25)
  const deadline = performance.now() + maxWaitMs
  let busy = 0
  for (let i = 0; i < 1000; i++) {
    const m0 = machineCpu()
    await sleep(2000)
    const m1 = machineCpu()
    busy = ((m1.busy - m0.busy) / Math.max(1, m1.total - m0.total)) * 100
    if (busy < threshold || performance.now() >= deadline) break
    if (i === 0) log(`  ${label}: machine ${Math.round(busy)}% busy with other work; waiting for it to calm down`)
  }
  if (busy >= threshold) {
    log(`  ${label}: machine ${Math.round(busy)}% busy with other work before the run: figures will be pessimistic`)
  }
  return Math.round(busy)
}

/**
 * BENCH_PIN=1: pins every thread of `pid` to one CPU with `taskset` (threads
 * started later inherit it). Returns why not when pinning is off or failed.
 */
export function pinToCpu(pid: number, cpu: number): string | undefined {
  if (process.env.BENCH_PIN !== '1') return 'off'
  try {
    execFileSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { stdio: 'ignore' })
    return undefined
  } catch (error) {
    return `taskset failed: ${(error as Error).message}`
  }
}

/**
 * BENCH_PIN=1 for a cluster: every thread of every process in the group
 * (primary and workers) on one CPU, the single process's budget. Workers the
 * primary forks later inherit its affinity.
 */
export function pinGroupToCpu(pgid: number, cpu: number): string | undefined {
  if (process.env.BENCH_PIN !== '1') return 'off'
  for (const pid of groupPids(pgid)) {
    const problem = pinToCpu(pid, cpu)
    if (problem) return problem
  }
  return undefined
}
