import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'

const ROOT = path.resolve(import.meta.dirname, '../..')

export interface ServerBuild {
  /** Node's arguments to run the built server (as `npm run serve` does). */
  entry: string[]
  remove(): void
}

/**
 * The server built to JavaScript, as `npm start` runs it, into a directory of
 * its own (the repository's build/ is not touched). Inside the repository, so
 * the build's bare imports resolve to its node_modules.
 */
export function buildServer(): ServerBuild {
  fs.mkdirSync(path.join(ROOT, 'node_modules/.cache'), { recursive: true })
  const buildDir = fs.mkdtempSync(path.join(ROOT, 'node_modules/.cache/ferry-process-build-'))
  execFileSync(
    path.join(ROOT, 'node_modules/.bin/vite'),
    ['build', '--config', 'vite.server.config.ts', '--outDir', buildDir, '--emptyOutDir'],
    { cwd: ROOT, stdio: 'pipe' },
  )
  return {
    entry: ['--enable-source-maps', path.join(buildDir, 'server/main.js')],
    remove: () => fs.rmSync(buildDir, { recursive: true, force: true }),
  }
}
