/**
 * A room's avatar: up to two initials from its name on a colour derived from its id, the way
 * messengers show a chat without a picture. Every colour carries white text at WCAG AA (4.5:1,
 * test/client/room-list.test.ts checks it), and is dark enough to stand out on the light and the
 * dark theme alike, so one palette serves both.
 */
export const AVATAR_COLOURS = [
  '#b71c1c', // red
  '#ad1457', // pink
  '#6a1b9a', // purple
  '#4527a0', // deep purple
  '#283593', // indigo
  '#1565c0', // blue
  '#00695c', // teal
  '#2e7d32', // green
  '#8d4004', // brown-orange
  '#5d4037', // brown
  '#455a64', // blue grey
] as const

/** The same room gets the same colour on every device and every start (a hash of its id). */
export function avatarColour(roomId: string): string {
  let hash = 0
  for (let i = 0; i < roomId.length; i++) hash = (hash * 31 + roomId.charCodeAt(i)) >>> 0
  return AVATAR_COLOURS[hash % AVATAR_COLOURS.length]!
}

const segmenter =
  typeof Intl.Segmenter === 'function' ? new Intl.Segmenter(undefined, { granularity: 'grapheme' }) : null

/** The first user-perceived character (an emoji with its modifiers, a letter with its accents). */
function firstGrapheme(text: string): string {
  if (segmenter) for (const { segment } of segmenter.segment(text)) return segment
  return [...text][0] ?? ''
}

/** A word begins with a letter or digit (any script); symbols and emoji do not make initials. */
const WORDLIKE = /^[\p{L}\p{N}]/u
const PICTOGRAPH = /\p{Extended_Pictographic}/u

/**
 * "Harbour Crew" → "HC", "depot" → "D", "Ёлка и друзья" → "ЁИ", "🚢 Ferry fans" → "🚢",
 * "東京" → "東". A name that starts with an emoji shows that emoji (it is the room's picture);
 * else the first letters of the first two words; "#" when there is nothing to take.
 */
export function initials(name: string): string {
  const trimmed = name.trim()
  const first = firstGrapheme(trimmed)
  if (PICTOGRAPH.test(first)) return first
  const words = trimmed.split(/[\s\-_.,:;/|·]+/u).filter((word) => WORDLIKE.test(word))
  const letters = words.slice(0, 2).map((word) => firstGrapheme(word).toLocaleUpperCase())
  return letters.join('') || '#'
}
