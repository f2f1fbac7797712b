/**
 * `@username` in a message body (issue 9 item 2). The server resolves the
 * names to room members and records their ids on the event (`mentions`); the
 * client finds the same spans to highlight them. One rule for both, here.
 */

/**
 * `@` not preceded by a username character (so `ana@example.com` is not a
 * mention), then a username (LIMITS.usernamePattern's characters and
 * lengths), not followed by another username character (so a 33-character run
 * is not the first 32 of it).
 */
const MENTION = /(?<![A-Za-z0-9_-])@([A-Za-z0-9_-]{3,32})(?![A-Za-z0-9_-])/g

export interface MentionSpan {
  /** Lower case: usernames compare case-insensitively. */
  username: string
  /** Where the `@` is, in UTF-16 units (what `String.prototype.slice` takes). */
  index: number
  /** The `@` and the name. */
  length: number
}

export function mentionSpans(body: string): MentionSpan[] {
  return [...body.matchAll(MENTION)].map((m) => ({
    username: m[1]!.toLowerCase(),
    index: m.index,
    length: m[0].length,
  }))
}

/** Each name mentioned, once, in order of first mention: what the server looks up among the room's members. */
export function mentionedUsernames(body: string): string[] {
  return [...new Set(mentionSpans(body).map((span) => span.username))]
}
