/**
 * Notifications in the UI (issue 10): the banner offered after the person's
 * first message, and the setting in the account menu. Never on first load,
 * never asked twice: the browser's prompt comes only from these buttons.
 */
import {
  BLOCKED_HELP,
  dismissOffer,
  pushBusy,
  pushOffer,
  pushStatus,
  turnOffNotifications,
  turnOnNotifications,
} from '../state/notifications.ts'

/** "Get notified of new messages": tap to turn on (the browser asks), or dismiss for good. */
export function NotifyOffer() {
  if (!pushOffer.value || pushStatus.value !== 'off') return null
  return (
    <section class="push-offer" aria-label="Notifications">
      <button
        type="button"
        class="push-offer__action"
        disabled={pushBusy.value}
        onClick={() => void turnOnNotifications()}
      >
        Get notified of new messages
      </button>
      <button type="button" class="icon push-offer__dismiss" aria-label="Dismiss" onClick={() => void dismissOffer()}>
        ✕
      </button>
    </section>
  )
}

/** The account menu's part: the state in words and the one action that changes it. */
export function NotifySetting() {
  const status = pushStatus.value
  if (status === 'unsupported') return <p class="popover__text">This browser cannot show Ferry’s notifications.</p>
  if (status === 'blocked') return <p class="popover__text">{BLOCKED_HELP}</p>
  const on = status === 'on'
  return (
    <>
      <p class="popover__text">Notifications: {on ? 'on' : 'off'}</p>
      <button
        type="button"
        class="secondary"
        disabled={pushBusy.value}
        onClick={() => void (on ? turnOffNotifications() : turnOnNotifications())}
      >
        {on ? 'Turn off notifications' : 'Turn on notifications'}
      </button>
    </>
  )
}
