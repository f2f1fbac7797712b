import { LIMITS } from '../../shared/limits.ts'
import { bodyOverLimit } from '../state/compose.ts'

/** The counter shows from here on: early enough to trim, late enough not to clutter every message. */
export const COUNTER_FROM = Math.floor(LIMITS.messageBodyMax * 0.9)

/** "50 characters left" once the text nears the limit; null before it, and past it (the refusal says how far). */
export function charactersLeft(text: string): string | null {
  const left = -bodyOverLimit(text)
  if (left < 0 || LIMITS.messageBodyMax - left < COUNTER_FROM) return null
  return `${left} character${left === 1 ? '' : 's'} left`
}

export function LengthCounter({ id, text }: { id: string; text: string }) {
  const left = charactersLeft(text)
  if (left === null) return null
  return (
    <span id={id} class="length-counter">
      {left}
    </span>
  )
}
