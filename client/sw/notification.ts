/** What a push shows: one notification per room (its tag), the newest message's author and first line. */
import type { PushPayload } from '../../shared/push/contract.ts'
import type { NotificationTarget } from '../push/links.ts'

export interface ShownNotification {
  title: string
  options: NotificationOptions & { renotify?: boolean; timestamp?: number; data: NotificationTarget }
}

export function notificationOf(push: PushPayload): ShownNotification {
  const author = push.authorName || 'Someone'
  const preview = push.preview.replace(/\s+/g, ' ').trim()
  const body = push.mention ? `${author} mentioned you: ${preview}` : `${author}: ${preview}`
  const sentAt = Date.parse(push.sentAt)
  return {
    title: push.roomName || 'Ferry',
    options: {
      body,
      // One notification per room: a burst replaces it rather than stacking 50.
      tag: push.roomId,
      // A replaced notification is silent unless it mentions the person.
      renotify: push.mention,
      icon: '/icons/icon-192.png',
      ...(Number.isFinite(sentAt) ? { timestamp: sentAt } : {}),
      data: { roomId: push.roomId, seq: push.seq },
    },
  }
}
