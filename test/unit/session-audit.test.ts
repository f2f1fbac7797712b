import { describe, expect, it } from 'vitest'
import { SESSION_AUDIT_MS, SessionAudit } from '../../server/realtime/cluster/session-audit.ts'
import { FakeClock } from '../support/fake-clock.ts'

describe('session audit (a lost session-ended message)', () => {
  function audit(open: string[], stored: Set<string> | (() => Promise<Set<string>>)) {
    const clock = new FakeClock()
    const ended: string[] = []
    const logged: string[] = []
    const queried: string[][] = []
    const subject = new SessionAudit({
      sessions: () => open,
      existing: async (ids) => {
        queried.push([...ids])
        return typeof stored === 'function' ? stored() : new Set(ids.filter((id) => stored.has(id)))
      },
      end: (id) => ended.push(id),
      log: {
        warn: (_fields: unknown, message: string) => logged.push(message),
        error: (_fields: unknown, message: string) => logged.push(message),
      } as never,
      clock,
    })
    subject.start()
    return { clock, ended, logged, queried, subject }
  }

  it('each minute, closes the sockets of sessions no longer stored, and nothing before the minute', async () => {
    const { clock, ended, queried, subject } = audit(['s1', 's2', 's1', 's3'], new Set(['s1', 's3']))
    clock.advance(SESSION_AUDIT_MS - 1)
    await subject.idle()
    expect(ended).toEqual([])
    clock.advance(1)
    await subject.idle()
    expect(queried).toEqual([['s1', 's2', 's3']]) // once per session, however many sockets
    expect(ended).toEqual(['s2'])
    clock.advance(SESSION_AUDIT_MS)
    await subject.idle()
    expect(queried).toHaveLength(2)
    subject.stop()
  })

  it('a failed lookup closes nothing, is logged, and is tried again next minute', async () => {
    let fail = true
    const { clock, ended, logged, subject } = audit(['s1'], async () => {
      if (fail) throw new Error('database away')
      return new Set()
    })
    clock.advance(SESSION_AUDIT_MS)
    await subject.idle()
    expect(ended).toEqual([])
    expect(logged).toEqual(['session audit failed'])
    fail = false
    clock.advance(SESSION_AUDIT_MS)
    await subject.idle()
    expect(ended).toEqual(['s1'])
    subject.stop()
  })

  it('looks sessions up 1,000 at a time', async () => {
    const open = Array.from({ length: 2_500 }, (_, i) => `s${i}`)
    const { clock, queried, subject } = audit(open, new Set(open))
    clock.advance(SESSION_AUDIT_MS)
    await subject.idle()
    expect(queried.map((batch) => batch.length)).toEqual([1_000, 1_000, 500])
    subject.stop()
  })
})
