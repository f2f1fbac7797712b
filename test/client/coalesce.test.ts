import { describe, expect, it } from 'vitest'
import { coalesced } from '../../client/state/coalesce.ts'

describe('coalesced', () => {
  it('runs a burst of calls as the current run plus one more, with the latest arguments', async () => {
    const seen: number[] = []
    let release!: () => void
    const reload = coalesced(async (n: number) => {
      seen.push(n)
      if (seen.length === 1) await new Promise<void>((r) => (release = r))
    })
    const first = reload(1)
    const rest = [reload(2), reload(3), reload(4)]
    release()
    await Promise.all([first, ...rest])
    expect(seen).toEqual([1, 4])
  })

  it('settles every caller only after a run that began after its call', async () => {
    let value = 0
    let shown = -1
    let release!: () => void
    const reload = coalesced(async () => {
      const read = value
      if (shown === -1) await new Promise<void>((r) => (release = r))
      shown = read
    })
    const first = reload()
    value = 1
    const second = reload()
    release()
    await second
    expect(shown).toBe(1)
    await first
  })

  it('keeps going after a failed run', async () => {
    let calls = 0
    const reload = coalesced(async () => {
      calls++
      if (calls === 1) throw new Error('boom')
    })
    await expect(reload()).rejects.toThrow('boom')
    await reload()
    expect(calls).toBe(2)
  })
})
