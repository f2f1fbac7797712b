/**
 * Resolves once the browser has had its chance to paint what the page shows now: after the next
 * animation frame, in a task of its own. Work that the first screen does not need (asking the
 * server who is signed in, loading the answer checks, registering the service worker) waits for it,
 * so it never delays the first paint. A hidden page paints no frames: it resolves at once there,
 * and after `fallbackMs` at the latest.
 */
export function afterNextPaint(fallbackMs = 1_000): Promise<void> {
  return new Promise((resolve) => {
    if (typeof requestAnimationFrame !== 'function' || document.visibilityState === 'hidden') return resolve()
    const timer = setTimeout(resolve, fallbackMs)
    requestAnimationFrame(() =>
      setTimeout(() => {
        clearTimeout(timer)
        resolve()
      }, 0),
    )
  })
}
