import { rmSync } from 'node:fs'
import { buildClient, SHARED_CLIENT_ENV } from './ferry.ts'

/**
 * One `vite build` for the whole e2e run: every file that asks for the default build gets this
 * one (buildClient), instead of ~10 s of building each. Files that need builds of their own
 * (the update test's two, a benchmark's) pass another buildId and still build.
 */
export default async function setup() {
  delete process.env[SHARED_CLIENT_ENV]
  const dir = await buildClient()
  process.env[SHARED_CLIENT_ENV] = dir
  return () => rmSync(dir, { recursive: true, force: true })
}
