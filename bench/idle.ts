/**
 * `npm run bench -- idle` (issue 14's memory goal): what one idle, subscribed
 * WebSocket costs each server. Every target of the ws part is prepared the
 * same way (Ferry: one user per socket by default, sockets in rooms of 10),
 * then its RSS is read settled before and after the generator opens and
 * subscribes BENCH_IDLE_SOCKETS sockets (default 5,000) that then send
 * nothing. Per connection = (RSS after − RSS before) / sockets. RSS, not
 * heap: it is what the machine pays, GC slack included, the same for all.
 */
import { Generator } from './lib/generator.ts'
import { groupRssMiB, rssMiB } from './lib/proc.ts'
import { round, sleep } from './lib/stats.ts'
import { type Cleanup, LABELS, PREPARE, type TargetName } from './ws-targets.ts'

export interface IdleOptions {
  sockets: number
  roomSize: number
  /** Ferry accounts, or 'sockets' for one user per socket. */
  users: number | 'sockets'
  targets: TargetName[]
  /** Seconds to let the server settle before each RSS reading. */
  settleSeconds: number
  log: (s: string) => void
}

export interface IdleResult {
  target: TargetName
  label: string
  skipped?: string
  error?: string
  sockets?: number
  rssBeforeMiB?: number
  rssAfterMiB?: number
  perConnectionKiB?: number
}

/** The median of `count` RSS readings `everyMs` apart: one GC mid-reading does not decide the figure. */
async function settledRss(pid: number, group = false, count = 10, everyMs = 300): Promise<number> {
  const readings: number[] = []
  for (let i = 0; i < count; i++) {
    // A cluster (ferry-2w…): the primary and its workers together.
    readings.push(group ? groupRssMiB(pid) : rssMiB(pid))
    await sleep(everyMs)
  }
  readings.sort((a, b) => a - b)
  return readings[Math.floor(readings.length / 2)]!
}

export async function runIdle(options: IdleOptions): Promise<IdleResult[]> {
  const { log } = options
  const results: IdleResult[] = []
  const users = options.users === 'sockets' ? options.sockets : options.users
  for (const target of options.targets) {
    const result: IdleResult = { target, label: LABELS[target] }
    results.push(result)
    const cleanups: Array<() => Promise<void>> = []
    const cleanup: Cleanup = (fn) => {
      let done: Promise<void> | undefined
      const once = () => (done ??= fn().catch((e) => log(`cleanup failed: ${(e as Error).message}`)))
      cleanups.push(once)
      return once
    }
    try {
      log(`idle/${target}: preparing ${options.sockets} sockets`)
      const settings = {
        sockets: options.sockets,
        roomSize: options.roomSize,
        users,
        ferryDb: 'postgres' as const,
        log,
      }
      const prepared = await PREPARE[target](settings, cleanup)
      if ('skipped' in prepared) {
        result.skipped = prepared.skipped
        log(`idle/${target} skipped: ${prepared.skipped}`)
        continue
      }
      await sleep(options.settleSeconds * 1000)
      const before = await settledRss(prepared.pid, prepared.group)
      const generator = new Generator(prepared.pid, prepared.database, prepared.group)
      cleanup(() => generator.stop())
      const connected = await generator.connect({
        url: prepared.url,
        protocol: prepared.protocol,
        origin: prepared.origin,
        sockets: prepared.sockets,
        seconds: 1,
        drainMs: 1000,
        connectConcurrency: 50,
        bodyBytes: 64,
      })
      await sleep(options.settleSeconds * 1000)
      const after = await settledRss(prepared.pid, prepared.group)
      result.sockets = connected.sockets
      result.rssBeforeMiB = round(before, 1)
      result.rssAfterMiB = round(after, 1)
      result.perConnectionKiB = round(((after - before) * 1024) / connected.sockets, 1)
      log(
        `  ${target}: ${connected.sockets} idle sockets, RSS ${result.rssBeforeMiB} → ${result.rssAfterMiB} MiB, ` +
          `${result.perConnectionKiB} KiB per connection`,
      )
    } catch (error) {
      result.error = (error as Error).message.slice(0, 500)
      log(`idle/${target} failed: ${result.error}`)
    } finally {
      for (const fn of cleanups.reverse()) await fn()
    }
  }
  return results
}
