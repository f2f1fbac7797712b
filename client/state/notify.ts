/** How actions report failures: the rules are below. */
import { ApiError } from '../api/http.ts'
import { notice } from './store.ts'

/**
 * Error rules here (issue 7 item 18): exported actions do not reject, so screens may fire and
 * forget them. A failure the person should know about goes to `notice` (or the form it came
 * from); one they need not act on goes to the console with what was being done; no answer from
 * the server (offline, timed out, busy) stays quiet where working from the cache is the expected path.
 */
export function warn(what: string): (error: unknown) => void {
  return (error) => console.warn(`[ferry] ${what} failed`, error)
}

/** For a failure the person should know about: the console with context, and a notice. */
export function warnAndSay(what: string, text: string): (error: unknown) => void {
  return (error) => {
    console.warn(`[ferry] ${what} failed`, error)
    notice.value = text
  }
}

export function say(error: unknown, fallback: string): void {
  notice.value = error instanceof ApiError ? error.message : fallback
}
