/**
 * The in-app Install button. Chromium fires `beforeinstallprompt` when the app
 * is installable; the event is kept (its default, the browser's own small
 * banner, is prevented) so the button can open the install dialog at a moment
 * the person chooses. Listening starts when this module loads, with the app,
 * because the event may come before anything renders.
 */
import { signal } from '@preact/signals'

/** Chromium's BeforeInstallPromptEvent (not in TypeScript's DOM types). */
export interface InstallOffer extends Event {
  prompt(): Promise<unknown>
  userChoice: Promise<{ outcome: 'accepted' | 'dismissed' }>
}

/** Set while the browser offers to install; null otherwise (not offered, installed, or already used). */
export const installOffer = signal<InstallOffer | null>(null)

if (typeof window !== 'undefined') {
  window.addEventListener('beforeinstallprompt', (event) => {
    event.preventDefault()
    installOffer.value = event as InstallOffer
  })
  window.addEventListener('appinstalled', () => {
    installOffer.value = null
  })
}

/** Opens the browser's install dialog. An offer can be used once, so the button goes away either way. */
export async function install(): Promise<void> {
  const offer = installOffer.value
  if (!offer) return
  installOffer.value = null
  try {
    await offer.prompt()
  } catch (error) {
    console.warn('[ferry] the install dialog could not open', error)
  }
}
