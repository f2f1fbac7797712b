/**
 * The browser's side of notifications, as the page uses it (Notification
 * permission, the service worker's PushManager), behind one interface so the
 * page's logic is tested without a browser (test/client/push-enable.test.ts).
 */

export interface PushPlatform {
  /** Service worker, PushManager and Notification all exist (not in Safari outside an installed app, not in old browsers). */
  supported(): boolean
  permission(): NotificationPermission
  requestPermission(): Promise<NotificationPermission>
  /** The worker's PushManager, or null when no worker is registered (yet). */
  pushManager(): Promise<PushManager | null>
}

export const browserPush: PushPlatform = {
  supported: () =>
    typeof navigator !== 'undefined' &&
    'serviceWorker' in navigator &&
    typeof window !== 'undefined' &&
    'PushManager' in window &&
    'Notification' in window,
  permission: () => Notification.permission,
  requestPermission: () => Notification.requestPermission(),
  // getRegistration, not `ready`: `ready` never settles where no worker was registered (a logout must not hang on it).
  pushManager: async () => (await navigator.serviceWorker.getRegistration())?.pushManager ?? null,
}
