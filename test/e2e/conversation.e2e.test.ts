/**
 * Issue 9's browser test, in real Chromium on phones (390×844, touch), one
 * browser with a context per person. Ann, offline, edits one message,
 * deletes another, reacts to a third, replies to a fourth and reads the room;
 * every change shows at once, marked waiting, and still after an offline
 * reload. Back online, Ben's screen shows exactly those changes, once, and
 * the room's log holds them once each in the order Ann made them. Cai, offline
 * throughout, catches up by the socket's replay; Dia, away past the reset
 * bound (RESUME_MAX_EVENTS, lowered for the test), by a reset and the history
 * page's folded state: both end with Ben's screen. Ann's offline reading
 * reaches Ben's device as a read receipt, and his screen says "Seen by" her
 * under his newest message once she has read it. Dan, removed from a private
 * room while offline with a message queued for it, loses the room and the
 * message fails with the reason `not_member`, kept on his room list ("Not
 * sent") with its text.
 */
import { type BrowserContext, chromium, type Locator, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Room, RoomEvent } from '../../shared/schemas.ts'
import {
  apiCall,
  LONG,
  openRoom,
  sendMessage,
  signUp,
  uniqueName,
  waitForServiceWorker,
  waitForStatus,
  waitUntil,
} from './support/app.ts'
import { buildClient, CHROMIUM, cleanUp, type FerryServer, requireChromium, startFerry } from './support/ferry.ts'

/** Dia misses more than this many entries; Cai fewer. */
const RESUME_MAX_EVENTS = 8

let server: FerryServer
let closeBrowser: () => Promise<void>
let newPhone: () => Promise<{ context: BrowserContext; page: Page }>
const names = {
  ann: uniqueName('ann'),
  ben: uniqueName('ben'),
  cai: uniqueName('cai'),
  dia: uniqueName('dia'),
  dan: uniqueName('dan'),
}
type Person = { context: BrowserContext; page: Page; cookie: string }
const people = {} as Record<keyof typeof names, Person>
let room: Room

/** The person's session cookie, from their context, for the HTTP API. */
async function cookieOf(context: BrowserContext): Promise<string> {
  return (await context.cookies(server.url)).map((c) => `${c.name}=${c.value}`).join('; ')
}

const call = <T>(who: keyof typeof names, method: string, path: string, body?: unknown) =>
  apiCall<T>(server.url, people[who].cookie, method, path, body)

/** One message row as a person sees it: text, quote, marks and reaction chips. */
interface RowView {
  state: string
  body: string
  quote: string | null
  edited: boolean
  waiting: string | null
  chips: string[]
}

/** The message rows on screen, oldest first (notices and day lines left out). */
function rows(page: Page): Promise<RowView[]> {
  return page.locator('[role=log] li.msg').evaluateAll((items) =>
    items.map((li) => {
      const text = (selector: string) => li.querySelector(selector)?.textContent?.trim() ?? null
      return {
        state: li.getAttribute('data-state') ?? '',
        body: text('.msg__body') ?? '',
        quote: text('.msg__quote'),
        edited: (text('.msg__meta') ?? '').includes('edited'),
        waiting: text('.msg__waiting'),
        chips: [...li.querySelectorAll('.msg__reactions .chip')].map((c) => c.getAttribute('aria-label') ?? ''),
      }
    }),
  )
}

/** Waits until the rows match `expected` (the screen settles as frames arrive), then checks them. */
async function expectRows(page: Page, expected: Array<Partial<RowView>>): Promise<void> {
  const shape = (list: RowView[]) =>
    list.map((row, i) => Object.fromEntries(Object.keys(expected[i] ?? row).map((k) => [k, row[k as keyof RowView]])))
  await expect.poll(async () => shape(await rows(page)), { timeout: LONG }).toEqual(expected)
}

const row = (page: Page, text: string): Locator => page.locator('[role=log] li.msg').filter({ hasText: text })

/** Opens a sent message's action menu with its keyboard-reachable button. */
async function menuOf(page: Page, text: string): Promise<Locator> {
  await row(page, text)
    .getByRole('button', { name: /^Actions for / })
    .click()
  const menu = page.getByRole('menu', { name: 'Message actions' })
  await menu.waitFor({ timeout: LONG })
  return menu
}

/** Records the `receipts` the page's sync engine publishes on the app's tab channel (what a "Seen by" line draws from). */
const RECORD_RECEIPTS = () => {
  const seen: Array<{ roomId: string; readers: Record<string, number> }> = []
  ;(window as unknown as { __receipts: typeof seen }).__receipts = seen
  new BroadcastChannel('ferry').addEventListener('message', (event: MessageEvent) => {
    if (event.data?.type === 'receipts') seen.push(event.data)
  })
}

beforeAll(async () => {
  requireChromium()
  server = await startFerry(await buildClient(), {
    WS_SEND_RATE_PER_SECOND: '1000',
    WS_SEND_BURST: '1000',
    RESUME_MAX_EVENTS: String(RESUME_MAX_EVENTS),
  })
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking'],
  })
  closeBrowser = () => browser.close()
  newPhone = async () => {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true })
    const page = await context.newPage()
    page.on('pageerror', (error) => console.warn('[page error]', error.message))
    return { context, page }
  }
  for (const who of Object.keys(names) as Array<keyof typeof names>) {
    const phone = await newPhone()
    if (who === 'ben') await phone.context.addInitScript(RECORD_RECEIPTS)
    await signUp(phone.page, server.url, names[who])
    people[who] = { ...phone, cookie: await cookieOf(phone.context) }
  }
  room = (await call<{ room: Room }>('ben', 'POST', '/api/rooms', { name: 'Harbour', visibility: 'private' })).room
  for (const who of ['ann', 'cai', 'dia'] as const) {
    await call('ben', 'POST', `/api/rooms/${room.id}/members`, { username: names[who] })
  }
}, 180_000)

afterAll(async () => {
  await closeBrowser?.()
  await cleanUp()
})

/** The state every screen ends with (`chips` as Ben, Cai and Dia hear them: not theirs). */
const FINAL: Array<Partial<RowView>> = [
  { body: 'alpha, edited', edited: true, chips: [] },
  { body: 'Message deleted', edited: false, chips: [] },
  { body: 'charlie', edited: false, chips: ['👍 1'] },
  { body: 'delta', quote: null, chips: [] },
  { body: 'echo', quote: `In reply to ${names.ben}delta`, edited: false, chips: [] },
]

describe('the whole conversation through the room log, offline (issue 9)', () => {
  let before: number

  it('Ann, offline, edits, deletes, reacts, replies and reads: all shown waiting, also after a reload', async () => {
    const { page: ann, context } = people.ann
    const { page: ben } = people.ben
    await openRoom(ann, server.url, room.id)
    await sendMessage(ann, 'alpha')
    await sendMessage(ann, 'bravo')
    await openRoom(ben, server.url, room.id)
    await sendMessage(ben, 'charlie')
    await sendMessage(ben, 'delta')
    // Cai and Dia have seen these four, then are away for all that follows.
    for (const who of ['cai', 'dia'] as const) {
      await openRoom(people[who].page, server.url, room.id)
      await expect.poll(() => row(people[who].page, 'delta').count(), { timeout: LONG }).toBe(1)
      await people[who].page.close()
    }
    await expectRows(ann, [{ body: 'alpha' }, { body: 'bravo' }, { body: 'charlie' }, { body: 'delta' }])
    before = (await call<{ lastSeq: number }>('ben', 'GET', `/api/rooms/${room.id}/events?after=0`)).lastSeq
    // Ann reads the room from the list: Ben's two messages are unread there until she opens it offline.
    await waitForServiceWorker(ann)
    await ann.getByRole('button', { name: 'Back to rooms' }).click()
    await sendMessage(ben, 'foxtrot')
    await expect
      .poll(() => ann.getByRole('link', { name: /^Harbour/ }).textContent(), { timeout: LONG })
      .toContain('foxtrot')

    await context.setOffline(true)
    await waitForStatus(ann, 'Offline')
    await ann.getByRole('link', { name: /^Harbour/ }).click()
    await row(ann, 'foxtrot').waitFor({ timeout: LONG })

    await (await menuOf(ann, 'alpha')).getByRole('menuitem', { name: 'Edit' }).click()
    await ann.getByRole('textbox', { name: 'Edit message' }).fill('alpha, edited')
    await ann.getByRole('button', { name: 'Save' }).click()
    await (await menuOf(ann, 'bravo')).getByRole('menuitem', { name: 'Delete' }).click()
    await (await menuOf(ann, 'charlie')).getByRole('menuitemcheckbox', { name: 'React with 👍' }).click()
    await (await menuOf(ann, 'delta')).getByRole('menuitem', { name: 'Reply' }).click()
    await sendMessage(ann, 'echo')

    const waiting: Array<Partial<RowView>> = [
      { state: 'sent', body: 'alpha, edited', waiting: 'Edit waiting ·' },
      { state: 'sent', body: 'Message deleted', waiting: 'Deletion waiting ·' },
      { state: 'sent', body: 'charlie', waiting: 'Reaction waiting ·', chips: ['👍 1, yours, waiting'] },
      { state: 'sent', body: 'delta', waiting: null },
      { state: 'sent', body: 'foxtrot', waiting: null },
      { state: 'waiting', body: 'echo', quote: `In reply to ${names.ben}delta` },
    ]
    await expectRows(ann, waiting)
    await ann.reload()
    await waitForStatus(ann, /Offline/)
    await expectRows(ann, waiting)
    // Nothing reached the server meanwhile.
    expect((await call<{ lastSeq: number }>('ben', 'GET', `/api/rooms/${room.id}/events?after=0`)).lastSeq).toBe(
      before + 1,
    )
  })

  it('online again: Ben sees exactly those changes once, and the log holds them once each in order', async () => {
    const { page: ann, context } = people.ann
    const { page: ben } = people.ben
    await context.setOffline(false)
    await waitForStatus(ann, /^Up to date$/)
    const final = [...FINAL.slice(0, 4), { body: 'foxtrot' }, FINAL[4]!]
    await expectRows(ben, final)
    await expectRows(ann, [
      ...final.slice(0, 2),
      { ...final[2], chips: ['👍 1, yours'] },
      ...final.slice(3).map((r) => ({ ...r, state: 'sent' })),
    ])
    const { events } = await call<{ events: RoomEvent[] }>(
      'ben',
      'GET',
      `/api/rooms/${room.id}/events?after=${before + 1}`,
    )
    expect(events.map((e) => [e.kind, e.body ?? e.reaction])).toEqual([
      ['message.edited', 'alpha, edited'],
      ['message.deleted', null],
      ['reaction.added', '👍'],
      ['message.created', 'echo'],
    ])
    // The reply names delta; every target is the message Ann acted on.
    const delta = Number(await row(ben, 'delta').first().getAttribute('data-seq'))
    expect(events[3]!.replyTo).toBe(delta)
    expect(events.slice(0, 3).map((e) => e.targetSeq)).toEqual([delta - 3, delta - 2, delta - 1])
    // A second look after everything settled: still once each.
    await waitForStatus(ben, /^Up to date$/)
    expect((await rows(ben)).filter((r) => r.body === 'echo')).toHaveLength(1)
  })

  it('Ann’s offline reading reaches Ben’s device as a read receipt', async () => {
    const ben = people.ben.page
    const foxtrot = Number(await row(ben, 'foxtrot').getAttribute('data-seq'))
    const annId = (
      await call<{ members: Array<{ userId: string; username: string }> }>(
        'ben',
        'GET',
        `/api/rooms/${room.id}/members`,
      )
    ).members.find((m) => m.username === names.ann)!.userId
    // What Ben's engine heard (the "Seen by" line's data). Ann's newest read message is her own reply,
    // so the line names her under the message before it instead; the line itself is checked at the end.
    await expect
      .poll(
        () =>
          ben.evaluate(
            ({ roomId, annId }) =>
              Math.max(
                0,
                ...(
                  window as unknown as { __receipts: Array<{ roomId: string; readers: Record<string, number> }> }
                ).__receipts
                  .filter((r) => r.roomId === roomId)
                  .map((r) => r.readers[annId] ?? 0),
              ),
            { roomId: room.id, annId },
          ),
        { timeout: LONG },
      )
      .toBeGreaterThanOrEqual(foxtrot)
  })

  it('Cai, offline for all of it, catches up by the replay and sees the same', async () => {
    const page = await people.cai.context.newPage()
    people.cai.page = page
    await openRoom(page, server.url, room.id)
    await waitForStatus(page, /^Up to date$/)
    await expectRows(page, [...FINAL.slice(0, 4), { body: 'foxtrot' }, FINAL[4]!])
  })

  it('Dia, away past the reset bound, catches up by a reset and the pages’ folded state and sees the same', async () => {
    for (let i = 1; i <= RESUME_MAX_EVENTS; i += 1) {
      await call('ben', 'POST', `/api/rooms/${room.id}/messages`, { clientId: crypto.randomUUID(), body: `later ${i}` })
    }
    const page = await people.dia.context.newPage()
    people.dia.page = page
    await openRoom(page, server.url, room.id)
    await waitForStatus(page, /^Up to date$/)
    await row(page, `later ${RESUME_MAX_EVENTS}`).waitFor({ timeout: LONG })
    // Alpha to delta were on Dia's device from before: their current state came with the history page.
    const shown = await rows(page)
    const from = shown.findIndex((r) => r.body.startsWith('alpha'))
    expect(from).toBeGreaterThanOrEqual(0)
    const pick = (list: RowView[]) =>
      list.map((r, i) => Object.fromEntries(Object.keys(FINAL[i] ?? {}).map((k) => [k, r[k as keyof RowView]])))
    const six = shown.slice(from, from + 6)
    expect(pick([...six.slice(0, 4), six[5]!])).toEqual(FINAL)
  })

  it('a removed member’s private room disappears and their queued message for it fails: not_member', async () => {
    const { page: dan, context } = people.dan
    const back = (await call<{ room: Room }>('ben', 'POST', '/api/rooms', { name: 'Backroom', visibility: 'private' }))
      .room
    await call('ben', 'POST', `/api/rooms/${back.id}/members`, { username: names.dan })
    await openRoom(dan, server.url, back.id)
    await waitForStatus(dan, /^Up to date$/)
    await context.setOffline(true)
    await waitForStatus(dan, 'Offline')
    await sendMessage(dan, 'for the backroom')
    const danId = (
      await call<{ members: Array<{ userId: string; username: string }> }>(
        'ben',
        'GET',
        `/api/rooms/${back.id}/members`,
      )
    ).members.find((m) => m.username === names.dan)!.userId
    await call('ben', 'DELETE', `/api/rooms/${back.id}/members/${danId}`, {})
    await context.setOffline(false)
    const outboxItem = () =>
      dan.evaluate(
        () =>
          new Promise<{ state: string; code: string | null } | null>((resolve, reject) => {
            const open = indexedDB.open('ferry')
            open.onerror = () => reject(open.error)
            open.onsuccess = () => {
              const read = open.result.transaction('outbox').objectStore('outbox').getAll()
              read.onsuccess = () => {
                const item = (
                  read.result as Array<{ body: string; state: string; error: { code: string } | null }>
                ).find((i) => i.body === 'for the backroom')
                open.result.close()
                resolve(item ? { state: item.state, code: item.error?.code ?? null } : null)
              }
            }
          }),
      )
    await expect.poll(outboxItem, { timeout: LONG }).toEqual({ state: 'failed', code: 'not_member' })
    await dan.goto(server.url)
    await dan.getByRole('heading', { name: 'Rooms' }).waitFor({ timeout: LONG })
    await waitUntil(async () => (await dan.getByRole('link', { name: /^Backroom/ }).count()) === 0, 'Backroom to go')
    // Its room has no screen left: the room list keeps the text, with the reason, to copy or discard.
    const notSent = dan.getByRole('region', { name: 'Not sent' })
    await notSent.getByText('for the backroom').waitFor({ timeout: LONG })
    expect(await notSent.textContent()).toMatch(/member/i)
  })

  it('Ben’s screen says “Seen by” Ann under his newest message once she has read it', async () => {
    const ben = people.ben.page
    await sendMessage(ben, 'golf')
    // Ann still has the room open at its newest message: she reads it as it arrives.
    await expect
      .poll(async () => (await row(ben, 'golf').locator('.msg__seen').allTextContents()).join(' '), { timeout: LONG })
      .toContain(names.ann)
    expect(await ben.locator('[role=log] .msg__seen').filter({ hasText: names.ann }).count()).toBe(1)
  })
})
