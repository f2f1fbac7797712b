/** The notifications banner and the account menu's setting (issue 10), as a person meets them. */
import 'fake-indexeddb/auto'
import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/preact'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { getDb } from '../../client/db/page.ts'
import type { PushPlatform } from '../../client/push/platform.ts'
import { readPushPrompt } from '../../client/push/prompt.ts'
import {
  BLOCKED_HELP,
  forgetNotifications,
  offerAfterSend,
  pushStatus,
  setPushPlatform,
  startNotifications,
} from '../../client/state/notifications.ts'
import { NotifyOffer, NotifySetting } from '../../client/ui/Notifications.tsx'

const ME = '00000000-0000-4000-8000-00000000a11c'
const platform = (permission: NotificationPermission): PushPlatform => ({
  supported: () => true,
  permission: () => permission,
  requestPermission: async () => 'denied',
  pushManager: async () => null,
})

beforeEach(async () => {
  const db = await getDb()
  await Promise.all([db.clear('pushDevice'), db.clear('pushPrompt')])
  forgetNotifications()
})
afterEach(cleanup)

describe('notifications in the UI', () => {
  it('the banner shows only after a sent message, and Dismiss removes it for good', async () => {
    setPushPlatform(platform('default'))
    await startNotifications(ME)
    render(<NotifyOffer />)
    expect(screen.queryByRole('button', { name: 'Get notified of new messages' })).toBeNull()
    await offerAfterSend()
    await screen.findByRole('button', { name: 'Get notified of new messages' })
    fireEvent.click(screen.getByRole('button', { name: 'Dismiss' }))
    await waitFor(() => expect(screen.queryByRole('region', { name: 'Notifications' })).toBeNull())
    await waitFor(async () => expect((await readPushPrompt(await getDb(), ME)).answered).toBe(true))
  })

  it('a denied prompt turns the banner into nothing and the setting into how to allow them', async () => {
    setPushPlatform(platform('default'))
    await startNotifications(ME)
    await offerAfterSend()
    render(
      <>
        <NotifyOffer />
        <NotifySetting />
      </>,
    )
    expect(screen.getByText('Notifications: off')).toBeTruthy()
    fireEvent.click(screen.getByRole('button', { name: 'Get notified of new messages' }))
    await screen.findByText(BLOCKED_HELP)
    expect(pushStatus.value).toBe('blocked')
    expect(screen.queryByRole('button', { name: /notif/i })).toBeNull()
  })
})
