/**
 * Per-room notifications (issue 10): the room menu's choice and the room
 * row's muted mark. The choice applies at once and is sent when online
 * (state/room-levels.ts).
 */
import type { NotifyLevel } from '../../shared/push/contract.ts'
import { levelOf, setRoomLevel } from '../state/room-levels.ts'

const CHOICES: ReadonlyArray<[NotifyLevel, string]> = [
  ['all', 'All messages'],
  ['mentions', 'Only mentions'],
  ['none', 'Nothing'],
]

/** What a screen reader hears after the room's name when it is muted ('' when not). */
export function mutedLabel(level: NotifyLevel): string {
  return level === 'mentions' ? 'muted, mentions only' : level === 'none' ? 'notifications off' : ''
}

export function RoomNotifyChoice({ roomId }: { roomId: string }) {
  const current = levelOf(roomId)
  return (
    <fieldset class="notify-choice">
      <legend>Notify me of</legend>
      {CHOICES.map(([level, text]) => (
        <label key={level} class="notify-choice__option">
          <input
            type="radio"
            name={`notify-${roomId}`}
            value={level}
            checked={current === level}
            onChange={() => void setRoomLevel(roomId, level)}
          />{' '}
          {text}
        </label>
      ))}
    </fieldset>
  )
}

/** A bell with a stroke through it, beside a muted room's name (the link's name says it in words). */
export function MutedIcon() {
  return (
    <svg class="muted-icon" viewBox="0 0 24 24" width="16" height="16" aria-hidden="true" focusable="false">
      <path
        d="M6 16V11a6 6 0 0 1 9.5-4.9M18 11v5l1.5 2H7M10 20a2 2 0 0 0 4 0"
        fill="none"
        stroke="currentColor"
        stroke-width="2"
        stroke-linecap="round"
      />
      <path d="M4 4l16 16" stroke="currentColor" stroke-width="2" stroke-linecap="round" />
    </svg>
  )
}
