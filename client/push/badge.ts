/**
 * The app icon's badge (Badging API), from the page and the service worker
 * alike. Where the API is missing (Firefox, Safari outside an installed app)
 * nothing happens; a refusal (not installed, no permission) is expected too.
 */

export interface BadgeNavigator {
  setAppBadge?: (contents?: number) => Promise<void>
  clearAppBadge?: () => Promise<void>
}

/** Shows `total` on the icon, or clears it at 0. Never rejects. */
export async function showBadge(nav: BadgeNavigator, total: number): Promise<void> {
  try {
    if (total > 0) await nav.setAppBadge?.(total)
    else if (nav.clearAppBadge) await nav.clearAppBadge()
    else await nav.setAppBadge?.(0)
  } catch {
    // Not installed, or the platform declines badges: the count is still in the app.
  }
}
