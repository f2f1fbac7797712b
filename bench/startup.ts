/**
 * Start-up time: from spawn to the first 200 from /healthz, on a fresh
 * DATA_DIR (creates the PGlite cluster and runs the migrations) and on the same
 * directory reopened. Measured for `npx tsx server/main.ts` and for
 * `npm run serve` (what `npm start` runs after its client build). The client
 * build (`npx vite build`) is timed on its own, into a temporary directory.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { freePort, quietGate, ROOT, spawnGroup, stopGroup, waitHealthy } from './lib/proc.ts'
import { round } from './lib/stats.ts'

export interface StartupResult {
  command: string
  firstRunMs?: number
  secondRunMs?: number
  /** The machine's busy share (% of all cores) just before the runs, from other work. */
  backgroundBusyPct?: number
  error?: string
}

export interface BuildResult {
  command: string
  ms?: number
  ok: boolean
  error?: string
}

async function timeStart(command: string, args: string[], dataDir: string): Promise<number> {
  const port = await freePort()
  const env: Record<string, string> = {
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    DATA_DIR: dataDir,
    CLIENT_DIR: path.join(dataDir, 'no-client'),
  }
  const t0 = performance.now()
  const spawned = spawnGroup(command, args, { ...env, DATABASE_URL: '' })
  try {
    return await waitHealthy(`http://127.0.0.1:${port}/healthz`, spawned, t0)
  } finally {
    await stopGroup(spawned)
  }
}

export async function runStartup(log: (s: string) => void): Promise<{ startup: StartupResult[]; build: BuildResult }> {
  const startup: StartupResult[] = []
  const variants: Array<[string, string, string[]]> = [
    ['npx tsx server/main.ts', 'npx', ['tsx', 'server/main.ts']],
    ['npm run serve (npm start minus build)', 'npm', ['run', 'serve', '--silent']],
  ]
  for (const [label, command, args] of variants) {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-bench-startup-'))
    const result: StartupResult = { command: label }
    try {
      result.backgroundBusyPct = await quietGate(`startup ${label}`, log)
      result.firstRunMs = round(await timeStart(command, args, dataDir), 0)
      result.secondRunMs = round(await timeStart(command, args, dataDir), 0)
      log(`startup ${label}: first ${result.firstRunMs} ms, second ${result.secondRunMs} ms`)
    } catch (error) {
      result.error = (error as Error).message.slice(0, 2000)
      log(`startup ${label} failed: ${result.error}`)
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true })
    }
    startup.push(result)
  }

  const build: BuildResult = { command: 'npx vite build --outDir <tmp>', ok: false }
  if (!fs.existsSync(path.join(ROOT, 'vite.config.ts')) || !fs.existsSync(path.join(ROOT, 'client'))) {
    build.error = 'no vite.config.ts or client/'
    return { startup, build }
  }
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-bench-build-'))
  try {
    const t0 = performance.now()
    const spawned = spawnGroup('npx', ['vite', 'build', '--outDir', outDir, '--emptyOutDir', '--logLevel', 'warn'], {})
    const timeout = setTimeout(() => void stopGroup(spawned), 300_000)
    const code = await spawned.exited
    clearTimeout(timeout)
    if (code === 0) {
      build.ok = true
      build.ms = round(performance.now() - t0, 0)
      log(`client build: ${build.ms} ms`)
    } else {
      build.error = `exit ${code}: ${spawned.output().slice(-1500)}`
      log(`client build failed (reported, moving on): ${build.error}`)
    }
  } finally {
    fs.rmSync(outDir, { recursive: true, force: true })
  }
  return { startup, build }
}
