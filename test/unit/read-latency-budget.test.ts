import { describe, expect, it } from 'vitest'
import { LIMITS } from '../../shared/limits.ts'

/**
 * Issue 9: "a person's own devices agree on unread counts within a second of
 * reading on one of them". A read waits at most `readReceiptIntervalMs` on the
 * reading device (client/sync/reads.ts) and at most `readMarkerFlushMs` on the
 * server (server/rooms/read-markers.ts) before its `read_marker` goes to the
 * person's other sockets: the two together must fit in that second.
 */
describe('the read-marker latency budget', () => {
  it("keeps a device's send interval plus the server's flush interval within one second", () => {
    expect(LIMITS.readReceiptIntervalMs + LIMITS.readMarkerFlushMs).toBeLessThanOrEqual(1_000)
  })
})
