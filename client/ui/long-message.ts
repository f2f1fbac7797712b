/**
 * When a message is long enough to be folded: over COLLAPSE_OVER_LINES lines as a phone shows
 * them, counting each line break and a line longer than CHARS_PER_LINE as several (so a wall of
 * text without breaks, ~2,000 characters, folds too). Folded, it shows PREVIEW_LINES lines and
 * "Show more". The estimate is deliberately simple: exact wrapping depends on the font and width,
 * and a message a line or two either side of the limit reads fine both ways.
 */
export const COLLAPSE_OVER_LINES = 30
/** Lines shown while folded (the CSS clamp in styles.css, "Layout" section, uses the same number). */
export const PREVIEW_LINES = 15
/** About what one line of a message bubble holds on a 390 px phone. */
export const CHARS_PER_LINE = 64

export function estimatedLines(text: string): number {
  let lines = 0
  for (const line of text.split('\n')) {
    // Code points, not UTF-16 units: an emoji is one character on screen.
    const length = [...line].length
    lines += Math.max(1, Math.ceil(length / CHARS_PER_LINE))
  }
  return lines
}

export function isLongMessage(text: string): boolean {
  return estimatedLines(text) > COLLAPSE_OVER_LINES
}
