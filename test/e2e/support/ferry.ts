/**
 * End-to-end harness: builds the client, runs the real server as a child
 * process (PostgreSQL from TEST_DATABASE_URL, else embedded PGlite in a temp
 * dir) and drives Debian's Chromium with playwright-core.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import pg from 'pg'
import { type BrowserContext, chromium, type Page } from 'playwright-core'
import { freePort } from '../../support/server-process.ts'

export const ROOT = resolve(import.meta.dirname, '..', '..', '..')
export const CHROMIUM = '/usr/bin/chromium'
const BIN = join(ROOT, 'node_modules', '.bin')

export function requireChromium(): void {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} is missing: the browser tests need Debian's Chromium. Run: apt-get update && apt-get install -y chromium`,
    )
  }
}

const cleanups: Array<() => Promise<void> | void> = []

export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** Runs everything registered by this file's helpers (servers, browsers, temp dirs, databases), newest first. */
export async function cleanUp(): Promise<void> {
  for (const fn of cleanups.splice(0).reverse()) {
    try {
      await fn()
    } catch (error) {
      console.warn('cleanup failed', error)
    }
  }
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    child.stdout.on('data', (d) => (output += d))
    child.stderr.on('data', (d) => (output += d))
    child.on('exit', (code) =>
      code === 0 ? resolvePromise() : reject(new Error(`${command} ${args.join(' ')} failed:\n${output}`)),
    )
  })
}

/** Where the e2e run's one shared build is (test/e2e/support/global-setup.ts), when there is one. */
export const SHARED_CLIENT_ENV = 'FERRY_E2E_CLIENT_DIR'

/**
 * `vite build` into a fresh directory; a different buildId yields a different service worker.
 * The default build is made once per e2e run (global-setup.ts) and shared: it is only read.
 */
export async function buildClient(buildId = 'e2e-1'): Promise<string> {
  const shared = process.env[SHARED_CLIENT_ENV]
  if (buildId === 'e2e-1' && shared && existsSync(join(shared, 'index.html'))) return shared
  const outDir = tempDir('ferry-client-')
  await run(join(BIN, 'vite'), ['build', '--outDir', outDir, '--emptyOutDir', '--logLevel', 'warn'], {
    FERRY_BUILD_ID: buildId,
    // Vitest sets NODE_ENV=test, which would make a development build (no service worker).
    NODE_ENV: 'production',
  })
  return outDir
}

/** A database for one test file: its own PostgreSQL database, or a PGlite directory. */
async function databaseEnv(): Promise<NodeJS.ProcessEnv> {
  const adminUrl = process.env.TEST_DATABASE_URL
  if (!adminUrl) return { DATA_DIR: tempDir('ferry-data-') }
  const name = `ferry_e2e_${Math.random().toString(36).slice(2, 10)}`
  const admin = new pg.Client({ connectionString: adminUrl })
  await admin.connect()
  await admin.query(`CREATE DATABASE ${name}`)
  await admin.end()
  cleanups.push(async () => {
    const drop = new pg.Client({ connectionString: adminUrl })
    await drop.connect()
    await drop.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    await drop.end()
  })
  const url = new URL(adminUrl)
  url.pathname = `/${name}`
  return { DATABASE_URL: url.toString() }
}

export interface FerryServer {
  url: string
  /** Stops the server and starts it again on the same port and database, serving `clientDir`. */
  restart(clientDir: string): Promise<void>
  stop(): Promise<void>
}

/** `env` adds server settings (e.g. WS_SEND_RATE_PER_SECOND) on top of the test defaults. */
export async function startFerry(clientDir: string, env: NodeJS.ProcessEnv = {}): Promise<FerryServer> {
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const dbEnv = await databaseEnv()
  let child: ChildProcess | null = null

  const start = async (dir: string) => {
    const proc = spawn(join(BIN, 'tsx'), ['server/main.ts'], {
      cwd: ROOT,
      env: {
        ...process.env,
        ...dbEnv,
        PORT: String(port),
        HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
        AUTH_RATE_LIMIT_MAX: '10000',
        CLIENT_DIR: dir,
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    })
    child = proc
    let output = ''
    proc.stdout?.on('data', (d) => (output += d))
    proc.stderr?.on('data', (d) => (output += d))
    const deadline = Date.now() + 90_000
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`the server exited (${proc.exitCode}):\n${output}`)
      try {
        if ((await fetch(`${url}/healthz`)).ok) return
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`the server did not become healthy:\n${output}`)
      await new Promise((r) => setTimeout(r, 200))
    }
  }

  const stop = async () => {
    const proc = child
    child = null
    if (!proc || proc.exitCode !== null || !proc.pid) return
    const exited = new Promise((r) => proc.once('exit', r))
    process.kill(-proc.pid, 'SIGTERM')
    const timer = setTimeout(() => proc.pid && process.kill(-proc.pid, 'SIGKILL'), 10_000)
    await exited
    clearTimeout(timer)
  }

  cleanups.push(stop)
  await start(clientDir)
  return {
    url,
    stop,
    async restart(dir: string) {
      await stop()
      await start(dir)
    },
  }
}

export interface Browser {
  context: BrowserContext
  page: Page
  profileDir: string
  close(): Promise<void>
}

/** A persistent (non-incognito) profile, so the PWA is installable and survives a browser restart. */
export async function launchBrowser(profileDir = tempDir('ferry-profile-')): Promise<Browser> {
  requireChromium()
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 390, height: 844 },
    isMobile: true,
    hasTouch: true,
  })
  let closed = false
  const close = async () => {
    if (closed) return
    closed = true
    await context.close()
  }
  cleanups.push(close)
  const page = context.pages()[0] ?? (await context.newPage())
  page.on('pageerror', (error) => console.warn('[page error]', error.message))
  return { context, page, profileDir, close }
}

/** How most browser tests start: a server with a fresh client build, and a phone (390×844, touch) to use it. */
export async function startWithPhone(env: NodeJS.ProcessEnv = {}): Promise<{ server: FerryServer; phone: Browser }> {
  const server = await startFerry(await buildClient(), env)
  return { server, phone: await launchBrowser() }
}
