/**
 * Start-up time: from spawn to the first 200 from /healthz, on PGlite (a
 * fresh DATA_DIR, which creates the cluster and migrates, then the same
 * directory reopened) and on PostgreSQL (an empty database, then a restart on
 * it). Measured for the built server (`npm run serve`, and plain `node` on the
 * build without npm's wrapper) and for `npx tsx server/main.ts` (what `dev`
 * runs: TypeScript compiled at start). The server build (`npm run
 * build:server`) runs first and is timed; the client build (`npx vite
 * build`) is timed on its own, into a temporary directory.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { createTempDatabase, postgresProblem } from './lib/pg.ts'
import { freePort, quietGate, ROOT, spawnGroup, stopGroup, waitHealthy } from './lib/proc.ts'
import { round } from './lib/stats.ts'

export interface StartupResult {
  command: string
  engine: 'pglite' | 'postgres'
  firstRunMs?: number
  secondRunMs?: number
  /** The machine's busy share (% of all cores) just before the runs, from other work. */
  backgroundBusyPct?: number
  error?: string
}

export interface StartupRun {
  startup: StartupResult[]
  /** `npm run build:server`, before the runs. */
  serverBuild: BuildResult
  build: BuildResult
}

export interface BuildResult {
  command: string
  ms?: number
  ok: boolean
  error?: string
}

async function timeStart(command: string, args: string[], dataDir: string, databaseUrl = ''): Promise<number> {
  const port = await freePort()
  const env: Record<string, string> = {
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    DATA_DIR: dataDir,
    CLIENT_DIR: path.join(dataDir, 'no-client'),
  }
  const t0 = performance.now()
  const spawned = spawnGroup(command, args, { ...env, DATABASE_URL: databaseUrl })
  try {
    return await waitHealthy(`http://127.0.0.1:${port}/healthz`, spawned, t0)
  } finally {
    await stopGroup(spawned)
  }
}

async function timeCommand(command: string, args: string[]): Promise<BuildResult> {
  const result: BuildResult = { command: [command, ...args].join(' '), ok: false }
  const t0 = performance.now()
  const spawned = spawnGroup(command, args, {})
  const timeout = setTimeout(() => void stopGroup(spawned), 300_000)
  const code = await spawned.exited
  clearTimeout(timeout)
  if (code === 0) {
    result.ok = true
    result.ms = round(performance.now() - t0, 0)
  } else {
    result.error = `exit ${code}: ${spawned.output().slice(-1500)}`
  }
  return result
}

export async function runStartup(log: (s: string) => void): Promise<StartupRun> {
  const startup: StartupResult[] = []
  const serverBuild = await timeCommand('npm', ['run', 'build:server', '--silent'])
  log(serverBuild.ok ? `server build: ${serverBuild.ms} ms` : `server build failed: ${serverBuild.error}`)
  const variants: Array<[string, string, string[]]> = [
    ['npm run serve (built)', 'npm', ['run', 'serve', '--silent']],
    ['node build/server/main.js', process.execPath, ['build/server/main.js']],
    ['npx tsx server/main.ts (dev)', 'npx', ['tsx', 'server/main.ts']],
  ]
  const noPostgres = await postgresProblem()
  for (const engine of ['pglite', 'postgres'] as const) {
    for (const [label, command, args] of variants) {
      const result: StartupResult = { command: label, engine }
      if (engine === 'postgres' && noPostgres) {
        result.error = noPostgres
        startup.push(result)
        continue
      }
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-bench-startup-'))
      const database = engine === 'postgres' ? await createTempDatabase() : undefined
      try {
        result.backgroundBusyPct = await quietGate(`startup ${label} ${engine}`, log)
        result.firstRunMs = round(await timeStart(command, args, dataDir, database?.url), 0)
        result.secondRunMs = round(await timeStart(command, args, dataDir, database?.url), 0)
        log(`startup ${label} on ${engine}: first ${result.firstRunMs} ms, second ${result.secondRunMs} ms`)
      } catch (error) {
        result.error = (error as Error).message.slice(0, 2000)
        log(`startup ${label} on ${engine} failed: ${result.error}`)
      } finally {
        fs.rmSync(dataDir, { recursive: true, force: true })
        await database?.drop()
      }
      startup.push(result)
    }
  }

  const build: BuildResult = { command: 'npx vite build --outDir <tmp>', ok: false }
  if (!fs.existsSync(path.join(ROOT, 'vite.config.ts')) || !fs.existsSync(path.join(ROOT, 'client'))) {
    build.error = 'no vite.config.ts or client/'
    return { startup, serverBuild, build }
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
  return { startup, serverBuild, build }
}
