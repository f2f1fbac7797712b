/**
 * A link that dies silently (issue 7 item 10), in real Chromium. Alice's
 * browser reaches the server only through a TCP relay on 127.0.0.1 that can
 * black-hole every byte in both directions without closing anything, as a
 * dropped Wi-Fi or a NAT that forgot the mapping does. Her status must leave
 * "Up to date" on its own, and once the relay heals, a message Bob sent
 * meanwhile must arrive without her doing anything.
 */
import { connect, createServer, type Server, type Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRoom, joinRoom, LONG, sendMessage, sentTexts, signUp, uniqueName, waitForStatus } from './support/app.ts'
import { type Browser, buildClient, cleanUp, type FerryServer, launchBrowser, startFerry } from './support/ferry.ts'

/** Designed detection is ≤ 22 s (15 s silence, then 7 s for the pong); reconnecting after healing ≤ ~40 s. */
const DETECT_WAIT_MS = 75_000
const RECOVER_WAIT_MS = 120_000

interface Relay {
  url: string
  /** Where to forward to (set once the server's port is known). */
  target(port: number): void
  /** Drop every byte both ways; connections stay open, a close from either side is held back. */
  blackHole(): void
  /** Forward again; ends that closed while black-holed are closed now. */
  heal(): void
  close(): Promise<void>
}

async function startRelay(): Promise<Relay> {
  let targetPort = 0
  let dropping = false
  const pairs = new Set<{ client: Socket; upstream: Socket; closedWhileDropping: boolean }>()
  const server: Server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1')
    const pair = { client, upstream, closedWhileDropping: false }
    pairs.add(pair)
    const forward = (from: Socket, to: Socket) => {
      from.on('data', (chunk) => {
        if (!dropping && !to.destroyed) to.write(chunk)
      })
      from.on('close', () => {
        if (dropping) pair.closedWhileDropping = true
        else to.destroy()
      })
      from.on('error', () => undefined)
    }
    forward(client, upstream)
    forward(upstream, client)
    client.on('close', () => upstream.destroyed && pairs.delete(pair))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (typeof address !== 'object' || address === null) throw new Error('the relay has no port')
  return {
    url: `http://127.0.0.1:${address.port}`,
    target: (port) => {
      targetPort = port
    },
    blackHole: () => {
      dropping = true
    },
    heal: () => {
      dropping = false
      for (const pair of pairs) {
        if (pair.closedWhileDropping) {
          pair.client.destroy()
          pair.upstream.destroy()
        }
      }
    },
    close: async () => {
      for (const pair of pairs) {
        pair.client.destroy()
        pair.upstream.destroy()
      }
      await new Promise((resolve) => server.close(resolve))
    },
  }
}

let relay: Relay
let server: FerryServer
let alice: Browser
let bob: Browser

beforeAll(async () => {
  relay = await startRelay()
  // Alice's pages come from the relay's origin; the server must accept her socket's Origin.
  server = await startFerry(await buildClient(), { ALLOWED_ORIGINS: relay.url })
  relay.target(Number(new URL(server.url).port))
  ;[alice, bob] = await Promise.all([launchBrowser(), launchBrowser()])
}, 180_000)

afterAll(async () => {
  await relay?.close()
  await cleanUp()
})

describe('a socket that silently passes no data', () => {
  it('is noticed, and after the link heals the missed message arrives by itself', async () => {
    await signUp(alice.page, relay.url, uniqueName('alice'))
    await signUp(bob.page, server.url, uniqueName('bob'))
    const roomId = await createRoom(alice.page, 'Lighthouse')
    await joinRoom(bob.page, server.url, roomId)
    await Promise.all([waitForStatus(alice.page, /^Up to date$/), waitForStatus(bob.page, /^Up to date$/)])
    await sendMessage(bob.page, 'before the fog')
    await expect.poll(() => sentTexts(alice.page), { timeout: LONG }).toContain('before the fog')

    relay.blackHole()
    await alice.page.getByTestId('status').filter({ hasNotText: 'Up to date' }).waitFor({ timeout: DETECT_WAIT_MS })

    await sendMessage(bob.page, 'sent in the fog')
    await expect.poll(() => sentTexts(bob.page), { timeout: LONG }).toContain('sent in the fog')
    relay.heal()

    await expect
      .poll(() => sentTexts(alice.page), { timeout: RECOVER_WAIT_MS })
      .toEqual(['before the fog', 'sent in the fog'])
    await waitForStatus(alice.page, /^Up to date$/)
  }, 420_000)
})
