import fs from 'node:fs'
import path from 'node:path'

export class DataDirInUseError extends Error {
  constructor(dataDir: string, pid: number) {
    super(
      `The data directory ${dataDir} is in use by another Ferry process (pid ${pid}). ` +
        'Stop it, or set DATA_DIR to another directory. Two processes on one embedded database would corrupt it.',
    )
    this.name = 'DataDirInUseError'
  }
}

/** Data directories (real paths) this process has locked and not released. */
const heldHere = new Set<string>()

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Takes `<dataDir>/ferry.lock` for this process. PGlite itself lets two
 * processes open one directory and corrupt it; this refuses the second.
 * A lock left by a dead process is taken over.
 */
export function acquireLock(dataDir: string): () => void {
  fs.mkdirSync(dataDir, { recursive: true })
  const file = path.join(dataDir, 'ferry.lock')
  // A lock with our own pid is stale (left by an earlier process that had the
  // same pid, common in containers) unless this process holds it right now.
  const key = fs.realpathSync(dataDir)
  if (heldHere.has(key)) throw new DataDirInUseError(dataDir, process.pid)
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: 'wx' })
      heldHere.add(key)
      let released = false
      return () => {
        if (released) return
        released = true
        heldHere.delete(key)
        fs.rmSync(file, { force: true })
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      const pid = Number(fs.readFileSync(file, 'utf8').trim())
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) {
        throw new DataDirInUseError(dataDir, pid)
      }
      fs.rmSync(file, { force: true })
    }
  }
  throw new Error(`Could not take the lock file ${file}`)
}
