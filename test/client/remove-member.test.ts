/** The owner removes a member: a JSON DELETE the CSRF guard accepts, its 204 checked; refusals come back as text. */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { api } from '../../client/api/http.ts'
import { BOB, ROOM_A } from './support.ts'

afterEach(() => vi.unstubAllGlobals())

describe('DELETE /api/rooms/:roomId/members/:userId', () => {
  it('goes out as a JSON write and resolves on 204', async () => {
    const calls: Array<{ url: string; init: RequestInit }> = []
    vi.stubGlobal('fetch', async (url: string, init: RequestInit) => {
      calls.push({ url, init })
      return new Response(null, { status: 204 })
    })
    await expect(api('DELETE', `/api/rooms/${ROOM_A}/members/${BOB}`, {})).resolves.toBeUndefined()
    expect(calls[0]!.init.method).toBe('DELETE')
    expect(calls[0]!.init.headers).toEqual({ 'content-type': 'application/json' })
    expect(calls[0]!.init.body).toBe('{}')
  })

  it('a refusal is a typed error with the server’s code', async () => {
    vi.stubGlobal(
      'fetch',
      async () =>
        new Response(JSON.stringify({ error: { code: 'forbidden', message: 'Only the owner removes members' } }), {
          status: 403,
        }),
    )
    await expect(api('DELETE', `/api/rooms/${ROOM_A}/members/${BOB}`, {})).rejects.toMatchObject({
      status: 403,
      code: 'forbidden',
    })
  })
})
