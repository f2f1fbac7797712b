/**
 * Runs `task` at most once at a time. Calls made while it runs share a single
 * further run that starts after it (with the latest arguments), so a burst of
 * changes (200 acks in a second) costs two reads, not 200, and every caller's
 * promise settles after a run that began after its call.
 */
export function coalesced<A extends unknown[]>(task: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  let running: Promise<void> | null = null
  let next: Promise<void> | null = null
  let nextArgs: A
  const run = (...args: A): Promise<void> => {
    if (!running) {
      running = task(...args).finally(() => {
        running = null
      })
      return running
    }
    nextArgs = args
    next ??= running.then(
      () => {
        next = null
        return run(...nextArgs)
      },
      () => {
        next = null
        return run(...nextArgs)
      },
    )
    return next
  }
  return run
}
