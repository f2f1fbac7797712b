/**
 * The emoji the message menu offers (issue 9): six common ones in a row, and
 * a small picker. All are old enough (Unicode 6-11) for any server's emoji
 * data (shared/conversation/emoji.ts: the server's Unicode version decides).
 */
export const COMMON_REACTIONS = ['👍', '❤️', '😂', '😮', '😢', '🙏'] as const

export const MORE_REACTIONS = [
  '🎉',
  '🔥',
  '👏',
  '🙌',
  '😍',
  '🤔',
  '😅',
  '😊',
  '😎',
  '🥳',
  '😡',
  '😴',
  '👀',
  '💯',
  '✅',
  '❌',
  '👎',
  '💪',
  '🤝',
  '🚀',
  '☕',
  '🍕',
  '🌟',
  '💡',
] as const
