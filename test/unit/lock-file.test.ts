import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { acquireLock, DataDirInUseError } from '../../server/db/lock-file.ts'

describe('data directory lock file', () => {
  let dir: string
  const lockFile = () => path.join(dir, 'ferry.lock')
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-lock-'))
  })
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }))

  it('writes our pid, refuses a second holder in this process, and releases once', () => {
    const release = acquireLock(dir)
    expect(fs.readFileSync(lockFile(), 'utf8')).toBe(String(process.pid))
    expect(() => acquireLock(dir)).toThrow(DataDirInUseError)
    expect(() => acquireLock(path.join(dir, '.'))).toThrow(DataDirInUseError)
    release()
    expect(fs.existsSync(lockFile())).toBe(false)
    release()
    const again = acquireLock(dir)
    expect(fs.existsSync(lockFile())).toBe(true)
    again()
  })

  it('refuses a directory locked by another live process, naming it and DATA_DIR', () => {
    // The parent process (vitest's main process) is alive and is not us.
    fs.writeFileSync(lockFile(), String(process.ppid))
    const attempt = () => acquireLock(dir)
    expect(attempt).toThrow(DataDirInUseError)
    expect(attempt).toThrow(new RegExp(`pid ${process.ppid}.*DATA_DIR`, 's'))
    expect(fs.readFileSync(lockFile(), 'utf8')).toBe(String(process.ppid))
  })

  it('takes over a lock left by a dead process', () => {
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString()
    fs.writeFileSync(lockFile(), dead)
    const release = acquireLock(dir)
    expect(fs.readFileSync(lockFile(), 'utf8')).toBe(String(process.pid))
    release()
  })

  it('takes over a stale lock carrying our own pid (a restarted container) when we do not hold it', () => {
    fs.writeFileSync(lockFile(), String(process.pid))
    const release = acquireLock(dir)
    expect(() => acquireLock(dir)).toThrow(DataDirInUseError)
    release()
  })

  it('takes over a garbage lock file', () => {
    fs.writeFileSync(lockFile(), 'not a pid')
    acquireLock(dir)()
    expect(fs.existsSync(lockFile())).toBe(false)
  })

  it('creates a missing data directory', () => {
    const nested = path.join(dir, 'a', 'b')
    const release = acquireLock(nested)
    expect(fs.existsSync(path.join(nested, 'ferry.lock'))).toBe(true)
    release()
  })
})
